"""The whole daily refresh on a generated world: hear every channel, lose nothing, leak no PII, stay idempotent."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

from dagster_project.cli import run_refresh
from dagster_project.lib.summary import coded_percent
from dagster_project.lib.warehouse import warehouse_connection
from dagster_project.settings import DBT_PROJECT_DIR, load_settings
from ingestion.demo.dirty import QUARANTINE_REASON_OF_KIND as QUARANTINED_KINDS
from tests.conftest import read_truth

FILE_SOURCES = {"call_center", "private_domain", "public_opinion"}
PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
ID_CARD = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")
# *_hash columns (sha256), text_hash (128-bit), audit.dbt_builds' project fingerprint (sha256)
HEX_DIGEST = re.compile(r"[0-9a-f]{32}|[0-9a-f]{64}")


def query(sql: str, params=None) -> list[tuple]:
    with warehouse_connection(load_settings().warehouse, read_only=True) as connection:
        return connection.execute(sql, params or []).fetchall()


def relation_counts() -> dict[str, int]:
    """Row count of every table and view, dlt's own bookkeeping tables included."""
    relations = query("select table_schema, table_name from information_schema.tables order by all")
    return {f"{schema}.{name}": query(f'select count(*) from "{schema}"."{name}"')[0][0] for schema, name in relations}


def checksum(relation: str, order_by: str) -> str:
    rows = query(f"select * exclude (_voc_run_id) from {relation} order by {order_by}") if relation.startswith("raw_") else query(
        f"select * from {relation} order by {order_by}"
    )
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def test_all_five_channels_reach_int_feedback_unified(first_refresh):
    channels = {row[0] for row in query("select distinct channel from intermediate.int_feedback_unified")}
    assert channels == {"call_center", "survey", "private_domain", "public_opinion", "store"}


def test_every_utterance_is_loaded_or_quarantined(first_refresh, world):
    planted = read_truth(world, "utterances.csv")
    unified = {row[0] for row in query("select feedback_id from intermediate.int_feedback_unified")}
    quarantined = {(s, r) for s, r in query("select source, record_id from audit.quarantine")}
    missing = [
        (u["source"], u["record_id"])
        for u in planted
        if f"{u['source']}:{u['record_id']}" not in unified and (u["source"], u["record_id"]) not in quarantined
    ]
    assert not missing, f"{len(missing)} planted utterances neither loaded nor quarantined, e.g. {missing[:5]}"


def test_quarantine_holds_exactly_the_planted_bad_records(first_refresh, world):
    """Files are matched by file and line; API and SQL records by record id (their order is the server's)."""

    def position(source, file, line, record_id):
        return (file, int(line)) if source in FILE_SOURCES else record_id

    expected = sorted(
        (b["source"], position(b["source"], b["file"], b["line"], b["record_id"]), QUARANTINED_KINDS[b["kind"]])
        for b in read_truth(world, "bad_records.csv")
        if b["kind"] in QUARANTINED_KINDS
    )
    actual = sorted(
        (source, position(source, file, line, record_id), reason)
        for source, file, line, record_id, reason in query("select source, file, line, record_id, reason from audit.quarantine")
    )
    assert actual == expected


def test_load_reconciliation_adds_up_for_every_source(first_refresh):
    rows = query("select source, records_seen, records_loaded, records_quarantined, records_deduplicated, adds_up from audit.load_reconciliation")
    assert {row[0] for row in rows} >= {"call_center", "survey", "private_domain", "public_opinion", "store", "crm", "ops"}
    for source, seen, loaded, quarantined, deduplicated, adds_up in rows:
        assert adds_up and seen == loaded + quarantined + deduplicated, source


def test_no_raw_phone_or_id_number_outside_the_raw_schemas(first_refresh):
    columns = query(
        "select table_schema, table_name, column_name from information_schema.columns "
        "where table_schema not like 'raw\\_%' escape '\\' and data_type = 'VARCHAR' "
        "and table_schema not in ('information_schema', 'pg_catalog')"
    )
    assert columns
    leaks = []
    for schema, table, column in columns:
        for (value,) in query(f'select "{column}" from "{schema}"."{table}" where "{column}" is not null'):
            if HEX_DIGEST.fullmatch(value):  # a hash by construction, whose hex can hold an 11-digit run by chance
                continue
            if PHONE.search(value) or ID_CARD.search(value):
                leaks.append((schema, table, column, value[:80]))
    assert not leaks, leaks[:5]


