"""The Dagster graph as a whole: it loads, keys line up, and automation is wired as documented."""

import json
from pathlib import Path

import dagster as dg
import pytest

from dagster_project.definitions import build_definitions
from dagster_project.lib.gx_checks import SuiteError, build_gx_suite, read_suite_spec
from dagster_project.lib.keys import SIDE_TABLES
from dagster_project.lib.partitions import daily_partitions
from dagster_project.settings import EXPECTATIONS_DIR


@pytest.fixture(scope="module")
def definitions() -> dg.Definitions:
    return build_definitions()


@pytest.fixture(scope="module")
def asset_graph(definitions):
    return definitions.resolve_asset_graph()


def _ingest_keys(asset_graph) -> set[dg.AssetKey]:
    return {
        key
        for key in asset_graph.get_all_asset_keys()
        if not asset_graph.get(key).is_external and asset_graph.get(key).group_name == "ingest"
    }


def test_every_dbt_source_is_a_real_asset(definitions, asset_graph):
    """raw_* sources are dlt assets, the udf source is the codes step: no placeholder keys anywhere."""
    from dagster_project.defs.transform.dbt import dbt_project
    from dagster_project.lib.keys import VocDbtTranslator

    manifest = json.loads(Path(dbt_project.manifest_path).read_text())
    translator = VocDbtTranslator()
    source_keys = {s["source_name"]: set() for s in manifest["sources"].values()}
    for source in manifest["sources"].values():
        source_keys[source["source_name"]].add(translator.get_asset_key(source))
    raw_keys = set().union(*(keys for name, keys in source_keys.items() if name.startswith("raw_")))
    ingest_keys = _ingest_keys(asset_graph)
    assert raw_keys and raw_keys <= ingest_keys, sorted(k.to_user_string() for k in raw_keys - ingest_keys)
    for source in manifest["sources"].values():
        if source["source_name"].startswith("raw_"):  # dlt keys equal dbt's default source keys
            assert translator.get_asset_key(source) == dg.AssetKey([source["source_name"], source["name"]])
    for key in ingest_keys:
        assert "dlt" in asset_graph.get(key).kinds
    for key in source_keys["udf"]:
        assert asset_graph.get(key).group_name == "codes" and "python" in asset_graph.get(key).kinds
    for key in asset_graph.get_all_asset_keys():
        assert not asset_graph.get(key).is_external, f"placeholder (external) asset key in the graph: {key.to_user_string()}"


def test_staging_models_depend_on_the_dlt_assets(asset_graph):
    staging = dg.AssetKey(["staging", "stg_call_center__calls"])
    assert dg.AssetKey(["raw_call_center", "calls"]) in asset_graph.get(staging).parent_keys
    audit = dg.AssetKey(["audit", "quarantine"])
    assert {dg.AssetKey([f"raw_{f}", "quarantine"]) for f in ["call_center", "crm"]} <= asset_graph.get(audit).parent_keys


def test_one_daily_partitioning_in_shanghai(asset_graph):
    partitioned = [asset_graph.get(k).partitions_def for k in asset_graph.get_all_asset_keys()]
    assert all(p == daily_partitions for p in partitioned)
    assert daily_partitions.timezone == "Asia/Shanghai"


def test_every_job_runs_its_steps_in_one_process(definitions):
    """Also the asset job behind a UI materialization: a process per step re-imported everything for each
    step while the duckdb_writer pool ran them one at a time anyway (4 min 24 s for two days of a tiny world)."""
    jobs = [definitions.resolve_implicit_global_asset_job_def(), *(definitions.resolve_job_def(name) for name in
                                                                   ("daily_refresh", "build_after_failed_ingest"))]
    assert [job.executor_def.name for job in jobs] == ["in_process"] * 3


def test_daily_schedule_runs_at_six_shanghai(definitions):
    schedule = definitions.get_schedule_def("daily_refresh_at_0600_shanghai")
    assert schedule.cron_schedule == "0 6 * * *"
    assert schedule.execution_timezone == "Asia/Shanghai"


def test_dbt_tests_and_gx_suites_are_asset_checks(asset_graph):
    check_names = {key.name for key in asset_graph.asset_check_keys}
    assert any(name.startswith("gx_") for name in check_names)
    assert any(name.startswith("not_null_") for name in check_names)
    gx_assets = {key.asset_key for key in asset_graph.asset_check_keys if key.name.startswith("gx_")}
    assert dg.AssetKey(["intermediate", "int_feedback_unified"]) in gx_assets


@pytest.mark.parametrize("suite_path", sorted(EXPECTATIONS_DIR.glob("*.json")), ids=lambda p: p.stem)
def test_every_suite_loads_all_its_expectations(suite_path):
    spec = read_suite_spec(suite_path)
    assert len(build_gx_suite(spec).expectations) == len(spec.expectations)


def test_a_mistyped_expectation_is_refused(tmp_path):
    suite = tmp_path / "raw_x.t.json"
    suite.write_text(json.dumps({
        "name": "raw_x.t",
        "meta": {"partition_column": "updated_at"},
        "expectations": [
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "a"}},
            {"type": "expect_column_values_to_be_betwen", "kwargs": {"column": "a", "min_value": 0}},
        ],
    }))
    with pytest.raises(SuiteError, match="loaded 1 of 2"):
        build_gx_suite(read_suite_spec(suite))


def test_side_tables_have_one_producer_per_family(asset_graph):
    for table in SIDE_TABLES:
        producers = [k for k in _ingest_keys(asset_graph) if k.path[-1] == table]
        assert len(producers) == 7


def test_gx_checks_run_after_the_models(definitions):
    """A lower step priority puts the GX steps after dbt, so their import overlaps the dbt subprocess."""
    job = definitions.resolve_job_def("daily_refresh")
    priorities = {node.name: int(node.definition.tags.get("dagster/priority", 0)) for node in job.graph.nodes}
    gx_steps = {name for name in priorities if "_gx_" in name}
    assert gx_steps and all(priorities[name] < priorities["voc_dbt_models"] for name in gx_steps)


def test_dagster_dev_loads_the_definitions_without_the_virtualenv_on_path(tmp_path):
    """`.venv/bin/dagster dev -w workspace.yaml` (the README's command, no activated venv) loads the code
    location: under `dagster dev` nothing may look for `dbt` on PATH."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "DAGSTER_IS_DEV_CLI": "1", "PATH": "/usr/bin:/bin", "DAGSTER_HOME": str(tmp_path)}
    script = "from dagster_project.definitions import build_definitions; build_definitions().resolve_asset_graph()"
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300,
                            cwd=Path(__file__).resolve().parents[2])
    assert result.returncode == 0, result.stderr[-3000:]
