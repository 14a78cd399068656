"""One Dagster multi-asset per dlt source family, each loading the partition window it is given.

Which source reads which part of the landing zone is decided once, in ingestion.pipeline.family_source.
"""

from contextlib import contextmanager
from functools import partial

import dagster as dg

from dagster_project.lib.ingest_assets import build_ingest_assets
from dagster_project.lib.survey_endpoint import SurveyEndpoint
from dagster_project.settings import load_settings
from ingestion import FAMILIES
from ingestion.pipeline import family_source, make_pipeline

settings = load_settings()


def _make_source(family: str, window_start, window_end, is_history_window, run_id, **endpoint):
    # The settings of the run, not of the definitions' import: the salt hashed with is the salt the ingest
    # step checked against the warehouse (lib/ingest_assets.py).
    run_settings = load_settings()
    return family_source(
        family,
        run_settings.landing,
        window_start=window_start,
        window_end=window_end,
        pii_salt=run_settings.pii_salt,
        run_id=run_id,
        is_history_window=is_history_window,
        **endpoint,
    )


@contextmanager
def _open_survey_endpoint(context: dg.AssetExecutionContext):
    endpoint: SurveyEndpoint = context.resources.survey_endpoint
    with endpoint.open() as (base_url, api_key):
        context.log.info(f"survey API at {base_url}")
        yield {"survey_url": base_url, "survey_api_key": api_key}


def _ingest_assets(family: str) -> dg.AssetsDefinition:
    pipeline = make_pipeline(family, settings.warehouse, settings.dlt_dir, memory_limit=settings.duckdb_memory_limit)
    run_pipeline = partial(make_pipeline, family, pipelines_dir=settings.dlt_dir)
    if family != "survey":
        return build_ingest_assets(family, partial(_make_source, family), pipeline, run_pipeline)
    return build_ingest_assets(
        family,
        partial(_make_source, family),
        pipeline,
        run_pipeline,
        open_inputs=_open_survey_endpoint,
        required_resource_keys={"survey_endpoint"},
        template_inputs={"survey_url": "http://127.0.0.1", "survey_api_key": "unused"},
    )


ingest_assets = [_ingest_assets(family) for family in FAMILIES]
