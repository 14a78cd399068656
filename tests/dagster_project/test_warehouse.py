"""The run's held warehouse connection: one open database for in-process writers, released on demand."""

from __future__ import annotations

import subprocess
import sys

from dagster_project.lib.warehouse import hold_warehouse, is_held, release_warehouse, warehouse_connection


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
