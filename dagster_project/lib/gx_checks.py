"""One factory turns every Great Expectations suite in `expectations/` into a Dagster asset check.

A suite file `<schema>.<table>.json` validates the asset keyed `[<schema>, <table>]`.
GX 1.x has no DuckDB engine, so each check reads the partition window of the table into
pandas, a few days at a time, and validates each batch. GX drops a mistyped expectation with only a log line, so
loading a suite asserts that every expectation in the file survived.
"""


import functools
import importlib.util
import json
import sys
import threading
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    multi_asset_check,
)

from dagster_project.lib.memory import release_memory_after
from dagster_project.lib.partitions import daily_partitions, window_days
from dagster_project.lib.run_records import loaded_nothing_in_run
from dagster_project.lib.warehouse import WAREHOUSE_WRITER_POOL, hold_warehouse, warehouse_connection
from dagster_project.settings import EXPECTATIONS_DIR, TIMEZONE, load_settings

# Rows per validated batch: GX's pandas engine copies columns, so memory follows the batch size.
BATCH_ROWS = 200_000

# The checks run after the models (a lower step priority), so the ~2 s of importing GX can overlap
# the dbt subprocess, while this process only relays dbt's events (see preload_great_expectations).
CHECK_STEP_PRIORITY = "-1"
_preloading: threading.Thread | None = None


def preload_great_expectations(suite_dir: Path = EXPECTATIONS_DIR) -> None:
    """Import GX and build each suite's validation definition in a background thread, once per process.

    The import takes ~2 s (see import_great_expectations) and the context with its ~15 definitions ~0.25 s:
    work that overlaps the dbt subprocess instead of delaying the first checks. A check joins the thread before it uses GX
    (the context is not shared between threads); a suite that fails here fails again, with its
    message, in its own check.
    """
    global _preloading
    if _preloading is None:
        # GX imports SQLAlchemy's ORM. Half-imported in the preload thread, it is seen by SQLAlchemy calls
        # in this one (Dagster's event log): a step that queried the event log during the import failed
        # with "partially initialized module 'sqlalchemy.orm.exc'". Imported here first (~0.07 s).
        import sqlalchemy.orm  # noqa: F401

        _preloading = threading.Thread(target=_prepare_validators, args=(suite_dir,), name="gx-preload", daemon=True)
        _preloading.start()


def import_great_expectations():
    """`great_expectations`, imported with `scipy.stats` deferred until something uses it.

    GX's core expectations include three statistical ones (KL divergence, KS tests) whose modules bind
    `from scipy import stats` when GX is imported: ~0.8 s of the import's ~3 s, for expectations no suite
    here uses. `scipy.stats` is put in place as a lazy module (importlib's LazyLoader), which loads
    itself on first attribute access, so a suite that does use one gets the real module then.
    """
    if "great_expectations" not in sys.modules and "scipy.stats" not in sys.modules:
        import scipy

        spec = importlib.util.find_spec("scipy.stats")
        spec.loader = importlib.util.LazyLoader(spec.loader)
        stats = importlib.util.module_from_spec(spec)
        sys.modules["scipy.stats"] = stats
        # `from scipy import stats` would otherwise go through import_module, whose look at the module's
        # __spec__ already loads it
        scipy.stats = stats
        spec.loader.exec_module(stats)
    import great_expectations

    return great_expectations


def _prepare_validators(suite_dir: Path) -> None:
    import_great_expectations()  # the import is most of the work

    try:
        for spec in suite_specs(suite_dir):
            _validators.definition(spec)
    except Exception:  # noqa: BLE001 - left to the suite's check, which reports it
        return


class SuiteError(ValueError):
    """A suite file that cannot be trusted to check what it claims."""


@dataclass(frozen=True)
class SuiteSpec:
    path: Path
    name: str
    asset_key: AssetKey
    relation: str
    partition_column: str
    expectations: list[dict[str, Any]]


