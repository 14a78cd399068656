"""Cursor-based sources: SQL tables (store, crm, ops) and the survey API."""

from __future__ import annotations

import sqlite3

import pytest
import sqlalchemy as sa
from conftest import SALT, day
from dlt.pipeline.exceptions import PipelineStepFailed
from landing_fixture import ID_CARD, PHONE
from sqlite_plans import query_plan

from ingestion.common import hash_pii
from ingestion.sql import HISTORY_START_SQLITE, scan_whole_history


def test_history_window_loads_old_rows_then_windows_move_the_cursor(ingest):
    counts = ingest.run("store", day(10), day(11), history=True)
    assert counts["dealers"] == 2  # opened years before the first partition
    assert counts["store_visits"] == 1 and counts["quarantine"] == 2
    assert ingest.run("store", day(10), day(11), history=True) == {}
    assert ingest.run("store", day(11), day(12))["store_visits"] == 1
    assert ingest.run("store", day(11), day(12)) == {}


def test_a_run_after_days_without_one_reads_the_rows_changed_in_between(ingest):
    """The cursor, not the window's start, is where a forward run reads from: a refresh of day 12 after one of
    day 10 still loads the visit of day 11, which no later run would read again."""
    assert ingest.run("store", day(10), day(11), history=True)["store_visits"] == 1
    assert ingest.run("store", day(12), day(13))["store_visits"] == 1
    assert ingest.query("select visit_id from raw_store.store_visits order by 1") == [("V1",), ("V4",)]
    assert ingest.run("store", day(12), day(13)) == {}


def test_a_table_that_had_no_row_yet_reads_on_from_where_its_first_load_started(ingest):
    """A first load with no row of a table leaves its cursor where that load read from: the visits of days 10
    and 11, after the first load's window (before day 10) and before the next run's (day 12), are loaded."""
    assert ingest.run("store", day(9), day(10), history=True)["store_visits"] == 0  # declared, empty
    assert ingest.run("store", day(12), day(13))["store_visits"] == 2


