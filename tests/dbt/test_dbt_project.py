"""dbt on its own: unit tests on the built warehouse, and the schema layout."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from dagster_project.lib.warehouse import warehouse_connection
from dagster_project.settings import DBT_PROJECT_DIR, load_settings


def test_dbt_unit_tests_pass(first_refresh):
    """Masking, name reduction and the unification/incremental logic, mocked inputs (dbt unit tests)."""
    # A subprocess, as in production: in-process dbt-duckdb keeps its connection (and file lock) open.
    dbt = Path(sys.executable).parent / "dbt"
    result = subprocess.run(
        [str(dbt), "test", "--select", "test_type:unit", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    for name in {
        "test_pii_is_masked_in_free_text",
        "test_customer_names_are_masked_to_surname",
        "test_feedback_unified_unions_every_channel_with_its_identity_keys",
        "test_feedback_unified_incremental_run_reads_only_the_window_with_lookback",
        "test_feedback_codes_fact_incremental_run_reads_only_the_window_of_the_current_version",
    }:
        assert name in result.stdout


def test_dbt_writes_exactly_its_four_schemas(first_refresh):
    with warehouse_connection(load_settings().warehouse, read_only=True) as connection:
        schemas = {row[0] for row in connection.execute("select distinct table_schema from information_schema.tables").fetchall()}
    dbt_schemas = {s for s in schemas if not s.startswith("raw_")}
    assert dbt_schemas <= {"staging", "intermediate", "marts", "audit"}
    assert {"staging", "intermediate", "audit"} <= dbt_schemas
