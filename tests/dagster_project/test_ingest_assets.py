"""Whether a family's dataset holds a completed dlt load that saw records decides if its load carries the whole history."""

import duckdb

from dagster_project.lib.ingest_assets import has_loaded_records


def test_only_a_complete_load_that_saw_records_counts(tmp_path):
    with duckdb.connect(str(tmp_path / "voc.duckdb")) as connection:
        assert not has_loaded_records(connection, "raw_ops")  # no dataset yet
        connection.execute("create schema raw_ops")
        assert not has_loaded_records(connection, "raw_ops")  # no _dlt_loads table yet
        connection.execute("create table raw_ops._dlt_loads (load_id varchar, status bigint)")
        connection.execute("insert into raw_ops._dlt_loads values ('1', 1)")  # a load dlt did not complete
        connection.execute("create table raw_ops.load_stats (_dlt_load_id varchar, records_seen bigint)")
        connection.execute("insert into raw_ops.load_stats values ('1', 3)")
        assert not has_loaded_records(connection, "raw_ops")
        connection.execute("insert into raw_ops._dlt_loads values ('2', 0)")  # complete, but it only declared tables
        assert not has_loaded_records(connection, "raw_ops")
        connection.execute("insert into raw_ops._dlt_loads values ('3', 0)")
        connection.execute("insert into raw_ops.load_stats values ('3', 5)")
        assert has_loaded_records(connection, "raw_ops")
        assert not has_loaded_records(connection, "raw_crm")
