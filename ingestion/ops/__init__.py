"""Operations data: logistics carriers and parts shipments from ops.sqlite → ``raw_ops``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import dlt

from ingestion.common import Window, default_run_id
from ingestion.records import TableSpec
from ingestion.sql import sql_table_resources

CARRIERS = TableSpec(
    source="ops",
    table="carriers",
    primary_key=("carrier_code",),
    columns={"carrier_code": "text", "name": "text", "updated_at": "timestamp"},
    required=("carrier_code",),
    order_by="updated_at",
    future_checked=("updated_at",),
)
SHIPMENTS = TableSpec(
    source="ops",
    table="shipments",
    primary_key=("shipment_id",),
    columns={
        "shipment_id": "text",
        "dealer_code": "text",
        "region": "text",
        "carrier_code": "text",
        "part_category": "text",
        "shipped_at": "timestamp",
        "delivered_at": "timestamp",
        "damaged": "integer",
        "updated_at": "timestamp",
    },
    required=("shipment_id",),
    order_by="updated_at",
    future_checked=("updated_at",),
)

TABLES = [CARRIERS, SHIPMENTS]


@dlt.source(name="ops")
def ops_source(
    credentials: str | Path = dlt.secrets.value,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
    pii_salt: str = dlt.secrets.value,
    run_id: str | None = None,
    is_history_window: bool = False,
):
    """Carriers and shipments updated in the window (root-cause analysis crosses them with complaints)."""
    window = Window.of(window_start, window_end, is_history_window)
    return sql_table_resources(TABLES, credentials, window, pii_salt, run_id or default_run_id())
