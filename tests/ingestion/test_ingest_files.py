"""File sources (call centre CSV, private-domain and public-opinion JSONL) through real dlt pipelines."""

from __future__ import annotations

import duckdb
from conftest import SALT, day
from landing_fixture import ID_CARD, PHONE

from ingestion.common import hash_pii

FILE_FAMILIES = ("call_center", "private_domain", "public_opinion")


def test_every_bad_record_is_quarantined_with_its_reason(ingest, landing):
    _, expected = landing
    found = set()
    for family in FILE_FAMILIES + ("store",):
        ingest.run(family, history=True)
        found |= set(ingest.query(f"select source, file, line, reason from raw_{family}.quarantine"))
    assert found == expected


def test_load_stats_account_for_every_line(ingest):
    for family in FILE_FAMILIES:
        ingest.run(family)
    stats = {
        row[0]: row[1:]
        for family in FILE_FAMILIES
        for row in ingest.query(
            f"select file, records_seen, records_quarantined, records_deduplicated, records_loaded from raw_{family}.load_stats"
        )
    }
    assert stats["calls_2026-03-10.csv"] == (9, 6, 1, 2)
    assert stats["messages_2026-03-10.jsonl"] == (9, 6, 1, 2)
    assert stats["posts_2026-03-11.jsonl"] == (2, 2, 0, 0)
    for seen, quarantined, deduplicated, loaded in stats.values():
        assert seen == quarantined + deduplicated + loaded


def test_records_are_typed_cleaned_and_deduplicated(ingest):
    ingest.run("call_center")
    ingest.run("private_domain")
    calls = {
        row[0]: row[1:]
        for row in ingest.query(
            "select call_id, strftime(started_at at time zone 'UTC', '%Y-%m-%d %H:%M'), duration_s, agent_summary,"
            " _voc_source_file, _voc_line, phone_hash from raw_call_center.calls"
        )
    }
    # C1 twice in one file: the later call wins; C2 in two files: the later file wins
    assert calls["C1"][:5] == ("2026-03-10 01:30", 130, "再次投诉", "calls_2026-03-10.csv", 4)
    assert calls["C2"][2:4] == ("保养咨询（更正）", "calls_2026-03-11.csv")
    assert calls["C1"][5] == hash_pii(PHONE, SALT)
    assert ingest.query("select text from raw_private_domain.messages where message_id = 'M2'") == [("交车仪式很棒",)]


def test_extra_columns_are_kept_and_a_missing_column_quarantines_only_its_file(ingest):
    ingest.run("call_center")
    ingest.run("public_opinion")
    assert ingest.query("select sentiment_tag from raw_call_center.calls where call_id = 'C3'") == [("neg",)]
    assert ingest.query("select post_id, extra_field, likes from raw_public_opinion.posts order by 1") == [
        ("P1", None, 12),
        ("P2", None, 3),
        ("P3", '{"a": 1}', 12),
    ]
    # nested JSON and a fractional timestamp take the per-record path: same cleaning there
    assert ingest.query(
        "select text, epoch_ms(published_at) % 1000 from raw_public_opinion.posts where post_id = 'P3'"
    ) == [("补充：续航虚标", 250)]
    details = ingest.query("select distinct detail from raw_public_opinion.quarantine")
    assert details == [("file 'posts_2026-03-11.jsonl' has no column 'handle'",)]


def test_rerun_with_nothing_new_loads_nothing(ingest):
    first = ingest.run("private_domain")
    assert first["messages"] == 3
    assert ingest.run("private_domain") == {}


def test_daily_windows_load_only_their_day_in_any_order(ingest):
    assert ingest.run("private_domain", day(11), day(12))["messages"] == 1
    assert ingest.run("private_domain", day(10), day(11))["messages"] == 2
    assert ingest.run("private_domain", day(11), day(12)) == {}
    assert ingest.run("private_domain", day(10), day(11)) == {}
    assert ingest.query("select count(*) from raw_private_domain.messages") == [(3,)]


def test_supplement_file_belongs_to_its_export_day(ingest):
    counts = ingest.run("public_opinion", day(10), day(11))
    assert counts["posts"] == 3
    assert "quarantine" not in counts


def test_a_changed_file_is_reread_and_replaces_the_old_version(ingest, landing):
    root, _ = landing
    ingest.run("private_domain")
    path = root / "private_domain" / "messages_2026-03-11.jsonl"
    path.write_text(path.read_text(encoding="utf-8").replace("在线客服回复很快", "在线客服回复很快，问题已解决"), encoding="utf-8")
    assert ingest.run("private_domain")["messages"] == 1
    assert ingest.query("select count(*), max(text) from raw_private_domain.messages where message_id = 'M9'") == [
        (1, "在线客服回复很快，问题已解决")
    ]


def test_no_raw_phone_or_id_card_outside_free_text(ingest):
    for family in FILE_FAMILIES + ("store", "crm"):
        ingest.run(family, history=True)
    free_text = {"asr_text", "agent_summary", "text", "verbatim", "advisor_note", "title"}
    secrets = [PHONE, "13900001111", "13700002222", ID_CARD]
    with duckdb.connect(str(ingest.warehouse), read_only=True) as con:
        columns = con.execute(
            "select table_schema, table_name, column_name from information_schema.columns"
            " where table_schema like 'raw_%' and data_type = 'VARCHAR'"
        ).fetchall()
        assert len(columns) > 50
        for schema, table, column in columns:
            if column in free_text:
                continue
            values = con.execute(f'select distinct "{column}" from {schema}."{table}" where "{column}" is not null').fetchall()
            digits = ["".join(ch for ch in str(value) if ch.isdigit() or ch == "X") for (value,) in values]
            leaked = [d for d in digits if any(secret in d for secret in secrets)]
            assert not leaked, f"{schema}.{table}.{column} holds raw PII"


def test_a_first_load_before_the_first_export_creates_the_table(ingest):
    """A channel whose exports start after go-live: dbt's staging view over its table must exist already."""
    for name in (ingest.landing / "public_opinion").iterdir():
        name.unlink()
    assert ingest.run("public_opinion", day(10), day(11), history=True) == {"posts": 0}
    columns = [row[0] for row in ingest.query(
        "select column_name from information_schema.columns where table_schema = 'raw_public_opinion' "
        "and table_name = 'posts' order by ordinal_position"
    )]
    assert columns[0] == "post_id" and "_voc_source_file" in columns
    assert ingest.run("public_opinion", day(10), day(11), history=True) == {}
