"""Builds the Dagster assets of one dlt source family.

`@dlt_assets` makes one asset per dlt resource; a family's load also writes the side tables
`quarantine` and `load_stats`, so the same multi-asset declares them too. All of them are
outputs of one real dlt run per partition window. The load writes through the run's held
warehouse connection (lib/warehouse.py), so the families of one refresh open the file once.
"""


from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import dagster as dg
import duckdb
from dagster_dlt import DagsterDltResource
from dagster_dlt.asset_decorator import build_dlt_asset_specs
from dlt.common.pipeline import SupportsPipeline
from dlt.extract.source import DltSource

from dagster_project.lib.continuation import INGEST_STEP_PREFIX
from dagster_project.lib.keys import INGEST_GROUP, SIDE_TABLES, RawTableTranslator, raw_asset_key
from dagster_project.lib.memory import LARGE_STEP_ROWS, release_memory_after
from dagster_project.lib.partitions import daily_partitions, is_history_window, single_run
from dagster_project.lib.pii_salt import check_and_record_salt
from dagster_project.lib.warehouse import WAREHOUSE_WRITER_POOL, WarehouseResource, quoted_identifier
from dagster_project.settings import load_settings
from ingestion.pipeline import declaration_source
from ingestion.quarantine import completed_load_stats

# (window_start, window_end, is_history_window, run_id, **inputs) -> the family's dlt source
SourceFactory = Callable[..., DltSource]
# Opens what a source needs while it runs (e.g. the survey API endpoint) and yields it as source kwargs.
InputsOpener = Callable[[dg.AssetExecutionContext], AbstractContextManager[dict[str, Any]]]
# The family's pipeline loading through an open warehouse connection.
RunPipelineFactory = Callable[[duckdb.DuckDBPyConnection], SupportsPipeline]


def build_ingest_assets(
    family: str,
    make_source: SourceFactory,
    pipeline: SupportsPipeline,
    make_run_pipeline: RunPipelineFactory,
    open_inputs: InputsOpener | None = None,
    required_resource_keys: set[str] | None = None,
    template_inputs: dict[str, Any] | None = None,
) -> dg.AssetsDefinition:
    """`pipeline` (writing to the warehouse file) declares the assets; `make_run_pipeline` is the same pipeline
    on the run's held connection. `template_inputs` stand in for the opened inputs when the source is only
    inspected for its resources."""
    translator = RawTableTranslator()
    template_source = make_source(None, None, True, "definition", **(template_inputs or {}))
    resource_specs = build_dlt_asset_specs(dlt_source=template_source, dlt_pipeline=pipeline, dagster_dlt_translator=translator)
    side_specs = [
        dg.AssetSpec(
            key=raw_asset_key(family, table),
            group_name=INGEST_GROUP,
            kinds={"dlt", "duckdb"},
            description=f"Side table of the {family} load: {'rejected records with reasons' if table == 'quarantine' else 'records seen/loaded/quarantined/deduplicated per file'}.",
        )
        for table in SIDE_TABLES
    ]

    @dg.multi_asset(
        name=f"{INGEST_STEP_PREFIX}{family}",
        specs=[*resource_specs, *side_specs],
        partitions_def=daily_partitions,
        backfill_policy=single_run,
        pool=WAREHOUSE_WRITER_POOL,
        required_resource_keys={"dlt", "warehouse", *(required_resource_keys or set())},
    )
    def _ingest(context: dg.AssetExecutionContext):
        window = context.partition_time_window
        dlt_resource: DagsterDltResource = context.resources.dlt
        warehouse: WarehouseResource = context.resources.warehouse
        run_pipeline = make_run_pipeline(warehouse.hold())
        settings = load_settings()
        with warehouse.cursor() as cursor:
            if problem := check_and_record_salt(cursor, str(settings.warehouse), settings.pii_salt, settings.pii_salt_is_demo):
                raise dg.Failure(description=f"{family}: {problem}")
            first_load = not has_loaded_records(cursor, run_pipeline.dataset_name)
        carries_history = is_history_window(window) or first_load
        if carries_history:
            context.log.info(f"{family}: first load into {run_pipeline.dataset_name}: it carries everything before {window.end}")
        # The inputs (the demo's survey server) close before the step yields anything: a step suspended at a yield
        # inside this block, and never resumed because Dagster failed it while storing an output, closed them only
        # when its generator was collected, at interpreter exit, where stopping a server thread hangs forever.
        try:
            with (open_inputs or (lambda _: nullcontext({})))(context) as inputs:
                source = make_source(window.start, window.end, carries_history, context.run.run_id, **inputs)
                events = list(dlt_resource.run(
                    context=context, dlt_source=source, dlt_pipeline=run_pipeline, dagster_dlt_translator=translator
                ))
        except Exception:
            if first_load:
                declare_tables_after_failed_first_load(context, family, run_pipeline)
            raise
        for event in events:
            yield with_rows_loaded(event)
        row_counts = run_pipeline.last_trace.last_normalize_info.row_counts if run_pipeline.last_trace else {}
        rows = sum(row_counts.values())
        if rows >= LARGE_STEP_ROWS:
            warehouse.release()  # a large load leaves DuckDB's buffer pool full: give it back with the rest
        release_memory_after(rows)
        for table in SIDE_TABLES:
            yield dg.MaterializeResult(
                asset_key=raw_asset_key(family, table),
                metadata={"rows_loaded": dg.MetadataValue.int(row_counts.get(table, 0))},
            )

    return _ingest


def with_rows_loaded(event):
    """dagster-dlt leaves `rows_loaded` out when it is 0; later steps read "nothing new" from it, so it is always set."""
    if isinstance(event, dg.MaterializeResult) and "rows_loaded" not in (event.metadata or {}):
        return event._replace(metadata={**(event.metadata or {}), "rows_loaded": dg.MetadataValue.int(0)})
    return event


def has_loaded_records(cursor: duckdb.DuckDBPyConnection, dataset: str) -> bool:
    """Whether a load of `dataset` that dlt recorded as complete saw any record (wrote `load_stats`).

    Until one did, each load carries the whole history. A load that only declared the tables (after a
    failed first load) or found nothing to read is complete without having read the history.
    Asked on the run's held warehouse connection: through the pipeline's SQL client, which resolves
    dlt's configuration first, it took ~25 ms a family (under the profiler).
    """
    schema = quoted_identifier(dataset)
    try:
        (completed,) = cursor.execute(f"select count(*) from {completed_load_stats(schema)}").fetchone()
    except duckdb.CatalogException:  # no dataset, load_stats or _dlt_loads table yet: nothing was ever loaded
        return False
    return completed > 0


def declare_tables_after_failed_first_load(context: dg.AssetExecutionContext, family: str,
                                           run_pipeline: SupportsPipeline) -> None:
    """Create the family's tables, empty, so the other channels' staging builds (ingestion.pipeline.declaration_source).

    Best effort: the step fails with the load's own error either way; when the warehouse itself is the
    problem this load fails too, and that is only logged."""
    try:
        run_pipeline.run(declaration_source(family, context.run.run_id))
    except Exception as error:  # noqa: BLE001 - the first load's error is the one to report
        context.log.warning(f"{family}: its tables could not be declared after its first load failed: {error}")
    else:
        context.log.warning(f"{family}: its first load failed; its tables were created empty so that the other "
                            "channels build. Fix the cause: its next load reads the whole history.")