def test_the_summary_gives_the_coded_share_of_utterances_with_text(first_refresh, capsys):
    """Store visits and survey responses without a comment are utterances no codeframe can code: the demo's
    summary showed store 71 % coded while every store comment was coded."""
    capsys.readouterr()
    assert run_refresh(*first_refresh)  # nothing new: the summary of the warehouse as it is
    printed = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines() if line.startswith("store ")}
    (total, with_text), = query(
        "select count(*), count(*) filter (where nullif(trim(text), '') is not null) "
        "from intermediate.int_feedback_unified where channel = 'store'"
    )
    coded = query("select count(distinct feedback_id) from marts.fct_feedback_codes "
                  "where channel = 'store' and code <> 'uncoded'")[0][0]
    assert total > with_text, "the premise: some store visits carry no comment"
    _, utterances, shown_with_text, shown_share, *_ = printed["store"]
    assert (utterances, shown_with_text) == (f"{total:,}", f"{with_text:,}")
    assert shown_share == coded_percent(coded / with_text)
    assert coded_percent(0.99999) == "99.9%" and coded_percent(1.0) == "100.0%"  # never rounded up to "all"


def test_ingestion_in_dagster_refuses_a_salt_the_warehouse_was_not_built_with(first_refresh, monkeypatch, capsys):
    """What `dagster dev` or the schedule runs: every ingest step fails with the reason, nothing is loaded."""
    from dagster_project import cli
    from dagster_project.lib.pii_salt import recorded_fingerprint, salt_fingerprint

    with warehouse_connection(load_settings().warehouse, read_only=True) as connection:
        assert recorded_fingerprint(connection) == salt_fingerprint(os.environ["VOC_PII_SALT"])
    before = relation_counts()
    monkeypatch.setenv("VOC_PII_SALT", "a rotated salt")
    monkeypatch.setattr(cli, "warehouse_salt_mismatch", lambda settings: None)  # past the CLI's own check
    capsys.readouterr()
    assert not run_refresh(first_refresh[1], first_refresh[1])
    printed = capsys.readouterr()
    assert "the warehouse's phone hashes were made with another PII salt" in printed.out + printed.err
    assert relation_counts() == before


