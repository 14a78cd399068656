"""Running one cursor-based unit (an API endpoint or a SQL table) for a window, with its state.

The stored cursor lives in the dlt resource state of the resource that loads the unit. The request
itself runs through dlt's own sources (rest_api, sql_database) in ``end_value`` mode, so they never
keep a cursor of their own: this module decides the range, counts, validates and moves the cursor.
"""

from __future__ import annotations

from datetime import datetime
from typing import Callable, Iterable, Iterator

import dlt

from ingestion.common import CursorRange, Window, advanced_cursor, parse_timestamp, plan_cursor_range
from ingestion.records import RawRecord, TableSpec, validated_items

CURSOR_COLUMN = "updated_at"
CURSOR_STATE_KEY = "cursor"


def run_cursor_unit(
    spec: TableSpec,
    unit: str,
    window: Window,
    fetch: Callable[[CursorRange], Iterable[RawRecord]],
    *,
    pii_salt: str,
    run_id: str,
) -> Iterator[object]:
    """Fetch the unit's records for the planned range, validate them and move the cursor forward."""
    state = dlt.current.resource_state()
    stored = state.get(CURSOR_STATE_KEY)
    planned = plan_cursor_range(window, stored)
    future_limit = window.future_limit()
    records: list[RawRecord] = []
    moments: list[tuple[datetime, str]] = []
    for record in fetch(planned):
        record_id = "|".join(str(record.fields.get(key)) for key in spec.primary_key)
        moment = _cursor_value(record.fields.get(CURSOR_COLUMN))
        if moment is not None and moment == planned.since and record_id in planned.loaded_at_since:
            continue  # loaded by the run that set the cursor
        records.append(record)
        if moment is not None and moment <= future_limit:
            moments.append((moment, record_id))
    yield from validated_items(spec, unit, records, [], future_limit=future_limit, salt=pii_salt, run_id=run_id)
    if planned.advances_cursor:
        state[CURSOR_STATE_KEY] = advanced_cursor(stored, moments)


def _cursor_value(value: object) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        return parse_timestamp(value)
    except (ValueError, TypeError):
        return None
