"""Survey platform (调研) responses through its REST API → ``raw_survey.responses``.

dlt's ``rest_api`` does the paging (``page_number`` with ``total_pages``) and the API key header;
``since``/``until`` come from the window and the ``updated_at`` cursor kept in resource state.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Iterator

import dlt
from dlt.sources.rest_api import RESTAPIConfig, rest_api_resources

from ingestion.common import SHANGHAI, CursorRange, Window, default_run_id
from ingestion.cursor_units import run_cursor_unit
from ingestion.records import RawRecord, TableSpec, Unit

RESPONSES_PATH = "/api/v1/responses"
RESPONSES = TableSpec(
    source="survey",
    table="responses",
    primary_key=("response_id",),
    columns={
        "response_id": "text",
        "survey_id": "text",
        "customer_id": "text",
        "touchpoint": "text",
        "nps": "integer",
        "csat": "integer",
        "verbatim": "text",
        "submitted_at": "timestamp",
        "updated_at": "timestamp",
        "dealer_code": "text",
    },
    required=("response_id", "customer_id", "touchpoint", "submitted_at", "updated_at"),
    order_by="updated_at",
    future_checked=("submitted_at", "updated_at"),
    future_anchor="updated_at",
)


def _api_time(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).isoformat(timespec="seconds")


def responses_config(base_url: str, api_key: str, planned: CursorRange, page_size: int) -> RESTAPIConfig:
    """The rest_api configuration of one request range."""
    params: dict = {"since": _api_time(planned.since), "page_size": page_size}
    if planned.until is not None:
        params["until"] = _api_time(planned.until)
    return {
        "client": {
            "base_url": base_url.rstrip("/") + "/",
            "auth": {"type": "api_key", "name": "X-API-Key", "api_key": api_key, "location": "header"},
        },
        "resources": [
            {
                "name": RESPONSES.table,
                "endpoint": {
                    "path": RESPONSES_PATH.lstrip("/"),
                    "params": params,
                    "data_selector": "data",
                    "paginator": {
                        "type": "page_number",
                        "base_page": 1,
                        "page_param": "page",
                        "total_path": "total_pages",
                    },
                },
            }
        ],
    }


TABLES = [RESPONSES]


@dlt.source(name="survey")
def survey_source(
    base_url: str = dlt.config.value,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
    pii_salt: str = dlt.secrets.value,
    run_id: str | None = None,
    is_history_window: bool = False,
    api_key: str = dlt.secrets.value,
    page_size: int = 500,
):
    """Responses updated in the window; the key comes from the argument or ``sources.survey.api_key``."""
    window = Window.of(window_start, window_end, is_history_window)
    run_id = run_id or default_run_id()

    def fetch(planned: CursorRange) -> Iterator[Unit]:
        """All pages of the range as one unit, so a response met twice while paging is deduplicated."""
        responses_pages = rest_api_resources(responses_config(base_url, api_key, planned, page_size))[0]
        records = [
            RawRecord(number, record) if isinstance(record, dict) else RawRecord(number, {}, json.dumps(record, ensure_ascii=False))
            for number, record in enumerate(responses_pages, start=1)
        ]
        yield Unit.from_records(records)

    @dlt.resource(name=RESPONSES.table, **RESPONSES.resource_hints())
    def responses() -> Iterator[object]:
        yield from run_cursor_unit(RESPONSES, RESPONSES_PATH, window, fetch, pii_salt=pii_salt, run_id=run_id)

    return responses