def test_a_new_codeframe_version_keeps_history_in_the_fact_and_names_the_backfill(first_refresh, tmp_path):
    """A codeframe edit, then the daily run: the fact table kept only the re-coded window, emptying every
    BI trend before it until someone ran a backfill."""
    from udfs.codeframe.schema import DEFAULT_CODEFRAME_PATH

    def fact_days(path) -> dict[str, set]:
        with warehouse_connection(path, read_only=True) as connection:
            rows = connection.execute("select codeframe_version, event_date from marts.fct_feedback_codes group by all").fetchall()
        days: dict[str, set] = {}
        for version, day in rows:
            days.setdefault(version, set()).add(day)
        return days

    (old_version, all_days), = fact_days(load_settings().warehouse).items()
    warehouse = tmp_path / "warehouse" / "voc.duckdb"
    warehouse.parent.mkdir()
    shutil.copy(load_settings().warehouse, warehouse)
    codeframe = tmp_path / "codeframe.yaml"
    text = DEFAULT_CODEFRAME_PATH.read_text(encoding="utf-8").replace(
        f'version: "{old_version}"\nchangelog:\n',
        'version: "99.0.0"\nchangelog:\n  - {version: "99.0.0", date: "2026-12-04", summary: "a test bump"}\n', 1)
    renamed = "  - id: PRD.TRN.JERK\n"  # a leaf the new version renames: history keeps the old id
    assert renamed in text
    codeframe.write_text(text.replace(renamed, "  - id: PRD.TRN.SHIFT_SHOCK\n"), encoding="utf-8")
    env = {**os.environ, "VOC_WAREHOUSE": str(warehouse), "VOC_CODEFRAME": str(codeframe)}
    voc = Path(sys.executable).parent / "voc"
    last_day = first_refresh[1]
    result = subprocess.run([str(voc), "refresh", "--date", last_day], env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    after = fact_days(warehouse)
    assert set(after) == {old_version, "99.0.0"} and after[old_version] | after["99.0.0"] == all_days
    window_start = date.fromisoformat(last_day) - timedelta(days=3)
    assert min(after["99.0.0"]) == window_start and max(after[old_version]) == window_start - timedelta(days=1)
    with warehouse_connection(warehouse, read_only=True) as connection:
        assert connection.execute("select count(*) from marts.fct_feedback_codes where code = 'PRD.TRN.JERK'").fetchall()[0][0]
    # The fact table's data tests over the whole history (an analytics engineer's `dbt test`): the old id is history,
    # not a code missing from the current codeframe.
    dbt = Path(sys.executable).parent / "dbt"
    tests = subprocess.run([str(dbt), "test", "--select", "fct_feedback_codes", "--project-dir", str(DBT_PROJECT_DIR),
                            "--profiles-dir", str(DBT_PROJECT_DIR)], env=env, capture_output=True, text=True, timeout=600)
    assert tests.returncode == 0, tests.stdout[-3000:]
    assert ("HISTORY NOT RE-CODED: " in result.stdout
            and f"coded with codeframe {old_version}, not the current 99.0.0. Re-code them: voc refresh "
                f"--start {first_refresh[0]} --end {window_start - timedelta(days=1)}" in result.stdout)


def test_a_second_refresh_changes_no_count_and_skips_dbt(first_refresh):
    families = ["call_center", "private_domain", "public_opinion", "survey", "store", "crm", "ops"]

    def loaded_per_family() -> dict[str, int]:
        return {f: query(f"select coalesce(sum(records_loaded), 0) from raw_{f}.load_stats")[0][0] for f in families}

    before, loaded_before = relation_counts(), loaded_per_family()
    builds_before = query("select * from audit.dbt_builds order by all")
    assert builds_before and all(row[5] for row in builds_before), "the first refresh left no complete dbt build"
    assert run_refresh(*first_refresh)
    after = relation_counts()
    changed = {k: (before.get(k), after.get(k)) for k in set(before) | set(after) if before.get(k) != after.get(k)}
    # Nothing new: no load happens (not even a load_stats row), and dbt does not run.
    assert not changed
    assert loaded_per_family() == loaded_before
    assert query("select * from audit.dbt_builds order by all") == builds_before


def test_the_same_day_three_times_gives_identical_counts_and_checksums(first_refresh):
    day = first_refresh[1]
    snapshots = []
    for _ in range(3):
        assert run_refresh(day, day)
        snapshots.append(
            (
                query("select count(*) from intermediate.int_feedback_unified")[0][0],
                checksum("intermediate.int_feedback_unified", "feedback_id"),
                checksum("raw_call_center.calls", "call_id"),
                query("select count(*) from audit.quarantine")[0][0],
            )
        )
    assert snapshots[0] == snapshots[1] == snapshots[2]


def test_day_by_day_refreshes_with_a_source_down_end_as_one_refresh(first_refresh, tmp_path):
    """The history, then a day with the survey API down, then the next day once it is back.

    The day the API is down, the other channels still reach int_feedback_unified and the marts (they waited
    for the survey before). The next day's refresh reads the survey on from its cursor, so the responses of
    the day it was down arrive then, within the lookback. audit.quarantine appends the loads it has not seen:
    in the end it holds the rows of one refresh of every day, and the unified utterances are those of one refresh.
    """
    first_day, last_day = first_refresh
    warehouse = tmp_path / "voc.duckdb"
    voc = Path(sys.executable).parent / "voc"
    env = {**os.environ, "VOC_WAREHOUSE": str(warehouse)}
    day_down = (date.fromisoformat(last_day) - timedelta(days=1)).isoformat()
    day_before = (date.fromisoformat(last_day) - timedelta(days=2)).isoformat()

    def refresh(start: str, end: str, **extra_env: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(voc), "refresh", "--start", start, "--end", end], env={**env, **extra_env},
                              capture_output=True, text=True, timeout=600)

    def unified_on(path, day: str) -> dict[str, int]:
        with warehouse_connection(path, read_only=True) as connection:
            return dict(connection.execute(
                "select channel, count(*) from intermediate.int_feedback_unified where event_date = ? group by channel",
                [date.fromisoformat(day)],
            ).fetchall())

    assert refresh(first_day, day_before).returncode == 0
    down = refresh(day_down, day_down, VOC_SURVEY_API_URL="http://127.0.0.1:9", VOC_SURVEY_API_KEY="any")
    assert down.returncode == 1, down.stdout[-3000:]
    assert "ingest_survey failed: building staging, codes and marts from what the other sources loaded" in down.stdout
    assert "FAILED step ingest_survey" in down.stdout and "Connection refused" in down.stdout
    complete = {day: unified_on(load_settings().warehouse, day) for day in (day_down, last_day)}
    assert complete[day_down].get("survey"), "no survey response on the day it is down: this test would not see it missing"
    assert unified_on(warehouse, day_down) == {channel: n for channel, n in complete[day_down].items() if channel != "survey"}
    back = refresh(last_day, last_day)
    assert back.returncode == 0, back.stdout[-3000:]
    assert {day: unified_on(warehouse, day) for day in (day_down, last_day)} == complete

    def quarantine(path) -> list[tuple]:
        with warehouse_connection(path, read_only=True) as connection:
            return connection.execute(
                "select source, file, line, record_id, reason, raw_payload from audit.quarantine order by all"
            ).fetchall()

    def last_day_rows(path) -> int:
        with warehouse_connection(path, read_only=True) as connection:
            return connection.execute("select count(*) from audit.quarantine where file like ?", [f"%{last_day}%"]).fetchone()[0]

    assert last_day_rows(warehouse) > 0, "the last day planted no bad record: this test would not see an append"
    assert quarantine(warehouse) == quarantine(load_settings().warehouse)


