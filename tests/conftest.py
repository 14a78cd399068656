"""Test session settings: every test writes to a throwaway warehouse and landing zone.

The environment is set before any project module is imported, because Dagster definitions
bind the warehouse path when they are built.
"""

import csv
import os
import tempfile
from pathlib import Path

import pytest

# Test modules import helpers from `tests.conftest`, a second import of this file: it must not start a new session.
SESSION_DIR = Path(os.environ.get("VOC_TEST_SESSION_DIR") or tempfile.mkdtemp(prefix="voc-tests-"))
os.environ["VOC_TEST_SESSION_DIR"] = str(SESSION_DIR)
os.environ["VOC_WAREHOUSE"] = str(SESSION_DIR / "warehouse" / "voc.duckdb")
os.environ["VOC_LANDING"] = str(SESSION_DIR / "world" / "landing")
os.environ.pop("VOC_TRUTH", None)
os.environ.pop("VOC_SURVEY_API_URL", None)
os.environ["VOC_PII_SALT"] = "test-salt"
# The smallest row groups DuckDB allows: a writer that ignores the setting shows in a few thousand rows.
os.environ["VOC_DUCKDB_ROW_GROUP_SIZE"] = "2048"

WORLD = {"customers": 200, "days": 12, "seed": 5}


@pytest.fixture(scope="session")
def world() -> Path:
    """The landing zone at VOC_LANDING (set by tests/conftest.py); returns the truth dir."""
    from dagster_project.settings import load_settings
    from ingestion.demo.generator import generate_world

    settings = load_settings()
    generate_world(settings.landing, progress=False, **WORLD)
    return settings.truth


@pytest.fixture(scope="session")
def first_refresh(world):
    """The first full refresh of every day in the landing zone."""
    from dagster_project.cli import refresh_window, run_refresh

    first_day, last_day = refresh_window(None, None)
    assert run_refresh(first_day, last_day), "the full refresh failed: see the summary above"
    return first_day, last_day


def read_truth(truth: Path, name: str) -> list[dict[str, str]]:
    with (truth / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))
