"""Planted bad records: which kinds go into which source and day, and how each
kind corrupts a record. Drawn from their own random stream so that a world has
the same bad records with and without planted business events.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import date, timedelta

from ingestion.demo.master import iso

FILE_SOURCES = ("call_center", "private_domain", "public_opinion")
CONTROL_CHARS = "\x01\x02\x03\x04\x05\x06\x07\x08\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1f\x7f"
BAD_TIMESTAMPS = ("昨天下午三点", "2026/13/45 25:61", "N/A", "0000-00-00 00:00:00", "3月5日 14:20", "tomorrow", "20261345")
OVERSIZED_BYTES = 100 * 1024

# kind -> records per planted record of the source (at least one per world)
KIND_RATES = {
    "call_center": {"malformed_csv_line": 1 / 2500, "bad_encoding": 1 / 3000, "missing_required_field": 1 / 2500,
                    "unparseable_timestamp": 1 / 3000, "future_timestamp": 1 / 3000, "duplicate_within_file": 1 / 1500,
                    "duplicate_across_files": 1 / 1500, "control_characters": 1 / 2000},
    "private_domain": {"invalid_json": 1 / 2500, "bad_encoding": 1 / 3000, "missing_required_field": 1 / 2500,
                       "unparseable_timestamp": 1 / 3000, "future_timestamp": 1 / 3000, "oversized_text": 1 / 20000,
                       "duplicate_within_file": 1 / 1500, "duplicate_across_files": 1 / 1500,
                       "control_characters": 1 / 2000},
    "public_opinion": {"invalid_json": 1 / 2500, "bad_encoding": 1 / 3000, "missing_required_field": 1 / 2500,
                       "unparseable_timestamp": 1 / 3000, "future_timestamp": 1 / 3000, "oversized_text": 1 / 20000,
                       "duplicate_within_file": 1 / 1500, "duplicate_across_files": 1 / 1500,
                       "control_characters": 1 / 2000},
    "survey": {"missing_required_field": 1 / 2000, "unparseable_timestamp": 1 / 2500, "future_timestamp": 1 / 2500},
    "store": {"missing_required_field": 1 / 3000},
}
# The quarantine reason each planted kind must produce (docs/landing_zone.md); kinds not listed are loaded.
QUARANTINE_REASON_OF_KIND = {
    "malformed_csv_line": "malformed_line",
    "invalid_json": "invalid_json",
    "bad_encoding": "invalid_encoding",
    "missing_required_field": "missing_required_field",
    "unparseable_timestamp": "unparseable_timestamp",
    "future_timestamp": "future_timestamp",
    "oversized_text": "oversized_text",
    "missing_required_column": "missing_required_column",
}
# which later day (as a share of the world) carries a file-level schema change
EXTRA_COLUMN_AT = {"call_center": 0.75, "private_domain": 0.8, "public_opinion": 0.85}
MISSING_COLUMN_AT = 0.7


@dataclass
class BadPlan:
    per_day: dict[tuple[str, int], list[str]]     # (source, day) -> kinds planted that day
    extra_column_day: dict[str, int]
    missing_column_day: int
    supplement_size: int


def plan_bad_records(expected: dict[str, float], days: int, seed: int) -> BadPlan:
    """Spread each kind's count over the days; the counts scale with the world."""
    rng = random.Random(f"{seed}:bad")
    per_day: dict[tuple[str, int], list[str]] = {}
    for source, rates in KIND_RATES.items():
        for kind, rate in rates.items():
            first = 1 if kind == "duplicate_across_files" else 0
            if first >= days:
                continue
            for _ in range(max(1, round(expected[source] * days * rate))):
                per_day.setdefault((source, rng.randrange(first, days)), []).append(kind)
    later = lambda share: min(days - 1, max(1, int(days * share))) if days > 1 else 0
    return BadPlan(per_day, {s: later(p) for s, p in EXTRA_COLUMN_AT.items()}, later(MISSING_COLUMN_AT),
                   min(40, max(3, round(expected["public_opinion"] / 400))))


def control_text(rng: random.Random, text: str) -> str:
    """Sprinkle non-printing control characters (never line breaks) into a text."""
    for _ in range(rng.randint(1, 3)):
        pos = rng.randrange(len(text) + 1)
        text = text[:pos] + rng.choice(CONTROL_CHARS) + text[pos:]
    return text


def future_day(rng: random.Random, export_day: date) -> date:
    """A day well past the export day's tolerance (+1 day)."""
    return export_day + timedelta(days=rng.randint(3, 120))


def corrupt_json(rng: random.Random, kind: str, record: dict, ts_key: str, required: tuple[str, ...],
                 export_day: date) -> bytes:
    """One JSONL line (bytes incl. newline) that is bad in the way `kind` says."""
    if kind == "invalid_json":
        line = json.dumps(record, ensure_ascii=False)
        after_id = line.index('", ') + 2          # keep the record id readable in the broken line
        return line[: rng.randint(after_id, len(line) - 2)].encode("utf-8") + b"\n"
    if kind == "bad_encoding":
        line = json.dumps(record, ensure_ascii=False)
        raw = line.encode("gb18030")
        try:
            raw.decode("utf-8")
            raw = raw.replace(b'"text": "', b'"text": "\xff', 1)
        except UnicodeDecodeError:
            pass
        return raw + b"\n"
    record = dict(record)
    if kind == "missing_required_field":
        key = rng.choice(required)
        if rng.random() < 0.5:
            del record[key]
        else:
            record[key] = None if rng.random() < 0.5 else ""
    elif kind == "unparseable_timestamp":
        record[ts_key] = rng.choice(BAD_TIMESTAMPS)
    elif kind == "future_timestamp":
        record[ts_key] = iso(future_day(rng, export_day), rng.randrange(86400))
    elif kind == "oversized_text":
        unit = record["text"] + "。我再说一遍！"
        repeat = OVERSIZED_BYTES // len(unit.encode("utf-8")) + 2
        record["text"] = unit * repeat
    else:
        raise ValueError(kind)
    return (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
