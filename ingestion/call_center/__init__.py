"""Call-centre (400客服) calls: GB18030 CSV exports, one per day, into ``raw_call_center.calls``."""

from __future__ import annotations

from datetime import datetime

import dlt

from ingestion.common import Window, default_run_id
from ingestion.files import csv_reader, landing_files, landing_listing
from ingestion.records import TableSpec

CALLS = TableSpec(
    source="call_center",
    table="calls",
    primary_key=("call_id",),
    columns={
        "call_id": "text",
        "started_at": "timestamp",
        "phone": "text",
        "vin": "text",
        "ticket_id": "text",
        "queue": "text",
        "agent_id": "text",
        "duration_s": "integer",
        "asr_text": "text",
        "agent_summary": "text",
        "dealer_code": "text",
    },
    required=("call_id", "started_at", "phone", "asr_text"),
    order_by="started_at",
    future_checked=("started_at",),
    pii={"phone": "phone_hash"},
)

TABLES = [CALLS]


@dlt.source(name="call_center")
def call_center_source(
    bucket_url: str = dlt.config.value,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
    pii_salt: str = dlt.secrets.value,
    run_id: str | None = None,
    is_history_window: bool = False,
):
    """``calls_YYYY-MM-DD.csv`` files under ``bucket_url`` whose export day is in [window_start, window_end)."""
    window = Window.of(window_start, window_end, is_history_window)
    files = landing_listing(bucket_url, "calls_*.csv")
    return files | landing_files(CALLS, csv_reader("gb18030"), window, pii_salt, run_id or default_run_id())
