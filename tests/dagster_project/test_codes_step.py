"""The codes step on its own warehouse: codes once, never twice, and re-codes on a new codeframe version."""

import re
from datetime import datetime, timezone

import dagster as dg
import duckdb
import pytest

from dagster_project.defs.udfs import codes as codes_step
from dagster_project.settings import load_settings

UTTERANCES = [
    ("call_center:1", "2026-03-01", "刹车失灵了，高速上差点出事"),
    ("survey:2", "2026-03-01", "车机老是卡顿，希望尽快OTA"),
    ("store:3", "2026-03-02", ""),
    ("public_opinion:4", "2026-03-02", "😀😀😀"),
]


@pytest.fixture
def warehouse(tmp_path):
    path = tmp_path / "codes.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.execute("create schema intermediate")
        connection.execute("create table intermediate.int_feedback_unified (feedback_id varchar, event_date date, text varchar)")
        connection.executemany("insert into intermediate.int_feedback_unified values (?, ?, ?)", UTTERANCES)
    return path


def _code(warehouse):
    start, end = datetime(2026, 3, 1, tzinfo=timezone.utc), datetime(2026, 3, 3, tzinfo=timezone.utc)
    return codes_step.code_window(dg.build_asset_context(), warehouse, start, end).metadata


def _rows(warehouse, sql):
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def test_every_utterance_gets_rows_and_a_rerun_codes_nothing(warehouse):
    first = _code(warehouse)
    assert first["utterances_coded"] == len(UTTERANCES)
    coded = dict(_rows(warehouse, "select feedback_id, count(*) from intermediate.feedback_codes group by 1"))
    assert set(coded) == {u[0] for u in UTTERANCES}
    assert _rows(warehouse, "select code from intermediate.feedback_codes where feedback_id = 'store:3'") == [("uncoded",)]
    assert ("critical",) in _rows(warehouse, "select severity from intermediate.feedback_codes where feedback_id = 'call_center:1'")
    before = _rows(warehouse, "select count(*) from intermediate.feedback_codes")
    assert _code(warehouse)["utterances_coded"] == 0
    assert _rows(warehouse, "select count(*) from intermediate.feedback_codes") == before


def test_chunks_coded_by_the_worker_pool_land_like_the_serial_ones(warehouse, monkeypatch, tmp_path):
    """A backfill's chunks stream through the worker processes (here: chunks of one row, two workers)."""
    from udfs.codeframe import batch

    _code(warehouse)
    serial = _rows(warehouse, "select feedback_id, code, sentiment, evidence from intermediate.feedback_codes order by all")
    parallel_warehouse = tmp_path / "parallel.duckdb"
    parallel_warehouse.write_bytes(warehouse.read_bytes())
    with duckdb.connect(str(parallel_warehouse)) as connection:
        connection.execute("drop table intermediate.feedback_codes")
    monkeypatch.setattr(codes_step, "CODING_CHUNK", 1)
    monkeypatch.setattr(batch, "PARALLEL_MIN_TEXTS", 2)
    pools, start_pool = [], batch._pool
    monkeypatch.setattr(batch, "_pool", lambda *args: pools.append(args) or start_pool(*args))
    try:
        assert _code(parallel_warehouse)["utterances_coded"] == len(UTTERANCES)
    finally:
        batch.close_pools()
    parallel = _rows(parallel_warehouse, "select feedback_id, code, sentiment, evidence from intermediate.feedback_codes order by all")
    assert parallel == serial and pools


def test_changed_text_is_coded_again_in_place(warehouse):
    _code(warehouse)
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute("update intermediate.int_feedback_unified set text = '座椅很舒服' where feedback_id = 'store:3'")
    assert _code(warehouse)["utterances_coded"] == 1
    codes = _rows(warehouse, "select code from intermediate.feedback_codes where feedback_id = 'store:3'")
    assert codes and ("uncoded",) not in codes


def test_a_new_codeframe_version_recodes_history_and_keeps_the_old_rows(warehouse, monkeypatch, tmp_path):
    _code(warehouse)
    old = _rows(warehouse, "select count(*) from intermediate.feedback_codes")[0][0]
    current = load_settings().codeframe.read_text(encoding="utf-8")
    edited = tmp_path / "codeframe.yaml"
    edited.write_text(re.sub(r'^version: "[^"]+"', 'version: "99.0.0"', current, count=1, flags=re.M).replace(
        "changelog:\n", 'changelog:\n  - {version: "99.0.0", date: "2026-11-23", summary: "test release"}\n', 1
    ), encoding="utf-8")
    monkeypatch.setenv("VOC_CODEFRAME", str(edited))
    assert _code(warehouse)["utterances_coded"] == len(UTTERANCES)
    versions = dict(_rows(warehouse, "select codeframe_version, count(*) from intermediate.feedback_codes group by 1"))
    assert versions.pop("99.0.0") > 0
    assert list(versions.values()) == [old]


def test_uncoded_terms_keep_their_types_when_nothing_is_uncoded(tmp_path):
    path = tmp_path / "all_coded.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.execute("create schema intermediate")
        connection.execute("create table intermediate.int_feedback_unified (feedback_id varchar, event_date date, text varchar)")
        connection.execute("insert into intermediate.int_feedback_unified values ('survey:1', '2026-03-01', '车机老是卡顿')")
    codes_step.code_window(dg.build_asset_context(), path, datetime(2026, 3, 1, tzinfo=timezone.utc),
                           datetime(2026, 3, 2, tzinfo=timezone.utc))
    assert _rows(path, "select count(*) from intermediate.feedback_codes where code = 'uncoded'") == [(0,)]
    codes_step.write_uncoded_terms(path, datetime(2026, 3, 2, tzinfo=timezone.utc))
    types = dict(_rows(path, "select column_name, data_type from information_schema.columns where table_name = 'uncoded_terms'"))
    assert types == {"term": "VARCHAR", "utterances": "BIGINT", "share_of_uncoded": "DOUBLE", "score": "DOUBLE",
                     "examples": "VARCHAR", "codeframe_version": "VARCHAR", "window_start": "DATE", "window_end": "DATE"}
    assert _rows(path, "select count(*) from intermediate.uncoded_terms") == [(0,)]
