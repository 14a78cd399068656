"""Public opinion (Weibo, Douyin, Xiaohongshu, Autohome …) posts from the listening vendor's JSONL feed → ``raw_public_opinion.posts``."""

from __future__ import annotations

from datetime import datetime

import dlt

from ingestion.common import Window, default_run_id
from ingestion.files import landing_files, landing_listing, read_jsonl
from ingestion.records import TableSpec

POSTS = TableSpec(
    source="public_opinion",
    table="posts",
    primary_key=("post_id",),
    columns={
        "post_id": "text",
        "platform": "text",
        "handle": "text",
        "published_at": "timestamp",
        "text": "text",
        "nickname": "text",
        "title": "text",
        "likes": "integer",
        "reposts": "integer",
        "comments": "integer",
        "ip_city": "text",
        "url": "text",
    },
    required=("post_id", "platform", "handle", "published_at", "text"),
    order_by="published_at",
    future_checked=("published_at",),
)

TABLES = [POSTS]


@dlt.source(name="public_opinion")
def public_opinion_source(
    bucket_url: str = dlt.config.value,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
    pii_salt: str = dlt.secrets.value,
    run_id: str | None = None,
    is_history_window: bool = False,
):
    """``posts_YYYY-MM-DD*.jsonl`` files (supplements included) under ``bucket_url`` whose export day is in the window."""
    window = Window.of(window_start, window_end, is_history_window)
    files = landing_listing(bucket_url, "posts_*.jsonl")
    return files | landing_files(POSTS, read_jsonl, window, pii_salt, run_id or default_run_id())
