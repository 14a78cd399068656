"""Validation of one unit (file, endpoint result or table) into an Arrow table, quarantine and stats.

Every source turns what it read into (line, record dict, raw text) triples plus the rejections its
reader already made (bad encoding, broken JSON, malformed CSV); ``validated_items`` does the rest
the same way for all of them, so a reason code means the same thing in every dataset.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterator

import dlt
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.common import (
    CONTROL_CHARS,
    OVERSIZED_TEXT_BYTES,
    SHANGHAI,
    export_day_future_limit,
    hash_pii,
    parse_date,
    parse_timestamp,
)
from ingestion.quarantine import LoadStats, Rejection, load_stats_item, quarantine_item

ARROW_TYPES = {
    "text": pa.string(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "date": pa.date32(),
    "integer": pa.int64(),
    "double": pa.float64(),
}
LINEAGE_COLUMNS = ("_voc_run_id", "_voc_source_file", "_voc_line")
MERGE = {"disposition": "merge", "strategy": "delete-insert"}
MIN_RECORDS_TO_INFER_A_MISSING_COLUMN = 2
"""Without a header, a key absent from a lone record says nothing about the file's columns."""


@dataclass(frozen=True)
class TableSpec:
    """What a raw table must look like: its contract columns, keys and checks."""

    source: str
    table: str
    primary_key: tuple[str, ...]
    columns: dict[str, str]
    required: tuple[str, ...]
    order_by: str
    """Time column deciding which of two records with one key wins (the later one)."""
    future_checked: tuple[str, ...] = ()
    future_anchor: str | None = None
    """If set, a checked time is also future when later than this column's local day end + 1 day."""
    pii: dict[str, str] = field(default_factory=dict)
    """Raw PII column → the column holding its salted hash (the raw value is dropped)."""

    def output_types(self) -> dict[str, str]:
        """Loaded column → type: contract columns with each PII column replaced by its hash."""
        return {self.pii.get(name, name): "text" if name in self.pii else kind for name, kind in self.columns.items()}

    def resource_hints(self) -> dict:
        """Hints of the resource itself, so the merge and its key are visible to whoever wraps it (Dagster)."""
        return {"write_disposition": MERGE, "primary_key": list(self.primary_key)}

    def table_hints(self):
        """Hints of the loaded table: merge on the contract key; across files the later file wins.

        They travel with each item as a table variant, so the resource's quarantine and load_stats
        tables (appended) do not inherit the key or the columns.
        """
        columns = {name: {"data_type": _DLT_TYPES[kind]} for name, kind in self.output_types().items()}
        columns["_voc_source_file"] = {"data_type": "text", "dedup_sort": "desc"}
        return dlt.mark.make_hints(
            table_name=self.table,
            write_disposition=MERGE,
            primary_key=list(self.primary_key),
            columns=columns,
        )


_DLT_TYPES = {"text": "text", "timestamp": "timestamp", "date": "date", "integer": "bigint", "double": "double"}


@dataclass
class RawRecord:
    """A record as read: 1-based line (or record number), its fields, and its raw text for quarantine."""

    line: int
    fields: dict
    raw: str | bytes | None = None
    """None: serialise the fields only if the record is rejected (SQL and API rows)."""

    def payload(self) -> str | bytes:
        if self.raw is not None:
            return self.raw
        return json.dumps(self.fields, ensure_ascii=False, default=str)


