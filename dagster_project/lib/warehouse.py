"""DuckDB allows one writer process: every asset that writes the warehouse joins this pool."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import duckdb

from dagster_project.settings import load_settings

WAREHOUSE_WRITER_POOL = "duckdb_writer"


@contextmanager
def warehouse_connection(path: Path, read_only: bool = False):
    """A short-lived connection that is always closed, so the file lock is released."""
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = duckdb.connect(str(path), read_only=read_only, config={"memory_limit": load_settings().duckdb_memory_limit})
    try:
        yield connection
    finally:
        connection.close()
