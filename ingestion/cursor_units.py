"""Running one cursor-based unit (an API endpoint or a SQL table) for a window, with its state.

The stored cursor lives in the dlt resource state of the resource that loads the unit. The request
itself runs through dlt's own sources (rest_api, sql_database) in ``end_value`` mode, so they never
keep a cursor of their own: this module decides the range, validates, counts and moves the cursor.
"""

from __future__ import annotations

from typing import Callable, Iterable, Iterator

import dlt
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.common import CursorRange, Window, advanced_cursor, plan_cursor_range
from ingestion.quarantine import LoadStats, load_stats_item
from ingestion.records import (
    TableSpec,
    Unit,
    declare_table_once,
    parse_time_column,
    record_id_column,
    result_items,
    validate,
)

CURSOR_COLUMN = "updated_at"
CURSOR_STATE_KEY = "cursor"


def run_cursor_unit(
    spec: TableSpec,
    unit_name: str,
    window: Window,
    fetch: Callable[[CursorRange], Iterable[Unit]],
    *,
    pii_salt: str,
    run_id: str,
) -> Iterator[object]:
    """Fetch the unit's records for the planned range batch by batch, validate them, move the cursor."""
    state = dlt.current.resource_state()
    stored = state.get(CURSOR_STATE_KEY)
    planned = plan_cursor_range(window, stored)
    future_limit = window.future_limit()
    counts = {"seen": 0, "quarantined": 0, "deduplicated": 0, "loaded": 0}
    newest, newest_keys = None, set()
    yield from declare_table_once(state, spec, run_id)
    for batch in fetch(planned):
        moments = parse_time_column(batch.columns.get(CURSOR_COLUMN, [None] * len(batch)))
        ids = record_id_column(spec, batch)
        if planned.loaded_at_since:  # since is inclusive: drop what the run that set the cursor loaded
            done = pc.and_(
                pc.equal(moments, pa.scalar(planned.since, moments.type)),
                pc.is_in(ids, value_set=pa.array(sorted(planned.loaded_at_since), pa.string())),
            )
            remaining = pc.indices_nonzero(pc.invert(pc.fill_null(done, False)))
            if len(remaining) < len(batch):
                batch = batch.take(remaining.to_pylist())
                moments, ids = moments.take(remaining), ids.take(remaining)
        result = validate(spec, unit_name, batch, future_limit=future_limit, salt=pii_salt, run_id=run_id)
        yield from result_items(spec, unit_name, result, run_id)
        counts["seen"] += len(batch)
        counts["quarantined"] += len(result.rejections)
        counts["deduplicated"] += result.deduplicated
        counts["loaded"] += result.loaded
        in_range = pc.filter(moments, pc.fill_null(pc.less_equal(moments, pa.scalar(future_limit, moments.type)), False))
        batch_newest = pc.max(in_range).as_py() if len(in_range) else None
        if batch_newest is not None and (newest is None or batch_newest >= newest):
            at_newest = pc.fill_null(pc.equal(moments, pa.scalar(batch_newest, moments.type)), False)
            keys = {key for key in ids.filter(at_newest).to_pylist() if key is not None}
            newest_keys = keys if newest is None or batch_newest > newest else newest_keys | keys
            newest = batch_newest
    if counts["seen"]:  # like an unchanged file, a unit with nothing new leaves no trace: no load at all
        yield load_stats_item(
            LoadStats(
                source=spec.source,
                file=unit_name,
                run_id=run_id,
                records_seen=counts["seen"],
                records_quarantined=counts["quarantined"],
                records_deduplicated=counts["deduplicated"],
                records_loaded=counts["loaded"],
            )
        )
    if planned.advances_cursor:
        state[CURSOR_STATE_KEY] = advanced_cursor(stored, planned.since, newest, newest_keys)
