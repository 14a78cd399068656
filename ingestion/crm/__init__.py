"""CRM master data: customers, vehicles, service tickets, orders and products from crm.sqlite → ``raw_crm``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import dlt

from ingestion.common import Window, default_run_id
from ingestion.records import TableSpec
from ingestion.sql import sql_table_resources


def _crm_table(table: str, primary_key: tuple[str, ...], columns: dict[str, str], **extra) -> TableSpec:
    return TableSpec(
        source="crm",
        table=table,
        primary_key=primary_key,
        columns=columns,
        required=primary_key,
        order_by="updated_at",
        future_checked=("updated_at",),
        **extra,
    )


CUSTOMERS = _crm_table(
    "customers",
    ("customer_id",),
    {
        "customer_id": "text",
        "name": "text",
        "phone": "text",
        "id_card": "text",
        "gender": "text",
        "birth_year": "integer",
        "city": "text",
        "province": "text",
        "tier": "text",
        "app_user_id": "text",
        "wechat_unionid": "text",
        "created_at": "timestamp",
        "updated_at": "timestamp",
    },
    pii={"phone": "phone_hash", "id_card": "id_card_hash"},
)
VEHICLES = _crm_table(
    "vehicles",
    ("vin",),
    {
        "vin": "text",
        "customer_id": "text",
        "model": "text",
        "trim": "text",
        "software_version": "text",
        "plate": "text",
        "purchase_date": "date",
        "dealer_code": "text",
        "updated_at": "timestamp",
    },
)
SERVICE_TICKETS = _crm_table(
    "service_tickets",
    ("ticket_id",),
    {
        "ticket_id": "text",
        "customer_id": "text",
        "vin": "text",
        "channel": "text",
        "category": "text",
        "status": "text",
        "opened_at": "timestamp",
        "closed_at": "timestamp",
        "updated_at": "timestamp",
    },
)
ORDERS = _crm_table(
    "orders",
    ("order_id",),
    {
        "order_id": "text",
        "customer_id": "text",
        "dealer_code": "text",
        "model": "text",
        "trim": "text",
        "price": "double",
        "channel": "text",
        "status": "text",
        "ordered_at": "timestamp",
        "updated_at": "timestamp",
    },
)
PRODUCTS = _crm_table(
    "products",
    ("model", "trim"),
    {
        "model": "text",
        "trim": "text",
        "powertrain": "text",
        "msrp": "double",
        "launched_at": "timestamp",
        "updated_at": "timestamp",
    },
)

TABLES = [CUSTOMERS, VEHICLES, SERVICE_TICKETS, ORDERS, PRODUCTS]


@dlt.source(name="crm")
def crm_source(
    credentials: str | Path = dlt.secrets.value,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
    pii_salt: str = dlt.secrets.value,
    run_id: str | None = None,
    is_history_window: bool = False,
):
    """CRM rows updated in the window; phone and ID card arrive only as salted hashes."""
    window = Window.of(window_start, window_end, is_history_window)
    return sql_table_resources(TABLES, credentials, window, pii_salt, run_id or default_run_id())
