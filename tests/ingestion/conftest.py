"""Fixtures for the ingestion tests: a small landing zone, a survey API and real dlt pipelines.

Every test gets its own DuckDB warehouse file and dlt pipelines dir under tmp_path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from landing_fixture import build_landing, survey_records
from survey_stub import API_KEY, SurveyStub

from ingestion.common import SHANGHAI
from ingestion.pipeline import family_source, make_pipeline

SALT = "test-salt"


def day(number: int) -> datetime:
    """Local midnight of 2026-03-<number>."""
    return datetime(2026, 3, number, tzinfo=SHANGHAI)


@dataclass
class Ingest:
    """Runs a family's source into a throwaway warehouse and reads the result back."""

    landing: Path
    warehouse: Path
    pipelines_dir: Path
    survey_url: str | None = None
    survey_api_key: str | None = API_KEY
    runs: int = field(default=0)

    def run(self, family: str, start: datetime | None = None, end: datetime | None = None, *, history: bool = False) -> dict:
        """One pipeline run; returns rows per table handed to the load (no dlt state table)."""
        self.runs += 1
        pipeline = make_pipeline(family, self.warehouse, self.pipelines_dir)
        source = family_source(
            family,
            self.landing,
            window_start=start,
            window_end=end,
            pii_salt=SALT,
            run_id=f"run-{self.runs}",
            is_history_window=history,
            survey_url=self.survey_url,
            survey_api_key=self.survey_api_key,
        )
        pipeline.run(source)
        counts = dict(pipeline.last_trace.last_normalize_info.row_counts)
        counts.pop("_dlt_pipeline_state", None)
        return counts

    def query(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            return con.execute(sql).fetchall()


@pytest.fixture
def landing(tmp_path: Path) -> tuple[Path, set[tuple]]:
    root = tmp_path / "landing"
    return root, build_landing(root)


@pytest.fixture
def survey_api():
    records, expected = survey_records()
    with SurveyStub(records) as stub:
        stub.expected = expected
        yield stub


@pytest.fixture
def ingest(tmp_path: Path, landing, survey_api) -> Ingest:
    return Ingest(landing[0], tmp_path / "warehouse" / "voc.duckdb", tmp_path / "dlt", survey_url=survey_api.url)
