"""Landing-file readers that account for every physical line, and the transformer that loads them.

dlt's read_jsonl/read_csv abort a whole extraction on one bad line; these readers decode and parse
each line themselves so a bad line becomes a quarantine row with its file and line number.
"""

from __future__ import annotations

import csv
import json
import logging
from dataclasses import dataclass, field
from typing import Callable, Iterator

import dlt
import orjson
from dlt.sources.filesystem import FileItemDict, filesystem

from ingestion.common import Window, export_day, export_day_future_limit, strip_control_chars
from ingestion.quarantine import Rejection
from ingestion.records import RawRecord, TableSpec, Unit, declare_table_once, validated_items

logger = logging.getLogger(__name__)

@dataclass
class ReadFile:
    """What a reader made of a file: its parsed records, the lines it rejected, its header if it has one."""

    unit: Unit
    rejections: list[Rejection] = field(default_factory=list)
    columns: list[str] | None = None


Reader = Callable[[bytes], ReadFile]


def _physical_lines(content: bytes) -> list[bytes]:
    """Lines split on LF, without the empty piece after a final newline and without a UTF-8 BOM."""
    if content.startswith(b"\xef\xbb\xbf"):
        content = content[3:]
    lines = content.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return [line[:-1] if line.endswith(b"\r") else line for line in lines]


def read_jsonl(content: bytes) -> ReadFile:
    """JSON Lines, UTF-8: one record per line; record number = 1-based line."""
    records: list[RawRecord] = []
    rejections: list[Rejection] = []
    for number, raw in enumerate(_physical_lines(content), start=1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            rejections.append(Rejection(number, "invalid_encoding", f"not UTF-8 at byte {error.start}", raw))
            continue
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            try:  # raw control characters inside strings: tolerated, stripped later
                value = json.loads(text, strict=False)
            except ValueError as error:
                rejections.append(Rejection(number, "invalid_json", f"invalid JSON: {error}", text))
                continue
        if not isinstance(value, dict):
            rejections.append(Rejection(number, "invalid_json", "line is not a JSON object", text))
            continue
        records.append(RawRecord(number, value, text))
    return ReadFile(Unit.from_records(records), rejections)


def csv_reader(encoding: str = "gb18030", delimiter: str = ",") -> Reader:
    """CSV with a header row, pinned dialect (`,` and `"`), one record per physical line."""

    def read_csv(content: bytes) -> ReadFile:
        lines = _physical_lines(content)
        if not lines:
            return ReadFile(Unit([], {}), columns=[])
        try:
            header = [name.strip() for name in _split_csv_line(lines[0].decode(encoding), delimiter)]
        except (UnicodeDecodeError, csv.Error) as error:
            detail = f"header line unreadable: {error}"
            rejected = [Rejection(n, "malformed_line", detail, raw) for n, raw in enumerate(lines[1:], start=2)]
            return ReadFile(Unit([], {}), rejected)
        width = len(header)
        numbers: list[int] = []
        rows: list[list[str]] = []
        texts: list[str] = []
        rejections: list[Rejection] = []
        for number, raw in enumerate(lines[1:], start=2):
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError as error:
                rejections.append(Rejection(number, "invalid_encoding", f"not {encoding} at byte {error.start}", raw))
                continue
            try:
                values = _split_csv_line(strip_control_chars(text), delimiter)
            except csv.Error as error:
                rejections.append(Rejection(number, "malformed_line", f"unparseable CSV: {error}", text))
                continue
            if len(values) != width:
                detail = f"expected {width} fields, got {len(values)}"
                rejections.append(Rejection(number, "malformed_line", detail, text))
                continue
            numbers.append(number)
            rows.append(values)
            texts.append(text)
        columns = {name: [value or None for value in values] for name, values in zip(header, zip(*rows))}
        if not rows:
            columns = {name: [] for name in header}
        return ReadFile(Unit(numbers, columns, raws=texts), rejections, header)

    return read_csv


def _split_csv_line(text: str, delimiter: str) -> list[str]:
    if '"' not in text:
        return text.split(delimiter)
    return next(csv.reader([text], delimiter=delimiter, quotechar='"', strict=True))


def landing_listing(bucket_url: str, file_glob: str):
    """dlt's `filesystem` listing of a landing folder as one page, empty when the folder holds no export.

    The transformer after it runs once per page, and `filesystem` yields no page for an empty folder:
    a family whose first load found no export would not declare its table, and dbt's staging view over
    it would fail every channel's build until the first export arrived.
    """

    @dlt.resource(name="landing_listing")
    def listing() -> Iterator[list[FileItemDict]]:
        yield list(filesystem(bucket_url=bucket_url, file_glob=file_glob))  # iterated, a resource yields its items

    return listing


def landing_files(
    spec: TableSpec, read: Reader, window: Window, pii_salt: str, run_id: str
) -> Callable[..., Iterator[object]]:
    """Transformer loading the listed files whose export day is in the window and that are new or changed.

    Processed files are remembered in resource state by (name, size, modification date), so a re-run
    with nothing new loads nothing, whatever the order of partitions, and a rewritten file is re-read.
    """

    @dlt.transformer(name=spec.table, **spec.resource_hints())
    def load_files(files: list[FileItemDict]) -> Iterator[object]:
        state = dlt.current.resource_state()
        yield from declare_table_once(state, spec, run_id)
        processed: dict = state.setdefault("processed_files", {})
        for file in sorted(files, key=lambda item: item["file_name"]):
            name = file["file_name"].rsplit("/", 1)[-1]
            day = export_day(name)
            if day is None:
                logger.warning("%s: %s has no export day in its name; skipped", spec.source, name)
                continue
            if not window.contains_day(day):
                continue
            fingerprint = f"{file['size_in_bytes']}|{file['modification_date'].isoformat()}"
            if processed.get(name) == fingerprint:
                continue
            read_file = read(file.read_bytes())
            yield from validated_items(
                spec,
                name,
                read_file.unit,
                read_file.rejections,
                future_limit=export_day_future_limit(day),
                salt=pii_salt,
                run_id=run_id,
                declared_columns=read_file.columns,
            )
            processed[name] = fingerprint

    return load_files
