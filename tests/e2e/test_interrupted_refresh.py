"""A refresh killed in the middle of a dlt load, then run again, ends with the counts of an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from dagster_project.lib.warehouse import warehouse_connection
from dagster_project.settings import load_settings

COMPARED = [
    "raw_call_center.calls",
    "raw_private_domain.messages",
    "raw_public_opinion.posts",
    "raw_survey.responses",
    "raw_store.store_visits",
    "raw_crm.customers",
    "intermediate.int_feedback_unified",
    "audit.quarantine",
]


def counts(warehouse: Path) -> dict[str, int]:
    with warehouse_connection(warehouse, read_only=True) as connection:
        result = {name: connection.execute(f"select count(*) from {name}").fetchone()[0] for name in COMPARED}
        result["reconciliation_adds_up"] = connection.execute(
            "select bool_and(adds_up) from audit.load_reconciliation"
        ).fetchone()[0]
    return result


def _load_in_progress(pipelines_dir: Path) -> bool:
    """dlt keeps a package under load/normalized/ from the end of normalize until its load completes."""
    return any(pipelines_dir.glob("*/load/normalized/*"))


def _voc_refresh(env: dict[str, str]) -> subprocess.Popen:
    voc = Path(sys.executable).parent / "voc"
    return subprocess.Popen([str(voc), "refresh"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def test_killed_refresh_recovers_to_the_same_counts(first_refresh, tmp_path):
    uninterrupted = counts(load_settings().warehouse)
    warehouse = tmp_path / "warehouse" / "voc.duckdb"
    env = {**os.environ, "VOC_WAREHOUSE": str(warehouse)}
    pipelines_dir = warehouse.parent / ".dlt_pipelines"

    killed = False
    for _attempt in range(3):
        process = _voc_refresh(env)
        while process.poll() is None:
            if _load_in_progress(pipelines_dir):
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                killed = True
                break
            time.sleep(0.002)
        if killed:
            break
    assert killed, "never caught a dlt load in progress to kill"

    rerun = _voc_refresh(env)
    assert rerun.wait(timeout=600) == 0
    try:
        assert counts(warehouse) == uninterrupted
    except duckdb.CatalogException as error:  # pragma: no cover - shows which relation is missing
        raise AssertionError(f"the rerun did not rebuild every relation: {error}") from error
