"""Give freed memory back to the OS between steps of the one in-process refresh.

Ingestion and coding allocate and free hundreds of MB (Arrow buffers, DataFrames); without this
the next step starts from the previous step's high-water mark, and the steps' peaks add up.
"""

import ctypes
import ctypes.util
import gc

import pyarrow as pa

_LIBC_NAME = ctypes.util.find_library("c")
_LIBC = ctypes.CDLL(_LIBC_NAME) if _LIBC_NAME else None

# A step that handled fewer rows freed too little to matter, and a full collection walks the whole
# long-lived heap (Dagster, dlt, the classifier: ~0.25 s each time), which an extra day would pay per step.
LARGE_STEP_ROWS = 100_000


def release_memory_after(rows: int) -> None:
    """Release memory after a step that handled `rows` rows, when that was enough to be worth it."""
    if rows < LARGE_STEP_ROWS:
        return
    gc.collect()
    pa.default_memory_pool().release_unused()
    if _LIBC is not None and hasattr(_LIBC, "malloc_trim"):
        _LIBC.malloc_trim(0)
