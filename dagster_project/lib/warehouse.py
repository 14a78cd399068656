"""DuckDB allows one writer process: every asset that writes the warehouse joins this pool.

Opening the warehouse reads its catalog, and closing it checkpoints the write-ahead log; a dlt
load opens and closes it four or five times. Within one run, the in-process writers (the dlt
loads) therefore share one open database, held by the `warehouse` resource: `hold_warehouse`
opens it once, `warehouse_connection` hands out cursors of it while it is held, and
`release_warehouse` closes it before another process needs the file (the dbt subprocess) and
when the run ends. The checks at the end of a run hold a read-only connection the same way; a
writer that comes after them in the process takes the file over.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb

from dagster_project.settings import load_settings

WAREHOUSE_WRITER_POOL = "duckdb_writer"

_held: dict[Path, tuple[duckdb.DuckDBPyConnection, bool]] = {}  # path -> (connection, read_only)


def _connect(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A reader opens the file; a writer attaches it under its usual catalog name (the file's stem) with
    the project's row-group size (settings.duckdb_row_group_size), an attach option the file does not keep."""
    path.parent.mkdir(parents=True, exist_ok=True)
    settings = load_settings()
    config = {"memory_limit": settings.duckdb_memory_limit}
    if read_only:
        return duckdb.connect(str(path), read_only=True, config=config)
    connection = duckdb.connect(config=config)
    quoted_path = str(path).replace("'", "''")
    connection.execute(
        f"ATTACH '{quoted_path}' AS {_catalog(path)} (ROW_GROUP_SIZE {settings.duckdb_row_group_size})"
    )
    connection.execute(f"USE {_catalog(path)}")
    return connection


def quoted_identifier(name: str) -> str:
    """A DuckDB identifier (catalog, schema, table) in double quotes, its own quotes doubled."""
    return '"' + name.replace('"', '""') + '"'


def _catalog(path: Path) -> str:
    return quoted_identifier(path.stem)


def _cursor(connection: duckdb.DuckDBPyConnection, path: Path) -> duckdb.DuckDBPyConnection:
    """A cursor starts in the primary catalog: point it at the warehouse (a no-op for a plain open)."""
    cursor = connection.cursor()
    cursor.execute(f"USE {_catalog(path)}")
    return cursor


def hold_warehouse(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """The process's open connection to `path`, opened on first use; a read-write hold replaces a read-only one."""
    path = path.resolve()
    held = _held.get(path)
    if held is not None and held[1] and not read_only:
        release_warehouse(path)
        held = None
    if held is None:
        _held[path] = (_connect(path, read_only), read_only)
    return _held[path][0]


def release_warehouse(path: Path | None = None) -> None:
    """Close the held connection (of `path`, or all): the checkpoint happens here and the file lock is freed."""
    for held_path in [path.resolve()] if path else list(_held):
        held = _held.pop(held_path, None)
        if held is not None:
            held[0].close()


def lock_conflict(path: Path) -> str | None:
    """DuckDB's message when another process holds `path` (a writer, or readers a writer must wait for), else None.

    A refresh asks before it starts: otherwise every step that writes fails on the lock with its own trace."""
    if not path.exists():
        return None
    try:
        with warehouse_connection(path):  # opened as every writer opens it (the row-group size of a WAL replay)
            pass
    except duckdb.IOException as error:
        if "lock" not in str(error).lower():
            raise
        return str(error)
    return None


def is_held(path: Path) -> bool:
    return path.resolve() in _held


@contextmanager
def warehouse_connection(path: Path, read_only: bool = False):
    """A short-lived connection that is always closed: a cursor of the held connection while one is held
    that allows it (a second connection with other settings would be refused in this process), else its
    own, so the file lock is released. Writing while only a read-only connection is held releases that."""
    held = _held.get(path.resolve())
    if held is not None and held[1] and not read_only:
        release_warehouse(path)
        held = None
    connection = _cursor(held[0], path.resolve()) if held is not None else _connect(path, read_only)
    try:
        yield connection
    finally:
        connection.close()


class WarehouseResource(dg.ConfigurableResource):
    """The run's hold on the warehouse: whatever a step held is released when the run ends."""

    def hold(self) -> duckdb.DuckDBPyConnection:
        return hold_warehouse(load_settings().warehouse)

    def cursor(self):
        """A cursor of the held connection, pointed at the warehouse and closed after the block."""
        return warehouse_connection(load_settings().warehouse)

    def release(self) -> None:
        release_warehouse()

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self.release()
