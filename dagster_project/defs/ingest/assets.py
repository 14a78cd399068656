"""One Dagster multi-asset per dlt source family, each loading the partition window it is given."""

from __future__ import annotations

from contextlib import contextmanager

import dagster as dg

from dagster_project.lib.ingest_assets import build_ingest_assets
from dagster_project.lib.survey_endpoint import SurveyEndpoint
from dagster_project.settings import load_settings
from ingestion.call_center import call_center_source
from ingestion.crm import crm_source
from ingestion.ops import ops_source
from ingestion.pipeline import make_pipeline
from ingestion.private_domain import private_domain_source
from ingestion.public_opinion import public_opinion_source
from ingestion.store import store_source
from ingestion.survey import survey_source

settings = load_settings()


def _pipeline(family: str):
    return make_pipeline(family, settings.warehouse, settings.dlt_dir)


def _files(source_function, folder: str):
    """A file family reads `<landing>/<folder>/` through dlt's filesystem source."""

    def make_source(window_start, window_end, is_history_window, run_id):
        return source_function(
            bucket_url=(settings.landing / folder).as_uri(),
            window_start=window_start,
            window_end=window_end,
            pii_salt=settings.pii_salt,
            run_id=run_id,
            is_history_window=is_history_window,
        )

    return make_source


def _database(source_function, relative_path: str):
    """A SQL family reads its SQLite file in the landing zone (any SQLAlchemy URL via dlt config in production)."""

    def make_source(window_start, window_end, is_history_window, run_id):
        return source_function(
            credentials=f"sqlite:///{settings.landing / relative_path}",
            window_start=window_start,
            window_end=window_end,
            pii_salt=settings.pii_salt,
            run_id=run_id,
            is_history_window=is_history_window,
        )

    return make_source


def _survey(window_start, window_end, is_history_window, run_id, base_url: str, api_key: str):
    return survey_source(
        base_url=base_url,
        api_key=api_key,
        window_start=window_start,
        window_end=window_end,
        pii_salt=settings.pii_salt,
        run_id=run_id,
        is_history_window=is_history_window,
    )


@contextmanager
def _open_survey_endpoint(context: dg.AssetExecutionContext):
    endpoint: SurveyEndpoint = context.resources.survey_endpoint
    with endpoint.open() as (base_url, api_key):
        context.log.info(f"survey API at {base_url}")
        yield {"base_url": base_url, "api_key": api_key}


ingest_call_center = build_ingest_assets("call_center", _files(call_center_source, "call_center"), _pipeline("call_center"))
ingest_private_domain = build_ingest_assets(
    "private_domain", _files(private_domain_source, "private_domain"), _pipeline("private_domain")
)
ingest_public_opinion = build_ingest_assets(
    "public_opinion", _files(public_opinion_source, "public_opinion"), _pipeline("public_opinion")
)
ingest_survey = build_ingest_assets(
    "survey",
    _survey,
    _pipeline("survey"),
    open_inputs=_open_survey_endpoint,
    required_resource_keys={"survey_endpoint"},
    template_inputs={"base_url": "http://127.0.0.1", "api_key": "unused"},
)
ingest_store = build_ingest_assets("store", _database(store_source, "store/dms.sqlite"), _pipeline("store"))
ingest_crm = build_ingest_assets("crm", _database(crm_source, "crm/crm.sqlite"), _pipeline("crm"))
ingest_ops = build_ingest_assets("ops", _database(ops_source, "ops/ops.sqlite"), _pipeline("ops"))
