"""A GX check validates exactly the rows of its partition window (Asia/Shanghai days) and fails on a bad one."""

from __future__ import annotations

import shutil
from datetime import date, timedelta

from dagster_project.lib.gx_checks import day_batches, read_partition_frame, read_suite_spec, validate_frame
from dagster_project.lib.warehouse import warehouse_connection
from dagster_project.settings import EXPECTATIONS_DIR, load_settings


def test_a_check_reads_its_shanghai_days_and_fails_only_where_a_bad_row_is(first_refresh, tmp_path):
    first_day, last_day = first_refresh
    warehouse = tmp_path / "voc.duckdb"
    shutil.copy(load_settings().warehouse, warehouse)
    spec = read_suite_spec(EXPECTATIONS_DIR / "raw_call_center.calls.json")
    day_after = (date.fromisoformat(last_day) + timedelta(days=1)).isoformat()
    with warehouse_connection(warehouse) as connection:
        # a call at 05:00 Shanghai on the last day is 21:00 UTC the day before: it belongs to the last day
        connection.execute(
            "insert into raw_call_center.calls select * replace ("
            " 'bad-' || call_id as call_id, null as asr_text,"
            " timezone('Asia/Shanghai', cast(? as timestamp) + interval 5 hour) as started_at)"
            " from raw_call_center.calls limit 1",
            [last_day],
        )
        per_day = dict(connection.execute(
            "select cast(timezone('Asia/Shanghai', started_at) as date), count(*) from raw_call_center.calls group by 1"
        ).fetchall())

    def validate(start: str, end: str) -> tuple[bool, int, list[tuple[str, str]]]:
        with warehouse_connection(warehouse, read_only=True) as connection:
            batches = day_batches(connection, spec, start, end, max_rows=2 * max(per_day.values()))
            results = [(validate_frame(spec, frame), len(frame))
                       for frame in (read_partition_frame(connection, spec, *batch) for batch in batches)]
        failed.extend(outcome for result, _ in results for outcome in result.results if not outcome.success)
        return all(result.success for result, _ in results), sum(rows for _, rows in results), batches

    failed = []
    passed, rows, batches = validate(last_day, day_after)
    assert not passed and rows == per_day[date.fromisoformat(last_day)] and batches == [(last_day, day_after)]
    [null_text] = failed  # what the check reports: the expectation and how many rows broke it
    assert null_text.expectation_config.kwargs["column"] == "asr_text" and null_text.result["unexpected_count"] == 1
    passed, rows, batches = validate(first_day, last_day)
    assert passed and rows == sum(count for day, count in per_day.items() if day < date.fromisoformat(last_day))
    assert len(batches) >= 2 and batches[0][0] == first_day and batches[-1][1] == last_day


def test_the_preload_builds_every_suites_validation_definition_in_the_background(monkeypatch):
    """What the dbt step starts while dbt runs: the checks after it find GX imported and their suites built."""
    from dagster_project.lib import gx_checks

    monkeypatch.setattr(gx_checks, "_preloading", None)
    monkeypatch.setattr(gx_checks, "_validators", gx_checks._SuiteValidators())
    checks = gx_checks.build_gx_asset_checks(EXPECTATIONS_DIR)
    gx_checks.preload_great_expectations(EXPECTATIONS_DIR)
    gx_checks._preloading.join(timeout=120)
    assert not gx_checks._preloading.is_alive()
    suites = sorted(EXPECTATIONS_DIR.glob("*.json"))
    assert len(checks) == len(suites) and sorted(gx_checks._validators._definitions) == suites


def test_the_preload_imports_sqlalchemys_orm_before_its_thread_starts():
    """GX's import in the preload thread and Dagster's event log in the step's thread must not import
    SQLAlchemy's ORM at the same time (a half-initialized module failed a step): it is imported first."""
    import subprocess
    import sys

    probe = (
        "import sys, threading\n"
        "from dagster_project.lib import gx_checks\n"
        "assert 'sqlalchemy.orm' not in sys.modules, 'already imported: the probe proves nothing'\n"
        "threading.Thread.start = lambda self: None\n"  # the thread never runs: only the caller's imports count
        "gx_checks.preload_great_expectations()\n"
        "print('sqlalchemy.orm' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_gx_is_imported_without_scipy_stats_until_a_statistical_expectation_needs_it():
    """The lazy scipy.stats spares the import's ~0.8 s and still serves the expectations that use it."""
    import subprocess
    import sys

    script = """
import sys
from dagster_project.lib.gx_checks import import_great_expectations
import_great_expectations()
from great_expectations.expectations.core import expect_column_kl_divergence_to_be_less_than as kl
assert "scipy.stats._stats_py" not in sys.modules, "scipy.stats was loaded by the GX import"
assert kl.stats.entropy([0.5, 0.5], [0.9, 0.1]) > 0  # first use loads the real module
assert "scipy.stats._stats_py" in sys.modules
"""
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
