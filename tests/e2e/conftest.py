"""One small generated world, refreshed end to end through Dagster, shared by the e2e tests."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from dagster_project.settings import load_settings

WORLD = {"customers": 200, "days": 12, "seed": 5}


@pytest.fixture(scope="session")
def world() -> Path:
    """The landing zone at VOC_LANDING (set by tests/conftest.py); returns the truth dir."""
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
