"""Whether a family's dataset holds a completed dlt load decides if its load carries the whole history."""

import duckdb

from dagster_project.lib.ingest_assets import has_completed_load


def test_only_a_load_dlt_recorded_as_complete_counts(tmp_path):
    with duckdb.connect(str(tmp_path / "voc.duckdb")) as connection:
        assert not has_completed_load(connection, "raw_ops")  # no dataset yet
        connection.execute("create schema raw_ops")
        assert not has_completed_load(connection, "raw_ops")  # no _dlt_loads table yet
        connection.execute("create table raw_ops._dlt_loads (load_id varchar, status bigint)")
        connection.execute("insert into raw_ops._dlt_loads values ('1', 1)")  # a load dlt did not complete
        assert not has_completed_load(connection, "raw_ops")
        connection.execute("insert into raw_ops._dlt_loads values ('2', 0)")
        assert has_completed_load(connection, "raw_ops")
        assert not has_completed_load(connection, "raw_crm")
