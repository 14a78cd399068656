"""The run's held warehouse connection: one open database for in-process writers, released on demand."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from dagster_project.lib.warehouse import hold_warehouse, is_held, release_warehouse, warehouse_connection
from dagster_project.settings import DBT_PROJECT_DIR, load_settings


def _other_process_can_write(path) -> bool:
    code = f"import duckdb; duckdb.connect({str(path)!r}).execute('create table if not exists probe (x int)').close()"
    return subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0


def test_connections_are_cursors_of_the_held_database_until_it_is_released(tmp_path):
    path = tmp_path / "voc.duckdb"
    held = hold_warehouse(path)
    try:
        held.execute("create table t as select 1 as x")
        # a read-only connection of its own would be refused beside the held read-write one
        with warehouse_connection(path, read_only=True) as connection:
            assert connection.execute("select x from t").fetchall() == [(1,)]
        assert hold_warehouse(path) is held
        assert not _other_process_can_write(path)  # the file stays locked while held
    finally:
        release_warehouse(path)
    assert not is_held(path)
    assert _other_process_can_write(path)
    with warehouse_connection(path, read_only=True) as connection:
        assert connection.execute("select count(*) from t").fetchone()[0] == 1


def test_a_read_only_hold_serves_readers_and_gives_way_to_a_writer(tmp_path):
    path = tmp_path / "voc.duckdb"
    with warehouse_connection(path) as connection:
        connection.execute("create table t as select 1 as x")
    reader = hold_warehouse(path, read_only=True)
    try:
        assert hold_warehouse(path, read_only=True) is reader
        with warehouse_connection(path, read_only=True) as connection:
            assert connection.execute("select x from t").fetchall() == [(1,)]
        assert _other_process_can_write(path) is False  # DuckDB: one process holds a file, even read-only
        with warehouse_connection(path) as connection:  # a writer in the process takes the file over
            connection.execute("insert into t values (2)")
        assert not is_held(path)
        reader = hold_warehouse(path, read_only=True)
        writer = hold_warehouse(path)
        assert writer is not reader
        writer.execute("insert into t values (3)")
    finally:
        release_warehouse(path)
    with warehouse_connection(path, read_only=True) as connection:
        assert connection.execute("select count(*) from t").fetchone()[0] == 3


def _largest_row_group(path, table: str) -> int:
    with warehouse_connection(path, read_only=True) as connection:
        return connection.execute(
            "select max(rows) from (select max(start + count) - min(start) as rows "
            f"from pragma_storage_info('{table}') group by row_group_id)"
        ).fetchone()[0]


def test_every_writer_writes_row_groups_of_the_configured_size(tmp_path, monkeypatch):
    """A checkpoint rewrites each row group a load appended to, so the project bounds their size; the size is
    an attach option the file does not keep, so the held connection and dbt's profile both pass it. A dbt
    that opened the file plainly would also merge the small row groups of tables it never wrote."""
    size = load_settings().duckdb_row_group_size
    assert size == 2048  # tests/conftest.py: the smallest DuckDB allows
    path = tmp_path / "voc.duckdb"
    with warehouse_connection(path) as connection:
        connection.execute("create table loaded as select range as i from range(10000)")
    assert _largest_row_group(path, "loaded") == size

    monkeypatch.setenv("VOC_WAREHOUSE", str(path))
    sql = "create table built as select range as i from range(10000)"
    dbt = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "run-operation", "run_query", "--args", json.dumps({"sql": sql})],
        cwd=DBT_PROJECT_DIR, capture_output=True, text=True,
    )
    assert dbt.returncode == 0, dbt.stdout + dbt.stderr
    assert _largest_row_group(path, "built") == size
    assert _largest_row_group(path, "loaded") == size
