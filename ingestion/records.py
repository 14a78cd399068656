"""Validation of one unit (file, endpoint result or table) into an Arrow table, quarantine and stats.

Every source hands over its records column-wise (``Unit``) plus the rejections its reader already
made (bad encoding, broken JSON, malformed CSV); ``validate`` does the rest the same way for all of
them, so a reason code means the same thing in every dataset.

Two paths, one set of rules: Arrow compute types and checks every column at once and flags any row
that might break a rule; only flagged rows go through ``_clean_record``, the per-record reference
that decides the reason (or finds the row fine after all, e.g. a timestamp with fractions).
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
    hash_pii_column,
    parse_date,
    parse_timestamp,
    strip_control_chars,
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
    number = _any_integer(value)
    return number if number is not None and -(2**63) <= number < 2**63 else None


def _any_integer(value: object) -> int | None:
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
    """Typed, control-character-free copy of one record, or _Rejected with the contract reason."""
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
            clean[name] = strip_control_chars(text)
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


@dataclass
class Unit:
    """The records of one file, endpoint result or table batch, column by column.

    ``columns`` holds Python lists (parsed JSON / CSV) or Arrow arrays (SQL); ``records`` keeps
    the source's own dicts and raw lines when there are some, for the per-record path.
    """

    lines: list[int]
    columns: dict[str, list | pa.Array]
    records: list[RawRecord] | None = None
    raws: list[str | bytes] | None = None
    """Raw lines for quarantine when there are no ``records`` (CSV)."""

    @classmethod
    def from_records(cls, records: list[RawRecord]) -> "Unit":
        names: dict[str, None] = {}
        for record in records:
            names.update(dict.fromkeys(record.fields))
        columns = {name: [record.fields.get(name) for record in records] for name in names}
        return cls([record.line for record in records], columns, records)

    @classmethod
    def from_arrow(cls, table: pa.Table, lines: list[int]) -> "Unit":
        return cls(lines, {name: table.column(name).combine_chunks() for name in table.column_names})

    def __len__(self) -> int:
        return len(self.lines)

    def record(self, row: int) -> RawRecord:
        if self.records is not None:
            return self.records[row]
        fields = {name: (values[row] if isinstance(values, list) else values[row].as_py()) for name, values in self.columns.items()}
        return RawRecord(self.lines[row], fields, self.raws[row] if self.raws is not None else None)

    def take(self, rows: list[int]) -> "Unit":
        columns = {
            name: [values[i] for i in rows] if isinstance(values, list) else values.take(pa.array(rows, pa.int64()))
            for name, values in self.columns.items()
        }
        records = [self.records[i] for i in rows] if self.records is not None else None
        raws = [self.raws[i] for i in rows] if self.raws is not None else None
        return Unit([self.lines[i] for i in rows], columns, records, raws)


@dataclass
class Validated:
    """The outcome of one unit: rows to merge, rejected records, and how many duplicates were dropped."""

    table: pa.Table | None
    rejections: list[Rejection]
    deduplicated: int

    @property
    def loaded(self) -> int:
        return self.table.num_rows if self.table is not None else 0


def _to_arrow(values: list | pa.Array, kind: str) -> tuple[pa.Array, list[int]]:
    """Column as Arrow of the kind's input type (text for times), and rows whose value did not fit."""
    target = pa.string() if kind in ("text", "timestamp", "date") else ARROW_TYPES[kind]
    if isinstance(values, pa.Array):
        if values.type == target or (kind == "timestamp" and pa.types.is_timestamp(values.type)):
            return values, []
        try:
            return values.cast(target), []
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            values = values.to_pylist()
    try:
        return pa.array(values, type=target), []
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        pass
    if kind in ("integer", "double"):  # numbers written as text (CSV): one vectorized cast if they all are
        try:
            return pc.utf8_trim_whitespace(pa.array(values, type=pa.string())).cast(target), []
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            pass
    if kind == "integer":
        return pa.array([None if v is None else _as_integer(v) for v in values], type=target), []
    if kind == "double":
        return pa.array([None if v is None else _as_double(v) for v in values], type=target), []
    odd = [i for i, v in enumerate(values) if v is not None and not isinstance(v, str)]
    if kind == "text":  # numbers or nested JSON in a text field: flagged, the per-record path decides
        return pa.array([v if isinstance(v, str) or v is None else _as_text(v) for v in values], type=target), odd
    return pa.array([v if isinstance(v, str) else None for v in values], type=target), odd