class _Rejected(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _as_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _as_integer(value: object) -> int | None:
    """Lenient: an optional number that is not one becomes NULL (the contract has no reason for it)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    try:
        return int(str(value).strip())
    except ValueError:
        try:
            number = float(str(value).strip())
        except ValueError:
            return None
        return int(number) if number.is_integer() else None


def _as_double(value: object) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def _clean_record(fields: dict, spec: TableSpec, future_limit: datetime, salt: str) -> dict:
    """Typed copy of one record, or _Rejected with the contract reason (control characters go later, per column)."""
    for name in spec.required:
        value = fields.get(name)
        if _is_missing(value) or isinstance(value, (dict, list)):
            raise _Rejected("missing_required_field", f"required field '{name}' is missing or empty")
    clean: dict = {}
    kinds = spec.columns
    for name, value in fields.items():
        if value is None or (value.__class__ is str and not value.strip()):
            clean[name] = None
            continue
        kind = kinds.get(name, "text")
        if kind == "text":
            text = value if value.__class__ is str else _as_text(value)
            if len(text) * 4 >= OVERSIZED_TEXT_BYTES and len(text.encode("utf-8")) >= OVERSIZED_TEXT_BYTES:
                size = len(text.encode("utf-8"))
                raise _Rejected("oversized_text", f"{name} has {size} bytes (limit {OVERSIZED_TEXT_BYTES})")
            clean[name] = text
        elif kind == "timestamp":
            try:
                parsed = parse_timestamp(value)
            except (ValueError, TypeError, OverflowError):
                raise _Rejected("unparseable_timestamp", f"{name}={value!r} is not a timestamp") from None
            clean[name] = parsed
        elif kind == "date":
            try:
                clean[name] = parse_date(value)
            except (ValueError, TypeError, OverflowError):
                raise _Rejected("unparseable_timestamp", f"{name}={value!r} is not a date") from None
        elif kind == "integer":
            clean[name] = _as_integer(value)
        else:
            clean[name] = _as_double(value)
    _reject_future(clean, fields, spec, future_limit)
    for raw_name, hash_name in spec.pii.items():
        clean[hash_name] = hash_pii(clean.pop(raw_name, None), salt)
    return clean


def _reject_future(clean: dict, fields: dict, spec: TableSpec, future_limit: datetime) -> None:
    anchor = clean.get(spec.future_anchor) if spec.future_anchor else None
    if anchor is not None:
        future_limit = min(future_limit, export_day_future_limit(anchor.astimezone(SHANGHAI).date()))
    for name in spec.future_checked:
        moment = clean.get(name)
        if moment is not None and moment > future_limit:
            raise _Rejected("future_timestamp", f"{name}={fields.get(name)} is later than {future_limit.isoformat()}")


def _record_id(fields: dict, spec: TableSpec) -> str | None:
    values = [fields.get(key) for key in spec.primary_key]
    if any(_is_missing(v) for v in values):
        return None
    return "|".join(_as_text(v) for v in values)


def _latest_per_key(records: list[tuple[int, dict]], spec: TableSpec) -> list[tuple[int, dict]]:
    """One record per primary key: the later by ``order_by`` time, then by line."""
    def rank(line: int, clean: dict) -> tuple:
        moment = clean.get(spec.order_by)
        return (moment is not None, moment or 0, line)

    best: dict[tuple, tuple[int, dict]] = {}
    for line, clean in records:
        key = tuple(clean.get(k) for k in spec.primary_key)
        current = best.get(key)
        if current is None or rank(line, clean) >= rank(*current):
            best[key] = (line, clean)
    return sorted(best.values(), key=lambda item: item[0])


def _column(values: list, kind: str, is_hash: bool) -> pa.Array:
    """One Arrow column; text loses its control characters here, in one vectorized pass."""
    array = pa.array(values, type=ARROW_TYPES[kind])
    if kind == "text" and not is_hash:
        array = pc.replace_substring_regex(array, pattern=CONTROL_CHARS, replacement="")
    return array


def _arrow_table(rows: list[tuple[int, dict]], spec: TableSpec, unit: str, run_id: str) -> pa.Table:
    types = spec.output_types()
    for _, clean in rows:
        for name in clean:
            if name not in types:
                types[name] = "text"  # an unknown column is kept as text: schema evolves, types stay stable
    arrays = [_column([clean.get(name) for _, clean in rows], kind, name in spec.pii.values()) for name, kind in types.items()]
    fields = [pa.field(name, ARROW_TYPES[kind], nullable=name not in spec.primary_key) for name, kind in types.items()]
    arrays += [
        pa.array([run_id] * len(rows), type=pa.string()),
        pa.array([unit] * len(rows), type=pa.string()),
        pa.array([line for line, _ in rows], type=pa.int64()),
    ]
    fields += [pa.field(name, ARROW_TYPES[kind]) for name, kind in zip(LINEAGE_COLUMNS, ("text", "text", "integer"))]
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _missing_columns(spec: TableSpec, records: list[RawRecord], declared_columns: list[str] | None) -> list[str]:
    if declared_columns is not None:
        present = set(declared_columns)
    elif len(records) >= MIN_RECORDS_TO_INFER_A_MISSING_COLUMN:
        present = set().union(*(record.fields for record in records))
    else:
        return []
    return [name for name in spec.required if name not in present]


def validated_items(
    spec: TableSpec,
    unit: str,
    records: list[RawRecord],
    reader_rejections: list[Rejection],
    *,
    future_limit: datetime,
    salt: str,
    run_id: str,
    declared_columns: list[str] | None = None,
) -> Iterator[object]:
    """Yield the unit's loadable Arrow table, its quarantine rows and its load_stats row.

    A required column missing from the unit (from its header, or from every record of a headerless
    file) quarantines every record as ``missing_required_column``; other units still load.
    """
    rejections = list(reader_rejections)
    absent = _missing_columns(spec, records, declared_columns)
    good: list[tuple[int, dict]] = []
    if records and absent:
        detail = f"file '{unit}' has no column '{absent[0]}'"
        rejections += [
            Rejection(r.line, "missing_required_column", detail, r.payload(), _record_id(r.fields, spec)) for r in records
        ]
    else:
        for record in records:
            try:
                good.append((record.line, _clean_record(record.fields, spec, future_limit, salt)))
            except _Rejected as rejected:
                rejections.append(
                    Rejection(
                        record.line, rejected.reason, rejected.detail, record.payload(), _record_id(record.fields, spec)
                    )
                )
    kept = _latest_per_key(good, spec)
    stats = LoadStats(
        source=spec.source,
        file=unit,
        run_id=run_id,
        records_seen=len(records) + len(reader_rejections),
        records_quarantined=len(rejections),
        records_deduplicated=len(good) - len(kept),
        records_loaded=len(kept),
    )
    if kept:
        yield dlt.mark.with_hints(_arrow_table(kept, spec, unit, run_id), spec.table_hints(), create_table_variant=True)
    if rejections:
        rejections.sort(key=lambda r: r.line)
        yield quarantine_item(rejections, source=spec.source, file=unit, run_id=run_id)
    yield load_stats_item(stats)
