"""Private-domain messages (WeChat Work, app, mini-program, online chat): JSONL per day → ``raw_private_domain.messages``."""

from __future__ import annotations

from datetime import datetime

import dlt

from ingestion.common import Window, default_run_id
from ingestion.files import landing_files, landing_listing, read_jsonl
from ingestion.records import TableSpec

MESSAGES = TableSpec(
    source="private_domain",
    table="messages",
    primary_key=("message_id",),
    columns={
        "message_id": "text",
        "channel": "text",
        "sent_at": "timestamp",
        "text": "text",
        "wechat_unionid": "text",
        "app_user_id": "text",
        "customer_id": "text",
        "session_id": "text",
        "dealer_code": "text",
    },
    required=("message_id", "channel", "sent_at", "text"),
    order_by="sent_at",
    future_checked=("sent_at",),
)

TABLES = [MESSAGES]


@dlt.source(name="private_domain")
def private_domain_source(
    bucket_url: str = dlt.config.value,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
    pii_salt: str = dlt.secrets.value,
    run_id: str | None = None,
    is_history_window: bool = False,
):
    """``messages_YYYY-MM-DD*.jsonl`` files under ``bucket_url`` whose export day is in the window."""
    window = Window.of(window_start, window_end, is_history_window)
    files = landing_listing(bucket_url, "messages_*.jsonl")
    return files | landing_files(MESSAGES, read_jsonl, window, pii_salt, run_id or default_run_id())