_WALL_FORMAT = "%Y-%m-%d %H:%M:%S"
_WITH_OFFSET = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$"
_LOCAL = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}$"
_DATE = r"^\d{4}-\d{2}-\d{2}$"


def _strict_strptime(text: pa.Array, shape: str, fmt: str) -> pa.Array:
    """strptime that, like Python, refuses what Arrow would roll over (2026-02-30, 10:00:60) or misread."""
    parsed = pc.strptime(text, format=fmt, unit="s", error_is_null=True)  # unit s: strftime's %S has no fraction
    exact = pc.and_(pc.match_substring_regex(text, shape), pc.equal(pc.strftime(parsed, format=fmt), text))
    return pc.if_else(pc.fill_null(exact, False), parsed, pa.scalar(None, parsed.type)).cast(pa.timestamp("us"))


def _parse_times(text: pa.Array) -> pa.Array:
    """ISO-8601 with ±HH:MM, or local Shanghai wall time; anything else stays null for the Python path."""
    if pa.types.is_timestamp(text.type):
        if text.type.tz is None:
            text = pc.assume_timezone(text, "Asia/Shanghai")
        return text.cast(ARROW_TYPES["timestamp"])
    wall_text = pc.replace_substring(pc.utf8_slice_codeunits(text, 0, 19), "T", " ")
    shaped = pc.if_else(
        pc.fill_null(pc.or_(pc.match_substring_regex(text, _WITH_OFFSET), pc.match_substring_regex(text, _LOCAL)), False),
        wall_text,
        pa.scalar(None, pa.string()),
    )
    wall = _strict_strptime(shaped, r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$", _WALL_FORMAT)
    with_offset = pc.strptime(text, format="%Y-%m-%dT%H:%M:%S%z", unit="us", error_is_null=True)
    with_offset = pc.if_else(pc.fill_null(pc.match_substring_regex(text, _WITH_OFFSET), False), with_offset, pa.scalar(None, with_offset.type))
    local = pc.assume_timezone(wall, "Asia/Shanghai", ambiguous="earliest", nonexistent="earliest").cast(ARROW_TYPES["timestamp"])
    local = pc.if_else(pc.fill_null(pc.match_substring_regex(text, _LOCAL), False), local, pa.scalar(None, local.type))
    return pc.if_else(pc.is_valid(wall), pc.coalesce(with_offset, local), pa.scalar(None, local.type))


def parse_time_column(values: list | pa.Array) -> pa.Array:
    """A column of timestamps as UTC, null where a value is not one (fast formats, then Python)."""
    text, _ = _to_arrow(values, "timestamp")
    parsed = _parse_times(text)
    missed = pc.indices_nonzero(pc.and_(pc.is_valid(text), pc.is_null(parsed))).to_pylist()
    if not missed:
        return parsed
    moments = parsed.to_pylist()
    for row in missed:
        try:
            moments[row] = parse_timestamp(text[row].as_py())
        except (ValueError, TypeError, OverflowError):
            pass
    return pa.array(moments, ARROW_TYPES["timestamp"])


def record_id_column(spec: TableSpec, unit: Unit) -> pa.Array:
    """The primary key as text (``a|b`` for a composite key), as quarantine rows and cursors name records."""
    parts = [
        _to_arrow(unit.columns[key], "text")[0] if key in unit.columns else pa.nulls(len(unit), pa.string())
        for key in spec.primary_key
    ]
    return parts[0] if len(parts) == 1 else pc.binary_join_element_wise(*parts, "|")


def _fast_columns(spec: TableSpec, unit: Unit, future_limit: datetime) -> tuple[dict[str, pa.Array], pa.Array]:
    """Every column typed at once, and a mask of rows that may break a rule (for ``_clean_record``)."""
    flagged = [False] * len(unit)
    suspicious: list[pa.Array] = []
    typed: dict[str, pa.Array] = {}
    for name, values in unit.columns.items():
        kind = spec.columns.get(name, "text")
        array, odd = _to_arrow(values, kind)
        for row in odd:
            flagged[row] = True
        if pa.types.is_string(array.type):
            array = pc.if_else(pc.equal(pc.utf8_trim_whitespace(array), ""), pa.scalar(None, pa.string()), array)
        if kind == "text":
            suspicious.append(pc.greater_equal(pc.binary_length(array), OVERSIZED_TEXT_BYTES))
            array = pc.replace_substring_regex(array, pattern=CONTROL_CHARS, replacement="")
        elif kind == "timestamp":
            parsed = _parse_times(array)
            suspicious.append(pc.and_(pc.is_valid(array), pc.is_null(parsed)))
            array = parsed
        elif kind == "date":
            parsed = _strict_strptime(array, _DATE, "%Y-%m-%d").cast(pa.date32())
            suspicious.append(pc.and_(pc.is_valid(array), pc.is_null(parsed)))
            array = parsed
        typed[name] = array
    for name in spec.required:
        if name not in typed:  # no record has it (and too few records to call it a missing column)
            return typed, pa.array([True] * len(unit), pa.bool_())
        suspicious.append(pc.is_null(typed[name]))
    limit = pa.scalar(future_limit, ARROW_TYPES["timestamp"])
    for name in spec.future_checked:
        if name in typed:
            suspicious.append(pc.greater(typed[name], limit))
            if spec.future_anchor in typed:
                suspicious.append(pc.greater(typed[name], typed[spec.future_anchor]))
    mask = pa.array(flagged, pa.bool_())
    for condition in suspicious:
        mask = pc.or_(mask, pc.fill_null(condition, False))
    return typed, mask


def _fast_table(spec: TableSpec, typed: dict[str, pa.Array], keep: pa.Array, lines: pa.Array, salt: str) -> pa.Table:
    """The unflagged rows in the output layout (PII hashed, contract columns first)."""
    columns = {name: array.filter(keep) for name, array in typed.items()}
    rows = int(pc.sum(keep).as_py() or 0)
    for raw_name, hash_name in spec.pii.items():
        raw = columns.pop(raw_name, None)
        columns[hash_name] = hash_pii_column(raw, salt) if raw is not None else pa.nulls(rows, pa.string())
    columns["_voc_line"] = lines.filter(keep)
    return pa.table(columns)


def _layout(table: pa.Table, spec: TableSpec, unit: str, run_id: str) -> pa.Table:
    """Contract columns (typed, keys not null) first, then extra columns as text, then lineage."""
    types = spec.output_types()
    for name in table.column_names:
        if name not in types and name != "_voc_line":
            types[name] = "text"  # an unknown column is kept as text: schema evolves, types stay stable
    rows = table.num_rows
    arrays, fields = [], []
    for name, kind in types.items():
        arrays.append(table.column(name).cast(ARROW_TYPES[kind]) if name in table.column_names else pa.nulls(rows, ARROW_TYPES[kind]))
        fields.append(pa.field(name, ARROW_TYPES[kind], nullable=name not in spec.primary_key))
    arrays += [pa.array([run_id] * rows, pa.string()), pa.array([unit] * rows, pa.string()), table.column("_voc_line")]
    fields += [pa.field(name, ARROW_TYPES[kind]) for name, kind in zip(LINEAGE_COLUMNS, ("text", "text", "integer"))]
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _latest_per_key(table: pa.Table, spec: TableSpec) -> pa.Table:
    """One row per primary key: the later by ``order_by`` time, then by line; kept in line order."""
    if table.num_rows < 2:
        return table
    ranked = table.take(
        pc.sort_indices(table, sort_keys=[(spec.order_by, "ascending", "at_start"), ("_voc_line", "ascending", "at_start")])
    )
    ranked = ranked.append_column("_rank", pa.array(range(ranked.num_rows), pa.int64()))
    winners = ranked.group_by(list(spec.primary_key), use_threads=False).aggregate([("_rank", "max")])["_rank_max"]
    kept = ranked.take(winners).drop_columns(["_rank"])
    return kept.take(pc.sort_indices(kept, sort_keys=[("_voc_line", "ascending")]))


def _missing_columns(spec: TableSpec, unit: Unit, declared_columns: list[str] | None) -> list[str]:
    if declared_columns is not None:
        present = set(declared_columns)
    elif len(unit) >= MIN_RECORDS_TO_INFER_A_MISSING_COLUMN:
        present = set(unit.columns)
    else:
        return []
    return [name for name in spec.required if name not in present]


def validate(
    spec: TableSpec,
    unit_name: str,
    unit: Unit,
    *,
    future_limit: datetime,
    salt: str,
    run_id: str,
    declared_columns: list[str] | None = None,
) -> Validated:
    """Type, check and deduplicate one unit's records.

    A required column missing from the unit (from its header, or from every record of a headerless
    file) quarantines every record as ``missing_required_column``; other units still load.
    """
    absent = _missing_columns(spec, unit, declared_columns)
    if len(unit) and absent:
        detail = f"file '{unit_name}' has no column '{absent[0]}'"
        rejections = []
        for row in range(len(unit)):
            record = unit.record(row)
            rejections.append(Rejection(record.line, "missing_required_column", detail, record.payload(), _record_id(record.fields, spec)))
        return Validated(None, rejections, 0)
    if not len(unit):
        return Validated(None, [], 0)
    typed, flagged = _fast_columns(spec, unit, future_limit)
    lines = pa.array(unit.lines, pa.int64())
    parts = [_fast_table(spec, typed, pc.invert(flagged), lines, salt)]
    rejections: list[Rejection] = []
    accepted: list[dict] = []
    for row in pc.indices_nonzero(flagged).to_pylist():
        record = unit.record(row)
        try:
            accepted.append({**_clean_record(record.fields, spec, future_limit, salt), "_voc_line": record.line})
        except _Rejected as rejected:
            rejections.append(Rejection(record.line, rejected.reason, rejected.detail, record.payload(), _record_id(record.fields, spec)))
    if accepted:
        parts.append(pa.Table.from_pylist(accepted))
    good = [_layout(part, spec, unit_name, run_id) for part in parts if part.num_rows]
    if not good:
        return Validated(None, rejections, 0)
    table = pa.concat_tables(good, promote_options="default")
    kept = _latest_per_key(table, spec)
    return Validated(kept, rejections, table.num_rows - kept.num_rows)


def validated_items(
    spec: TableSpec,
    unit_name: str,
    unit: Unit,
    reader_rejections: list[Rejection],
    *,
    future_limit: datetime,
    salt: str,
    run_id: str,
    declared_columns: list[str] | None = None,
) -> Iterator[object]:
    """Validate one whole unit and yield its rows to merge, its quarantine rows and its load_stats row."""
    result = validate(
        spec, unit_name, unit, future_limit=future_limit, salt=salt, run_id=run_id, declared_columns=declared_columns
    )
    result.rejections[:0] = reader_rejections
    yield from result_items(spec, unit_name, result, run_id)
    yield load_stats_item(
        LoadStats(
            source=spec.source,
            file=unit_name,
            run_id=run_id,
            records_seen=len(unit) + len(reader_rejections),
            records_quarantined=len(result.rejections),
            records_deduplicated=result.deduplicated,
            records_loaded=result.loaded,
        )
    )


TABLE_DECLARED_KEY = "table_declared"


def declare_table_once(resource_state: dict, spec: TableSpec, run_id: str) -> Iterator[object]:
    """An empty table in the loaded layout, with the table's hints, the first time a resource runs.

    dlt creates a table only when rows arrive, but dbt's staging view over it must exist from the
    first refresh on: a warehouse started on a day the ops database had no shipment yet failed its
    whole dbt build ("Table with name shipments does not exist"). The resource's state remembers
    the declaration, so later runs, with rows or without, add nothing for it.
    """
    if resource_state.get(TABLE_DECLARED_KEY):
        return
    resource_state[TABLE_DECLARED_KEY] = True
    empty = _layout(pa.table({"_voc_line": pa.array([], pa.int64())}), spec, "", run_id)
    yield dlt.mark.with_hints(empty, spec.table_hints(), create_table_variant=True)


def result_items(spec: TableSpec, unit_name: str, result: Validated, run_id: str) -> Iterator[object]:
    """The rows to merge (as this table's variant) and the quarantine rows of one validated unit."""
    if result.table is not None and result.table.num_rows:
        yield dlt.mark.with_hints(result.table, spec.table_hints(), create_table_variant=True)
    if result.rejections:
        rejections = sorted(result.rejections, key=lambda r: r.line)
        yield quarantine_item(rejections, source=spec.source, file=unit_name, run_id=run_id)