def read_suite_spec(path: Path) -> SuiteSpec:
    """Read a suite file; its name says which relation it validates, `meta` says how to slice it."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise SuiteError(f"{path}: not valid JSON (line {error.lineno}): {error.msg}") from error
    schema, _, table = path.stem.partition(".")
    if not table:
        raise SuiteError(f"{path}: name the file <schema>.<table>.json after the relation it validates")
    partition_column = document.get("meta", {}).get("partition_column")
    if not partition_column:
        raise SuiteError(f"{path}: meta.partition_column is missing (the timestamp or date that places a row in a day)")
    expectations = document.get("expectations") or []
    if not expectations:
        raise SuiteError(f"{path}: the suite has no expectations")
    return SuiteSpec(
        path=path,
        name=document.get("name") or path.stem,
        asset_key=AssetKey([schema, table]),
        relation=f"{schema}.{table}",
        partition_column=partition_column,
        expectations=expectations,
    )


def build_gx_suite(spec: SuiteSpec):
    """The GX suite for a spec, refusing to continue if GX rejected or silently dropped an expectation."""
    import_great_expectations()
    from great_expectations.core.expectation_suite import ExpectationSuite
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    suite = ExpectationSuite(name=spec.name)
    problems = []
    for position, expectation in enumerate(spec.expectations):
        try:
            suite.add_expectation_configuration(ExpectationConfiguration(**expectation))
        except Exception as error:  # noqa: BLE001 - GX raises many types for a bad expectation
            problems.append(f"#{position} {expectation.get('type')!r}: {error}")
    if problems or len(suite.expectations) != len(spec.expectations):
        raise SuiteError(
            f"{spec.path}: GX loaded {len(suite.expectations)} of {len(spec.expectations)} expectations; "
            f"fix {problems or 'the expectations GX dropped without an error'}"
        )
    return suite


class _SuiteValidators:
    """One ephemeral GX context per process, each suite's validation definition built once.

    A context per batch cost ~0.1 s of GX bookkeeping (it serialises its config on every change) for
    each of the ~15 checks of a daily refresh; the definitions do not change within a process.
    """

    def __init__(self):
        self._context = None
        self._definitions: dict[Path, Any] = {}

    def definition(self, spec: SuiteSpec):
        if _preloading is not None and threading.current_thread() is not _preloading:
            _preloading.join()
        gx = import_great_expectations()
        from great_expectations.data_context.types.base import ProgressBarsConfig

        if self._context is None:
            self._context = gx.get_context(mode="ephemeral")
            self._context.variables.progress_bars = ProgressBarsConfig(globally=False)
        if spec.path not in self._definitions:
            suite = self._context.suites.add(build_gx_suite(spec))
            batch = (
                self._context.data_sources.add_pandas(f"{spec.name}_source")
                .add_dataframe_asset(spec.name)
                .add_batch_definition_whole_dataframe("partition_window")
            )
            self._definitions[spec.path] = self._context.validation_definitions.add(
                gx.ValidationDefinition(name=spec.name, data=batch, suite=suite)
            )
        return self._definitions[spec.path]


_validators = _SuiteValidators()


def validate_frame(spec: SuiteSpec, frame: pd.DataFrame):
    """Validate one pandas batch; returns the GX validation result.

    BASIC results carry each expectation's unexpected count and a few unexpected values, all a check
    reports; GX's default (SUMMARY) also counts the unexpected values by value, ~40 % more of the time
    of a day's ~15 suites (0.79-0.95 s against 0.58 s on a 170k-customer world's day).
    """
    return _validators.definition(spec).run(batch_parameters={"dataframe": frame}, result_format="BASIC")


def columns_validated(spec: SuiteSpec) -> tuple[set[str], set[str]]:
    """(columns whose values the suite reads, columns it only needs to exist)."""
    values, names_only = set(), set()
    for expectation in spec.expectations:
        kwargs = expectation.get("kwargs", {})
        values.update([kwargs["column"]] if "column" in kwargs else [])
        values.update(kwargs.get("column_list", []))
        names_only.update(kwargs.get("column_set", []))
    return values, names_only - values


def _columns_and_day(connection, spec: SuiteSpec, start: str, end: str) -> tuple[dict[str, str], str, str]:
    """The relation's column types, the SQL that gives a row's Shanghai day, and the predicate of [start, end).

    The predicate compares the column itself with the window's bounds, so DuckDB skips the row groups
    outside the window by their min/max instead of computing every row's day (a daily check of a
    year-long table reads a day, not the year).
    """
    schema, table = spec.relation.split(".")
    types = dict(
        connection.execute(
            "select column_name, data_type from information_schema.columns where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchall()
    )
    column = spec.partition_column
    if column not in types:
        raise SuiteError(f"{spec.path}: {spec.relation} has no column {column!r}")
    first, after = date.fromisoformat(start), date.fromisoformat(end)  # ISO dates only: safe to inline
    if types[column] == "DATE":
        return types, column, f"{column} >= date '{first}' and {column} < date '{after}'"
    bound = "timezone('{zone}', timestamp '{day} 00:00:00')"
    in_window = (f"{column} >= {bound.format(zone=TIMEZONE, day=first)} "
                 f"and {column} < {bound.format(zone=TIMEZONE, day=after)}")
    return types, f"cast(timezone('{TIMEZONE}', {column}) as date)", in_window


def day_batches(connection, spec: SuiteSpec, start: str, end: str, max_rows: int = BATCH_ROWS) -> list[tuple[str, str]]:
    """Consecutive days of [start, end) grouped into batches of at most `max_rows` rows (a bigger day stays whole).

    A backfill of many days is validated batch by batch, so memory follows the batch, not the window.
    """
    _, day, in_window = _columns_and_day(connection, spec, start, end)
    per_day = connection.execute(
        f"select {day} as d, count(*) from {spec.relation} where {in_window} group by d order by d"
    ).fetchall()
    batches, first, rows = [], None, 0
    for index, (current, count) in enumerate(per_day):
        if first is not None and rows + count > max_rows:
            batches.append((first, current.isoformat()))
            first, rows = None, 0
        if first is None:
            first = current.isoformat()
        rows += count
        if index == len(per_day) - 1:
            batches.append((first, (current + timedelta(days=1)).isoformat()))
    return batches


def read_partition_frame(connection, spec: SuiteSpec, start: str, end: str) -> pd.DataFrame:
    """The rows of the relation whose partition column falls in [start, end) (Shanghai days).

    Only the columns the suite reads are fetched; the other columns of the relation are present
    but empty, so schema expectations still see them and wide text columns cost no memory.
    """
    types, _, in_window = _columns_and_day(connection, spec, start, end)
    read, _ = columns_validated(spec)
    selected = [name for name in types if name in read] or [spec.partition_column]
    quoted = ", ".join(f'"{name}"' for name in selected)
    frame = connection.execute(f"select {quoted} from {spec.relation} where {in_window}").df()
    for name in types:
        if name not in frame.columns:
            frame[name] = pd.Series([None] * len(frame), dtype="object")
    return frame


def build_gx_asset_check(spec: SuiteSpec):
    check_spec = AssetCheckSpec(
        name=f"gx_{spec.name.replace('.', '_')}",
        asset=spec.asset_key,
        description=f"Great Expectations suite {spec.path.name} on each partition window.",
        blocking=False,
        partitions_def=daily_partitions,
    )

    @multi_asset_check(
        specs=[check_spec],
        name=f"{spec.asset_key.to_python_identifier()}_{check_spec.name}",
        pool=WAREHOUSE_WRITER_POOL,
        # A table whose load in this run brought no row is unchanged: its last result still holds.
        can_subset=True,
        op_tags={"dagster/priority": CHECK_STEP_PRIORITY},
        required_resource_keys={"warehouse"},
    )
    def _check(context: AssetCheckExecutionContext):
        if loaded_nothing_in_run(context, spec.asset_key):
            context.log.info(f"{spec.relation}: no row loaded in this run, so {spec.path.name} is not run again")
            return
        passed, rows, expectations, failures = True, 0, len(spec.expectations), {}
        # The checks of a run share one read-only connection (opening the file costs ~50 ms each); no
        # writer runs beside them (the writer pool), and the run's `warehouse` resource releases it.
        warehouse = load_settings().warehouse
        hold_warehouse(warehouse, read_only=True)
        with warehouse_connection(warehouse, read_only=True) as connection:
            for start, end in day_batches(connection, spec, *window_days(context.partition_time_window)):
                frame = read_partition_frame(connection, spec, start, end)
                result = validate_frame(spec, frame)
                batch_rows = len(frame)
                rows += batch_rows
                del frame
                passed = passed and bool(result.success)
                for outcome in result.results:
                    if not outcome.success:
                        label = f"{outcome.expectation_config.type}({outcome.expectation_config.kwargs.get('column', '')})"
                        failures[label] = failures.get(label, 0) + (outcome.result.get("unexpected_count") or 0)
                release_memory_after(batch_rows)
        yield AssetCheckResult(
            asset_key=spec.asset_key,
            check_name=check_spec.name,
            passed=passed,
            severity=AssetCheckSeverity.ERROR,
            metadata={
                "rows_validated": rows,
                "expectations": expectations,
                "failed_expectations": json.dumps(failures, ensure_ascii=False),
            },
        )

    return _check


@functools.cache
def suite_specs(suite_dir: Path) -> tuple[SuiteSpec, ...]:
    """Every suite in `suite_dir`, read once per process: the checks and the preload see the same files."""
    return tuple(read_suite_spec(path) for path in sorted(suite_dir.glob("*.json")))


def build_gx_asset_checks(suite_dir: Path) -> list:
    return [build_gx_asset_check(spec) for spec in suite_specs(suite_dir)]
