"""The one way every source records a rejected record, and the per-file reconciliation row.

Rejected records go to table ``quarantine`` and one row per file / endpoint / table per run goes
to ``load_stats``, both appended in the source's own dataset (``raw_<family>``). Nothing a source
reads is lost: records_seen = loaded + quarantined + deduplicated is asserted before emitting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import dlt
import pyarrow as pa

from ingestion.common import mask_pii_in_text

QUARANTINE_TABLE = "quarantine"
LOAD_STATS_TABLE = "load_stats"
RAW_PAYLOAD_MAX_BYTES = 10_000


def completed_load_stats(dataset: str) -> str:
    """`from`-clause of a dataset's load_stats rows (aliased `stats`) of the loads dlt recorded as complete: a load
    killed before its end left rows in no table (it is loaded again), or rows dlt has not marked complete."""
    return (f"{dataset}.{LOAD_STATS_TABLE} as stats "
            f"join {dataset}._dlt_loads as loads on loads.load_id = stats._dlt_load_id and loads.status = 0")


REASONS = frozenset(
    {
        "malformed_line",
        "invalid_json",
        "invalid_encoding",
        "missing_required_field",
        "unparseable_timestamp",
        "future_timestamp",
        "oversized_text",
        "missing_required_column",
    }
)

QUARANTINE_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("file", pa.string()),
        ("line", pa.int64()),
        ("record_id", pa.string()),
        ("reason", pa.string()),
        ("detail", pa.string()),
        ("raw_payload", pa.string()),
        ("run_id", pa.string()),
        ("quarantined_at", pa.timestamp("us", tz="UTC")),
    ]
)

LOAD_STATS_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("file", pa.string()),
        ("run_id", pa.string()),
        ("records_seen", pa.int64()),
        ("records_quarantined", pa.int64()),
        ("records_deduplicated", pa.int64()),
        ("records_loaded", pa.int64()),
        ("loaded_at", pa.timestamp("us", tz="UTC")),
    ]
)


@dataclass(frozen=True)
class Rejection:
    """One rejected record: where it was, why, and what it looked like."""

    line: int
    reason: str
    detail: str
    raw_payload: str | bytes
    record_id: str | None = None

    def __post_init__(self) -> None:
        if self.reason not in REASONS:
            raise ValueError(f"unknown quarantine reason {self.reason!r}")


def _payload_text(raw: str | bytes) -> str:
    """Raw line as text (bad bytes replaced), PII numbers masked, cut to 10 kB of UTF-8."""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    encoded = text.encode("utf-8")
    if len(encoded) > RAW_PAYLOAD_MAX_BYTES:
        text = encoded[:RAW_PAYLOAD_MAX_BYTES].decode("utf-8", errors="ignore")
    return mask_pii_in_text(text)


def quarantine_item(rejections: list[Rejection], *, source: str, file: str, run_id: str):
    """Rejected records of one file as an Arrow item dispatched (append) to table ``quarantine``."""
    now = datetime.now(timezone.utc)
    table = pa.Table.from_pydict(
        {
            "source": [source] * len(rejections),
            "file": [file] * len(rejections),
            "line": [r.line for r in rejections],
            "record_id": [r.record_id for r in rejections],
            "reason": [r.reason for r in rejections],
            "detail": [r.detail for r in rejections],
            "raw_payload": [_payload_text(r.raw_payload) for r in rejections],
            "run_id": [run_id] * len(rejections),
            "quarantined_at": [now] * len(rejections),
        },
        schema=QUARANTINE_SCHEMA,
    )
    return _to_appended_table(table, QUARANTINE_TABLE)


@dataclass(frozen=True)
class LoadStats:
    """Reconciliation of one file / endpoint / table in one run."""

    source: str
    file: str
    run_id: str
    records_seen: int
    records_quarantined: int
    records_deduplicated: int
    records_loaded: int

    def __post_init__(self) -> None:
        accounted = self.records_loaded + self.records_quarantined + self.records_deduplicated
        assert self.records_seen == accounted, (
            f"{self.source}/{self.file}: seen {self.records_seen} != loaded {self.records_loaded}"
            f" + quarantined {self.records_quarantined} + deduplicated {self.records_deduplicated}"
        )


def load_stats_item(stats: LoadStats):
    """One reconciliation row as an Arrow item dispatched (append) to table ``load_stats``."""
    table = pa.Table.from_pylist(
        [{**stats.__dict__, "loaded_at": datetime.now(timezone.utc)}], schema=LOAD_STATS_SCHEMA
    )
    return _to_appended_table(table, LOAD_STATS_TABLE)


def _to_appended_table(table: pa.Table, table_name: str):
    hints = dlt.mark.make_hints(table_name=table_name, write_disposition="append", primary_key=[])
    return dlt.mark.with_hints(table, hints, create_table_variant=True)
