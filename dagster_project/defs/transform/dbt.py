"""Every dbt model, seed and test as Dagster assets and checks, run per partition window."""


import os
from contextlib import contextmanager

import dagster as dg
from dagster_dbt import DbtCliResource, DbtProject, dbt_assets

from dagster_project.lib.keys import VocDbtTranslator
from dagster_project.lib.memory import release_memory
from dagster_project.lib.partitions import daily_partitions, dbt_window_env, single_run
from dagster_project.lib.warehouse import WAREHOUSE_WRITER_POOL
from dagster_project.settings import DBT_PROJECT_DIR, dbt_executable, export_for_subprocesses, load_settings

settings = load_settings()
export_for_subprocesses(settings)

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, target=settings.dbt_target)
dbt_project.prepare_if_dev()
if not dbt_project.manifest_path.exists():
    # A fresh clone has no manifest yet; parsing once (~4 s) makes the definitions loadable.
    DbtCliResource(project_dir=dbt_project, target=settings.dbt_target, dbt_executable=dbt_executable()).cli(
        ["parse", "--quiet"], target_path=dbt_project.project_dir / dbt_project.target_path
    ).wait()


@contextmanager
def environment(values: dict[str, str]):
    """Set variables for a subprocess started inside the block (dbt reads the window from them)."""
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=VocDbtTranslator(),
    partitions_def=daily_partitions,
    backfill_policy=single_run,
    pool=WAREHOUSE_WRITER_POOL,
)
def voc_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """`dbt build` of the selected models for the partition window.

    Unit tests are development checks (dbt's own advice): they run in the test suite, not in
    the production refresh, where an incremental model's first build has no `this` to mock.
    Dagster runs dbt in several steps around the Python assets; "buildable" runs a test only in
    the step that builds all of its parents.
    """
    release_memory()  # dbt runs beside this process: hand back what earlier steps freed first
    command = ["build", "--exclude-resource-type", "unit_test", "--indirect-selection", "buildable"]
    with environment(dbt_window_env(context.partition_time_window)):
        # One shared target dir: dbt re-parses the whole project when its target path changes.
        invocation = dbt.cli(command, context=context, target_path=dbt_project.project_dir / dbt_project.target_path)
    yield from invocation.stream()

