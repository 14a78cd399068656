"""Helpers every source relies on: windows, cursor planning, PII hashing, file names."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pyarrow as pa
from conftest import day

from ingestion.common import (
    EPOCH,
    Window,
    advanced_cursor,
    export_day,
    hash_pii,
    hash_pii_column,
    mask_pii_in_text,
    parse_timestamp,
    plan_cursor_range,
)
from ingestion.records import RawRecord, TableSpec, Unit, validate


def test_hash_pii_normalizes_before_hashing():
    assert hash_pii("138-1234-5678", "s") == hash_pii("+86 13812345678", "s") == hash_pii("13812345678", "s")
    assert hash_pii("11010519491231002x", "s") == hash_pii("11010519491231002X", "s")
    assert hash_pii("", "s") is None and hash_pii(None, "s") is None
    assert hash_pii("13812345678", "a") != hash_pii("13812345678", "b")


def test_the_column_hash_is_the_same_function():
    values = ["13812345678", " 0086-138-1234-5678 ", "8613812345678", "11010519491231002x", "86 1381234567", "", None, "无"]
    assert hash_pii_column(pa.array(values), "s").to_pylist() == [hash_pii(v, "s") for v in values]


def test_payload_masking_and_export_days():
    assert mask_pii_in_text("电话13812345678，身份证11010519491231002X") == "电话[PHONE]，身份证[ID_CARD]"
    assert export_day("posts_2026-03-10_supplement.jsonl") == date(2026, 3, 10)
    assert export_day("calls_2026-03-10.csv") == date(2026, 3, 10)
    assert export_day("calls_latest.csv") is None


def test_local_times_are_shanghai_and_stored_as_utc():
    assert parse_timestamp("2026-03-10 09:30:00") == datetime(2026, 3, 10, 1, 30, tzinfo=timezone.utc)
    assert parse_timestamp("2026-03-10T09:30:00+08:00") == datetime(2026, 3, 10, 1, 30, tzinfo=timezone.utc)


def test_cursor_plan_forward_backfill_and_history():
    window = Window.of(day(10), day(11))
    assert plan_cursor_range(window, None).since == day(10)
    stored = {"last_value": day(10).replace(hour=15).isoformat(), "keys_at_last_value": ["A"]}
    forward = plan_cursor_range(window, stored)
    assert forward.since == day(10).replace(hour=15) and forward.advances_cursor and forward.loaded_at_since == {"A"}
    ahead = {"last_value": day(12).isoformat(), "keys_at_last_value": []}
    backfill = plan_cursor_range(window, ahead)
    assert (backfill.since, backfill.until, backfill.advances_cursor) == (day(10), day(11), False)
    history = plan_cursor_range(Window.of(day(10), day(11), is_history=True), None)
    assert history.since == EPOCH and history.until == day(11)
    behind = {"last_value": day(5).replace(hour=15).isoformat(), "keys_at_last_value": ["B"]}
    after_a_gap = plan_cursor_range(window, behind)  # days 6-9 had no run: their changes are read now
    assert (after_a_gap.since, after_a_gap.until, after_a_gap.advances_cursor) == (day(5).replace(hour=15), day(11), True)
    assert advanced_cursor(None, history.since, None, set()) == {"last_value": EPOCH.isoformat(), "keys_at_last_value": []}


TIMESTAMPS = [
    "2026-03-10T09:00:00+08:00",
    "2026-03-10 09:00:00",
    "2026-03-10T09:00:00",
    "2026-03-10T09:00:00-05:00",
    "2026-03-10T09:00:00.5+08:00",
    "2026-03-10T09:00:00Z",
    "2026-03-10T09:00:00+0800",
    "2026-02-30T10:00:00+08:00",
    "2026-03-10T09:00:60+08:00",
    "2026-3-1T09:00:00+08:00",
    "2026-03-10T09:00:00+08:00x",
    "0000-00-00 00:00:00",
    "2026/13/45 25:61",
    "昨天下午三点",
]


def test_vectorized_and_per_record_validation_agree_on_timestamps():
    spec = TableSpec(
        source="t", table="t", primary_key=("id",), columns={"id": "text", "at": "timestamp"},
        required=("id", "at"), order_by="at",
    )
    unit = Unit.from_records([RawRecord(n, {"id": str(n), "at": value}) for n, value in enumerate(TIMESTAMPS, start=1)])
    result = validate(spec, "t", unit, future_limit=datetime(2100, 1, 1, tzinfo=timezone.utc), salt="s", run_id="r")
    loaded = dict(zip(result.table.column("id").to_pylist(), result.table.column("at").to_pylist()))
    for n, value in enumerate(TIMESTAMPS, start=1):
        try:
            expected = parse_timestamp(value)
        except ValueError:
            expected = None
        assert loaded.get(str(n)) == expected, value
    assert {r.line for r in result.rejections} == {n for n, v in enumerate(TIMESTAMPS, start=1) if str(n) not in loaded}
    assert {r.reason for r in result.rejections} == {"unparseable_timestamp"}


def test_a_lone_record_without_a_required_key_is_a_missing_field_not_a_missing_column():
    spec = TableSpec(
        source="t", table="t", primary_key=("id",), columns={"id": "text", "text": "text"},
        required=("id", "text"), order_by="id",
    )
    unit = Unit.from_records([RawRecord(1, {"id": "a"}, '{"id": "a"}')])
    result = validate(spec, "t.jsonl", unit, future_limit=datetime(2100, 1, 1, tzinfo=timezone.utc), salt="s", run_id="r")
    assert result.table is None
    assert [(r.line, r.reason, r.record_id) for r in result.rejections] == [(1, "missing_required_field", "a")]
