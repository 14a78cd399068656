"""Dealer management system (店端): dealers and store visits from dms.sqlite → ``raw_store``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import dlt

from ingestion.common import Window, default_run_id
from ingestion.records import TableSpec
from ingestion.sql import sql_table_resources

DEALERS = TableSpec(
    source="store",
    table="dealers",
    primary_key=("dealer_code",),
    columns={
        "dealer_code": "text",
        "name": "text",
        "city": "text",
        "province": "text",
        "region": "text",
        "opened_at": "timestamp",
        "updated_at": "timestamp",
    },
    required=("dealer_code",),
    order_by="updated_at",
    future_checked=("updated_at",),
)

STORE_VISITS = TableSpec(
    source="store",
    table="store_visits",
    primary_key=("visit_id",),
    columns={
        "visit_id": "text",
        "dealer_code": "text",
        "customer_id": "text",
        "phone": "text",
        "vin": "text",
        "visit_type": "text",
        "visited_at": "timestamp",
        "advisor_note": "text",
        "rating": "integer",
        "updated_at": "timestamp",
    },
    required=("visit_id", "dealer_code", "visited_at"),
    order_by="updated_at",
    future_checked=("updated_at",),
    pii={"phone": "phone_hash"},
)

TABLES = [DEALERS, STORE_VISITS]


@dlt.source(name="store")
def store_source(
    credentials: str | Path = dlt.secrets.value,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
    pii_salt: str = dlt.secrets.value,
    run_id: str | None = None,
    is_history_window: bool = False,
):
    """Rows of ``dealers`` and ``store_visits`` updated in the window; ``credentials`` is a SQLite path or any SQLAlchemy URL."""
    window = Window.of(window_start, window_end, is_history_window)
    return sql_table_resources(TABLES, credentials, window, pii_salt, run_id or default_run_id())
