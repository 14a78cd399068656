"""Every dbt model and test as Dagster assets and checks, run per partition window."""


import importlib.metadata
import os
from collections.abc import Mapping
from contextlib import contextmanager
from functools import cached_property

import dagster as dg
import orjson
from dagster_dbt import DbtCliResource, DbtProject, dbt_assets
from dagster_dbt.dbt_manifest import read_manifest_path
from packaging import version
from pydantic import PrivateAttr

from dagster_project.lib.dbt_builds import (
    complete_builds,
    is_built,
    manifest_matches_parse,
    project_fingerprint,
    raw_upstream_loaded_in_run,
    record_build,
    record_parse,
)
from dagster_project.lib.gx_checks import preload_great_expectations
from dagster_project.lib.keys import VocDbtTranslator, is_raw_key
from dagster_project.lib.partitions import daily_partitions, dbt_window_env, run_window_days, single_run, window_days
from dagster_project.lib.warehouse import WAREHOUSE_WRITER_POOL, release_warehouse
from dagster_project.lib.warm_dbt import SOCKET_VARIABLE, WarmDbt
from dagster_project.settings import DBT_PROJECT_DIR, dbt_executable, export_for_subprocesses, load_settings
from ingestion import FAMILIES

settings = load_settings()
export_for_subprocesses(settings)
dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, target=settings.dbt_target)


WARM_DBT_MAX_DAYS = 7


def warm_for_run(tags: Mapping[str, str]) -> bool:
    """Warm dbt saves ~3.5 s per invocation: what a daily refresh is made of, noise beside a backfill,
    whose memory peak the warm process (~0.13-0.25 GB) would raise."""
    days = run_window_days(tags)
    return WarmDbt.supported() and (days is None or days <= WARM_DBT_MAX_DAYS)


class VenvDbtCliResource(DbtCliResource):
    """The dbt CLI of this virtualenv (settings.dbt_executable), whose version is the installed dbt-core's.

    dagster-dbt asks the executable (`dbt --version`, ~4 s of start-up) once per run; the answer
    is already in the package metadata. During a run, dbt is warm (lib/warm_dbt.py): loaded once
    in the background while the run ingests, each invocation forked from it.
    """

    _warm: WarmDbt | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        super().setup_for_execution(context)
        if warm_for_run(context.run.tags if context.run else {}):
            self._warm = WarmDbt(dbt_project.project_dir, dbt_project.project_dir / dbt_project.target_path, self.target)
            os.environ[SOCKET_VARIABLE] = self._warm.socket_path  # dagster-dbt passes os.environ to dbt

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        os.environ.pop(SOCKET_VARIABLE, None)
        if self._warm is not None:
            self._warm.stop()

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args):
        """No in-process dbt adapter: dagster-dbt builds one before every invocation (parsing every macro,
        2-5 s) only for fetch_row_counts/fetch_column_metadata, which this project does not call, and it
        would open the warehouse beside the dbt subprocess that writes it."""
        return None


def dbt_cli_resource() -> VenvDbtCliResource:
    return VenvDbtCliResource(project_dir=dbt_project, target=settings.dbt_target, dbt_executable=dbt_executable())


# No `dbt_project.prepare_if_dev()`: under `dagster dev` it parses with a dbt looked up on PATH, which a
# virtualenv that is not activated does not put there; the check below parses with this venv's dbt, and only
# when the project changed.
_parse_record = dbt_project.project_dir / dbt_project.target_path / "voc_project_fingerprint.txt"
_current_fingerprint = project_fingerprint(DBT_PROJECT_DIR)


def _manifest_is_readable() -> bool:
    """dagster-dbt's own cached reader: the `dbt_assets` below get this parse, not a second one."""
    try:
        read_manifest_path(dbt_project.manifest_path.resolve())
    except (OSError, orjson.JSONDecodeError):
        return False
    return True


if not manifest_matches_parse(_parse_record, dbt_project.manifest_path, _current_fingerprint) or not _manifest_is_readable():
    # A fresh clone has no manifest, an edited project has a stale one (its selections would name
    # models that are gone), a dbt run by hand wrote one for the files as they were then (edited since,
    # or reverted), and a dbt killed while writing leaves a broken one: parse (~4 s) so the definitions
    # match the files.
    dbt_cli_resource().cli(
        ["parse", "--quiet"], target_path=dbt_project.project_dir / dbt_project.target_path
    ).wait()
    record_parse(_parse_record, dbt_project.manifest_path, _current_fingerprint)


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
    the step that builds all of its parents. A refresh that loaded nothing new skips dbt (see
    lib/dbt_builds.py).
    """
    window = context.partition_time_window
    window_start, window_end = window_days(window)
    run_settings = load_settings()
    raw_upstream = {
        dep for key in context.selected_asset_keys for dep in context.assets_def.asset_deps[key] if is_raw_key(dep)
    }
    # Only the step that reads raw tables records (and may skip) a build; the later one completes it.
    fingerprint = project_fingerprint(DBT_PROJECT_DIR, also=[run_settings.codeframe]) if raw_upstream else None
    if raw_upstream_loaded_in_run(context, raw_upstream) and is_built(
        run_settings.warehouse, FAMILIES, fingerprint, window_start, window_end
    ):
        context.log.info(
            f"Nothing new: no load has seen a record since dbt built {window_start} … {window_end} with this "
            "project, so dbt is not run and the steps after it are skipped."
        )
        return
    if raw_upstream:
        # Recorded before dbt, on the connection ingestion still holds (a connection of its own after dbt
        # cost ~0.2 s); it counts only once the run's last dbt step completes it, so a failed build is redone.
        record_build(run_settings.warehouse, FAMILIES, fingerprint, window_start, window_end, context.run.run_id)
    release_warehouse()  # the dbt subprocess needs the file lock
    preload_great_expectations()  # the checks after this step need it; this process waits on dbt meanwhile
    # --no-write-json: each build would rewrite the ~1 MB manifest.json the definitions' parse wrote
    # and a run_results.json nothing reads (dagster-dbt takes the results from dbt's log stream).
    command = ["build", "--exclude-resource-type", "unit_test", "--indirect-selection", "buildable", "--no-write-json"]
    with environment(dbt_window_env(window)):
        # One shared target dir: dbt re-parses the whole project when its target path changes.
        invocation = dbt.cli(command, context=context, target_path=dbt_project.project_dir / dbt_project.target_path)
    yield from invocation.stream()
    if not raw_upstream:
        complete_builds(run_settings.warehouse, context.run.run_id)
