"""Every source over a generated demo world: quarantine equals the planted bad records exactly."""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path

import pytest
from conftest import Ingest

from ingestion.common import SHANGHAI

pytest.importorskip("ingestion.demo.generator")
from ingestion.demo.dirty import QUARANTINE_REASON_OF_KIND as REASON_OF_KIND  # noqa: E402
from ingestion.demo.generator import generate_world  # noqa: E402
from ingestion.demo.survey_api import start_survey_api  # noqa: E402

FAMILIES = ("call_center", "private_domain", "public_opinion", "survey", "store", "crm", "ops")
UTTERANCES = {
    "call_center": "select count(*) from raw_call_center.calls",
    "private_domain": "select count(*) from raw_private_domain.messages",
    "public_opinion": "select count(*) from raw_public_opinion.posts",
    "survey": "select count(*) from raw_survey.responses where verbatim <> ''",
    "store": "select count(*) from raw_store.store_visits where advisor_note <> ''",
}
API_KEY = "world-key"


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("world")
    generate_world(root / "landing", customers=200, days=12, seed=3, progress=False)
    return root


def _truth(world: Path, name: str) -> list[dict]:
    with open(world / "truth" / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _key(source: str, file: str, line, record_id, reason: str) -> tuple:
    """Survey lines count records in the API's backing file, which a client never sees: match on record_id."""
    return (source, file, record_id if source == "survey" else int(line), reason)


def _ingest_world(world: Path, tmp_path: Path, windows: list[tuple]) -> Ingest:
    with start_survey_api(world / "landing" / "survey" / "responses.jsonl", API_KEY) as api:
        ingest = Ingest(world / "landing", tmp_path / "voc.duckdb", tmp_path / "dlt", survey_url=api.url, survey_api_key=API_KEY)
        for start, end, history in windows:
            for family in FAMILIES:
                ingest.run(family, start, end, history=history)
    return ingest


def _check_against_truth(ingest: Ingest, world: Path) -> None:
    expected = {
        _key(row["source"], row["file"], row["line"], row["record_id"], REASON_OF_KIND[row["kind"]])
        for row in _truth(world, "bad_records.csv")
        if row["kind"] in REASON_OF_KIND
    }
    found = set()
    for family in ("call_center", "private_domain", "public_opinion", "survey", "store"):
        found |= {_key(*row) for row in ingest.query(f"select source, file, line, record_id, reason from raw_{family}.quarantine")}
    assert found == expected
    for family in FAMILIES:
        stats = ingest.query(
            "select sum(records_seen), sum(records_quarantined + records_deduplicated + records_loaded),"
            f" sum(records_quarantined) from raw_{family}.load_stats"
        )[0]
        assert stats[0] == stats[1]
    utterances = _truth(world, "utterances.csv")
    for source, query in UTTERANCES.items():
        assert ingest.query(query) == [(sum(1 for u in utterances if u["source"] == source),)], source


def test_full_history_run_matches_the_planted_truth(world, tmp_path):
    ingest = _ingest_world(world, tmp_path, [(None, None, True)])
    _check_against_truth(ingest, world)


def test_daily_partition_windows_match_the_planted_truth(world, tmp_path):
    day = lambda d: datetime.combine(date(2026, 3, d), datetime.min.time(), tzinfo=SHANGHAI)  # noqa: E731
    windows = [(day(20), day(27), True), (day(27), datetime(2026, 4, 1, tzinfo=SHANGHAI), False)]
    ingest = _ingest_world(world, tmp_path, windows)
    _check_against_truth(ingest, world)