def test_sqlite_scans_for_the_history_and_uses_the_updated_at_index_for_a_day(ingest, landing):
    """The first load reads every row in file order; a day's changes go through the index."""
    database = landing[0] / "store" / "dms.sqlite"  # with the demo sources' updated_at indexes
    statements: list[tuple[str, tuple]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if "FROM" in statement and "updated_at" in statement:
            statements.append((statement, tuple(parameters or ())))

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", capture)
    try:
        ingest.run("store", day(10), day(11), history=True)
        history, statements[:] = list(statements), []
        ingest.run("store", day(11), day(12))
        daily = list(statements)
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", capture)

    def plans(captured):
        with sqlite3.connect(database) as con:
            return [query_plan(con, sql, params) for sql, params in captured]

    assert len(history) == 2 and all("INDEX" not in plan for plan in plans(history)), plans(history)
    assert len(daily) == 2 and all("USING INDEX" in plan and "_updated_at" in plan for plan in plans(daily)), plans(daily)


def test_a_window_before_the_cursor_is_a_backfill_that_keeps_the_cursor(ingest):
    assert ingest.run("store", day(11), day(12))["store_visits"] == 1
    backfill = ingest.run("store", day(10), day(11))
    assert backfill["store_visits"] == 1
    assert ingest.run("store", day(11), day(12)) == {}
    assert ingest.query("select visit_id from raw_store.store_visits order by 1") == [("V1",), ("V4",)]


def test_crm_hashes_pii_and_keeps_composite_keys(ingest):
    counts = ingest.run("crm", None, day(12))
    assert counts == {"customers": 2, "vehicles": 1, "service_tickets": 1, "orders": 1, "products": 1, "load_stats": 5}
    customers = ingest.query("select customer_id, phone_hash, id_card_hash from raw_crm.customers order by 1")
    assert customers[0] == ("CU1", hash_pii(PHONE, SALT), hash_pii(ID_CARD, SALT))
    assert customers[1][1] == hash_pii("13900001111", SALT)  # +86 and spaces normalized away
    columns = {row[0] for row in ingest.query("select column_name from information_schema.columns where table_schema = 'raw_crm'")}
    assert {"phone", "id_card"}.isdisjoint(columns)
    assert {"_voc_run_id", "_voc_source_file", "_voc_line"} <= columns
    assert ingest.query("select model, trim, msrp from raw_crm.products") == [("星途X", "旗舰版", 24.99)]


def test_ops_loads_carriers_and_shipments(ingest):
    assert ingest.run("ops", None, day(12)) == {"carriers": 1, "shipments": 1, "load_stats": 2}
    assert ingest.query("select damaged, _voc_source_file from raw_ops.shipments") == [(1, "shipments")]


def test_a_table_without_rows_in_the_first_load_exists_for_staging(ingest, landing):
    """dbt's staging view over raw_ops.shipments needs the table from the first refresh on, rows or not."""
    with sqlite3.connect(landing[0] / "ops" / "ops.sqlite") as con:
        con.execute("DELETE FROM shipments")
    assert ingest.run("ops", day(10), day(11), history=True)["carriers"] == 1
    columns = [row[0] for row in ingest.query(
        "select column_name from information_schema.columns where table_schema = 'raw_ops' and table_name = 'shipments' "
        "order by ordinal_position"
    )]
    assert columns[:3] == ["shipment_id", "dealer_code", "region"] and "_voc_source_file" in columns
    assert ingest.query("select count(*) from raw_ops.shipments") == [(0,)]
    assert ingest.run("ops", day(10), day(11), history=True) == {}  # declared once: a re-run loads nothing


def test_survey_pages_windows_and_quarantine(ingest, survey_api):
    counts = ingest.run("survey", day(10), day(11))
    assert counts["responses"] == 5 and counts["quarantine"] == 3
    found = set(ingest.query("select source, file, line, reason from raw_survey.quarantine"))
    assert found == survey_api.expected
    assert ingest.query("select records_seen, records_quarantined, records_loaded from raw_survey.load_stats") == [(8, 3, 5)]
    assert ingest.run("survey", day(10), day(11)) == {}
    assert ingest.run("survey", day(11), day(12))["responses"] == 1
    requests = survey_api.requests
    assert requests[0]["since"] == "2026-03-10T00:00:00+08:00" and requests[0]["until"] == "2026-03-11T00:00:00+08:00"
    assert any(r["since"] == "2026-03-10T17:00:00+08:00" for r in requests)  # second run starts at the cursor


def test_survey_merge_replaces_an_updated_response(ingest, survey_api):
    ingest.run("survey", day(10), day(11))
    survey_api.records.append({**survey_api.records[0], "nps": 3, "updated_at": "2026-03-11T12:00:00+08:00"})
    ingest.run("survey", day(11), day(12))
    assert ingest.query("select count(*), max(nps) from raw_survey.responses where response_id = 'R1'") == [(1, 3)]


def test_survey_rejects_a_wrong_api_key(ingest):
    ingest.survey_api_key = "wrong"
    with pytest.raises(PipelineStepFailed, match="401"):
        ingest.run("survey", day(10), day(11))


def test_a_missing_sqlite_file_is_named_with_what_to_do(ingest, tmp_path):
    """SQLite creates no file read-only and says only "unable to open database file", naming none."""
    ingest.landing = tmp_path / "no-landing"
    with pytest.raises(PipelineStepFailed, match=r"the crm database .*no-landing/crm/crm.sqlite does not exist.*voc generate.*SOURCES__CRM__CREDENTIALS"):
        ingest.run("crm", day(10), day(11))
    assert not (tmp_path / "no-landing").exists()


def test_the_history_read_changes_only_the_cursor_comparisons_of_dlts_query():
    """Columns, order and limit of the query dlt built stay; only its `updated_at` comparisons lose the index."""
    table = sa.Table("visits", sa.MetaData(), sa.Column("visit_id", sa.String), sa.Column("updated_at", sa.String))
    query = (
        table.select()
        .where(table.c.updated_at >= HISTORY_START_SQLITE, table.c.updated_at < "2026-03-31T00:00:00+08:00")
        .order_by(table.c.updated_at)
        .limit(5)
    )

    class History:
        @staticmethod
        def get_current_range():
            return HISTORY_START_SQLITE, "2026-03-31T00:00:00+08:00"

    sql = str(scan_whole_history(query, table, History()).compile(compile_kwargs={"literal_binds": True}))
    assert sql.startswith("SELECT visits.visit_id, visits.updated_at \nFROM visits")
    assert '+"visits"."updated_at" >= ' in sql and '+"visits"."updated_at" < ' in sql
    assert "ORDER BY visits.updated_at" in sql and "LIMIT 5" in sql
    assert str(scan_whole_history(query, table, None)) == str(query)  # a day's read keeps the index


def test_a_sql_family_reads_the_database_dlt_config_names(ingest, landing, tmp_path, monkeypatch):
    """In production only dlt's config changes: SOURCES__OPS__CREDENTIALS points ops at another database."""
    import shutil

    elsewhere = tmp_path / "production" / "ops.sqlite"
    elsewhere.parent.mkdir()
    shutil.copy(landing[0] / "ops" / "ops.sqlite", elsewhere)
    with sqlite3.connect(elsewhere) as con:
        con.execute("update carriers set name = 'configured database' ")
    (landing[0] / "ops" / "ops.sqlite").unlink()  # nothing left to read where the demo looks
    monkeypatch.setenv("SOURCES__OPS__CREDENTIALS", f"sqlite:///{elsewhere}")
    counts = ingest.run("ops", day(10), day(11), history=True)
    assert counts["carriers"] >= 1
    assert {name for (name,) in ingest.query("select name from raw_ops.carriers")} == {"configured database"}


def test_sql_credentials_accept_a_url_a_table_of_fields_or_nothing(monkeypatch, tmp_path):
    import dlt

    from ingestion.pipeline import sql_credentials

    configured = {}
    monkeypatch.setattr(dlt.secrets, "get", lambda key: configured.get(key))
    assert sql_credentials("crm", tmp_path) == str(tmp_path / "crm" / "crm.sqlite")
    configured["sources.crm.credentials"] = "postgresql://u:p@db.internal:5432/crm"
    assert sql_credentials("crm", tmp_path) == "postgresql://u:p@db.internal:5432/crm"
    configured["sources.crm.credentials"] = {"drivername": "mysql+pymysql", "username": "u", "password": "p",
                                             "host": "dms.internal", "port": 3306, "database": "dms"}
    assert sql_credentials("crm", tmp_path) == "mysql+pymysql://u:p@dms.internal:3306/dms"


def test_the_survey_api_and_its_key_can_come_from_dlt_config_alone(ingest, survey_api, monkeypatch):
    """Production sets dlt's sources.survey.base_url / api_key; the demo key is never sent instead."""
    from survey_stub import API_KEY

    from dagster_project.lib.survey_endpoint import SurveyEndpoint

    monkeypatch.delenv("VOC_SURVEY_API_URL", raising=False)
    monkeypatch.delenv("VOC_SURVEY_API_KEY", raising=False)
    monkeypatch.setenv("SOURCES__SURVEY__BASE_URL", survey_api.url)
    monkeypatch.setenv("SOURCES__SURVEY__API_KEY", API_KEY)
    with SurveyEndpoint().open() as (base_url, api_key):
        assert (base_url, api_key) == (survey_api.url, API_KEY)
        ingest.survey_url, ingest.survey_api_key = base_url, api_key
        assert ingest.run("survey", day(10), day(11), history=True)["responses"] >= 1


def test_a_survey_api_configured_without_a_key_fails_saying_where_to_set_it(monkeypatch):
    """Not dlt's list of every config key it tried: which setting is missing and where it goes."""
    import dagster as dg

    from dagster_project.lib.survey_endpoint import SurveyEndpoint

    for name in ("VOC_SURVEY_API_KEY", "SOURCES__SURVEY__API_KEY", "VOC_SURVEY_API_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SOURCES__SURVEY__BASE_URL", "https://survey.example.com/api")
    with pytest.raises(dg.Failure, match=r"survey.example.com/api is configured without a key: set VOC_SURVEY_API_KEY"):
        with SurveyEndpoint().open():
            pass