def test_a_source_down_on_the_very_first_refresh_holds_back_no_other_channel(first_refresh, tmp_path):
    """A new warehouse whose first refresh finds the survey API down: the survey has no raw table to stage, so
    its first load declares its table empty and the other channels still reach int_feedback_unified. When the
    API is back, the survey's next load reads its whole history: the warehouse ends as one clean refresh."""
    first_day, last_day = first_refresh
    warehouse = tmp_path / "voc.duckdb"
    voc = Path(sys.executable).parent / "voc"
    env = {**os.environ, "VOC_WAREHOUSE": str(warehouse)}

    def refresh(**extra_env: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(voc), "refresh", "--start", first_day, "--end", last_day], env={**env, **extra_env},
                              capture_output=True, text=True, timeout=600)

    def unified(path) -> dict[str, tuple]:
        with warehouse_connection(path, read_only=True) as connection:
            return {channel: (n, digest) for channel, n, digest in connection.execute(
                "select channel, count(*), md5(string_agg(feedback_id || '|' || coalesce(customer_id, '') || '|' "
                "|| coalesce(vehicle_model, ''), ',' order by feedback_id)) from intermediate.int_feedback_unified "
                "group by channel"
            ).fetchall()}

    complete = unified(load_settings().warehouse)
    down = refresh(VOC_SURVEY_API_URL="http://127.0.0.1:9", VOC_SURVEY_API_KEY="any")
    assert down.returncode == 1, down.stdout[-3000:]
    assert "FAILED step ingest_survey" in down.stdout and "Connection refused" in down.stdout
    assert unified(warehouse) == {channel: rows for channel, rows in complete.items() if channel != "survey"}
    back = refresh()
    assert back.returncode == 0, back.stdout[-3000:]
    assert unified(warehouse) == complete


def test_dbt_keeps_its_log_file_readable_while_dagster_reads_its_json(first_refresh):
    """dagster-dbt reads dbt's stdout as JSON (DBT_LOG_FORMAT=json), which dbt would apply to its log file
    too: `dbt/target/dbt.log` stays dbt's debug text for the analytics engineer who opens it."""
    from dagster_project.defs.transform.dbt import dbt_project

    log = dbt_project.project_dir / dbt_project.target_path / "dbt.log"
    tail = log.read_text(encoding="utf-8").splitlines()[-200:]
    text = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in tail]  # dbt colours its log file by default
    debug_lines = [line for line in text if re.match(r"\d\d:\d\d:\d\d\.\d+ \[(debug|info) *\]", line)]
    assert debug_lines, tail[-5:]
    assert not [line for line in text if line.startswith('{"data"') or line.startswith('{"info"')]
