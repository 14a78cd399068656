"""Shared helpers for every ingestion source: time windows, timestamps and PII hashing.

The daily partition is a local (Asia/Shanghai) day; everything stored is UTC.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc

SHANGHAI = ZoneInfo("Asia/Shanghai")
FUTURE_TOLERANCE = timedelta(days=1)
OVERSIZED_TEXT_BYTES = 100 * 1024
"""A text value of at least this many UTF-8 bytes (100 KB) is quarantined as ``oversized_text``."""

_EXPORT_DAY = re.compile(r"_(\d{4}-\d{2}-\d{2})(?:_[^./]*)?\.[A-Za-z0-9]+$")
_NOT_PII_CHAR = re.compile(r"[^0-9X]")
_MOBILE_WITH_COUNTRY_CODE = re.compile(r"^(?:0086|86)(1\d{10})$")
_PHONE_IN_TEXT = re.compile(r"(?<!\d)(?:\+?86[-\s]?)?1[3-9]\d(?:[-\s]?\d{4}){2}(?!\d)")
_ID_CARD_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
CONTROL_CHARS = r"[\x00-\x08\x0b-\x1f\x7f-\x9f]"
"""Control characters removed from text (tab and newline are kept: they are legitimate in free text)."""
_CONTROL_CHARS = re.compile(CONTROL_CHARS)


def to_shanghai_aware(value: datetime) -> datetime:
    """Treat a naive datetime as Asia/Shanghai local time; keep aware ones as they are."""
    return value.replace(tzinfo=SHANGHAI) if value.tzinfo is None else value


def parse_timestamp(value: object) -> datetime:
    """Parse an ISO-8601 / ``YYYY-MM-DD HH:MM:SS`` value into an aware UTC datetime.

    Values without an offset are local Shanghai time (the call-centre CSV convention).
    Raises ValueError when the value is not a timestamp.
    """
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        text = value.strip()
        if len(text) < 10 or not text[:4].isdigit():
            raise ValueError(f"not a timestamp: {value!r}")
        parsed = datetime.fromisoformat(text)
    elif isinstance(value, date):
        parsed = datetime.combine(value, time())
    else:
        raise ValueError(f"not a timestamp: {value!r}")
    return to_shanghai_aware(parsed).astimezone(timezone.utc)


def parse_date(value: object) -> date:
    """Parse a calendar date (``YYYY-MM-DD``, or the local date of a timestamp)."""
    if isinstance(value, datetime):
        return to_shanghai_aware(value).astimezone(SHANGHAI).date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        if len(text) == 10:
            return date.fromisoformat(text)
        return parse_timestamp(text).astimezone(SHANGHAI).date()
    raise ValueError(f"not a date: {value!r}")


def local_midnight(day: date) -> datetime:
    """Start of a local day as an aware datetime."""
    return datetime.combine(day, time(), tzinfo=SHANGHAI)


def export_day(file_name: str) -> date | None:
    """The export day in a landing file name (``posts_2026-03-10_supplement.jsonl`` → 2026-03-10)."""
    match = _EXPORT_DAY.search(file_name)
    if not match:
        return None
    try:
        return date.fromisoformat(match.group(1))
    except ValueError:
        return None


@dataclass(frozen=True)
class Window:
    """A daily-partition range [start, end) in local time; a history window has no lower bound."""

    start: datetime | None
    end: datetime | None
    is_history: bool = False

    @classmethod
    def of(cls, start: datetime | None, end: datetime | None, is_history: bool = False) -> "Window":
        return cls(
            to_shanghai_aware(start) if start is not None else None,
            to_shanghai_aware(end) if end is not None else None,
            is_history or start is None,
        )

    @property
    def lower_bound(self) -> datetime | None:
        """The start that filters records, or None when this window carries all history."""
        return None if self.is_history else self.start

    def contains_day(self, day: date) -> bool:
        midnight = local_midnight(day)
        if self.lower_bound is not None and midnight < self.lower_bound:
            return False
        return self.end is None or midnight < self.end

    def future_limit(self) -> datetime:
        """Records later than this are ``future_timestamp``: window end + 1 day, or now + 1 day."""
        anchor = self.end if self.end is not None else datetime.now(timezone.utc)
        return (anchor + FUTURE_TOLERANCE).astimezone(timezone.utc)


def export_day_future_limit(day: date) -> datetime:
    """End of the export day plus one day of tolerance, in UTC."""
    return (local_midnight(day) + timedelta(days=1) + FUTURE_TOLERANCE).astimezone(timezone.utc)


def normalize_pii(value: object) -> str:
    """Digits (and an ID card's trailing X) only; a +86 / 0086 prefix of a mobile number is dropped."""
    return _MOBILE_WITH_COUNTRY_CODE.sub(r"\1", _NOT_PII_CHAR.sub("", str(value).upper()))


def hash_pii(value: object, salt: str) -> str | None:
    """sha256 hex of salt + normalized value; None for an empty value. Raw PII never leaves ingestion."""
    if value is None:
        return None
    return _salted_sha256(normalize_pii(value), salt)


def hash_pii_column(values: pa.Array, salt: str) -> pa.Array:
    """``hash_pii`` over an Arrow text column: normalization vectorized, one sha256 per value."""
    normalized = pc.replace_substring_regex(pc.utf8_upper(values), pattern=_NOT_PII_CHAR.pattern, replacement="")
    normalized = pc.replace_substring_regex(normalized, pattern=_MOBILE_WITH_COUNTRY_CODE.pattern, replacement=r"\1")
    return pa.array([None if v is None else _salted_sha256(v, salt) for v in normalized.to_pylist()], pa.string())


def _salted_sha256(normalized: str, salt: str) -> str | None:
    if not normalized:
        return None
    return hashlib.sha256((salt + normalized).encode("utf-8")).hexdigest()


def mask_pii_in_text(text: str) -> str:
    """Replace phone and ID-card numbers in a raw payload by placeholders (quarantine keeps no raw PII)."""
    return _ID_CARD_IN_TEXT.sub("[ID_CARD]", _PHONE_IN_TEXT.sub("[PHONE]", text))


def strip_control_chars(text: str) -> str:
    return _CONTROL_CHARS.sub("", text)


def default_run_id() -> str:
    """A run id for callers that pass none (Dagster passes its own run id)."""
    return "run-" + datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")


EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
"""The lower bound of a history window (``since`` must be a value for end_value mode)."""


@dataclass(frozen=True)
class CursorRange:
    """What one run of a cursor-based source requests: ``updated_at`` in [since, until)."""

    since: datetime
    until: datetime | None
    advances_cursor: bool
    """False for a backfill: the window lies before the stored cursor, which must not move."""
    loaded_at_since: frozenset[str]
    """Record ids already loaded with ``updated_at == since`` (since is inclusive)."""


def plan_cursor_range(window: Window, stored: dict | None) -> CursorRange:
    """since = the stored cursor (or the window's start before the first cursor), until = the window's end; a window
    wholly before the cursor is a backfill.

    A forward run reads from the cursor even when the window starts later: after days without a run (an outage,
    a refresh of one later day) the rows changed in between are read now. Starting at the window would skip them
    for good, since the cursor then moves past them.
    """
    lower = window.lower_bound or EPOCH
    if not stored:
        return CursorRange(lower, window.end, True, frozenset())
    last = datetime.fromisoformat(stored["last_value"])
    if window.end is not None and window.end <= last:
        return CursorRange(lower, window.end, False, frozenset())
    return CursorRange(last, window.end, True, frozenset(stored.get("keys_at_last_value", ())))


def advanced_cursor(stored: dict | None, since: datetime, newest: datetime | None, keys: set[str]) -> dict | None:
    """New cursor state after a forward run that read from ``since`` and whose newest ``updated_at`` was ``newest``
    (records ``keys``).

    A first run that found no row keeps where it started reading, so the next run reads on from there rather than
    from its own window's start."""
    if newest is None:
        return stored or {"last_value": since.isoformat(), "keys_at_last_value": []}
    if stored:
        last = datetime.fromisoformat(stored["last_value"])
        if last > newest:
            return stored
        if last == newest:
            keys = keys | set(stored.get("keys_at_last_value", ()))
    return {"last_value": newest.isoformat(), "keys_at_last_value": sorted(keys)}
