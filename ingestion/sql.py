"""SQL-table units through dlt's ``sql_database`` source (pyarrow backend), one resource per table.

SQLite (the demo DMS/CRM/ops databases) keeps timestamps as ISO text with +08:00, so the cursor
bounds are rendered the same way there; other databases get datetime bounds.
"""

from __future__ import annotations

import functools
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import dlt
import sqlalchemy as sa
from dlt.sources.sql_database import sql_database
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import BinaryExpression

from ingestion.common import EPOCH, SHANGHAI, CursorRange, Window
from ingestion.cursor_units import CURSOR_COLUMN, run_cursor_unit
from ingestion.records import TableSpec, Unit

OPEN_END = datetime(9999, 12, 31, tzinfo=timezone.utc)


def connection_url(credentials: str | Path) -> str:
    """A SQLAlchemy URL; a plain path means a SQLite file."""
    text = str(credentials)
    return text if "://" in text else f"sqlite:///{Path(text).resolve()}"


def missing_sqlite_file(url: str) -> Path | None:
    """The file a `sqlite:///PATH` URL names when it does not exist (None for an in-memory database)."""
    path = url.split("///", 1)[1].split("?", 1)[0] if "///" in url else ""
    if path in ("", ":memory:") or Path(path).exists():
        return None
    return Path(path)


def _bound(moment: datetime, is_sqlite: bool) -> str | datetime:
    if not is_sqlite:
        return moment
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M:%S+08:00")


HISTORY_START_SQLITE = _bound(EPOCH, True)


def scan_whole_history(query: sa.Select, table: sa.Table, incremental=None, engine=None) -> sa.Select:
    """SQLite reads the whole history by a plain scan, and each day's changes through the `updated_at` index.

    The first load's range (from EPOCH) holds every row, but SQLite's planner, with no statistics on
    the index, guesses that a two-sided range keeps a small share of the rows and walks the index row
    by row: ~0.3 s more per 165k-row table with the file cached, far more when it must be read from
    disk. SQLite's unary `+` (the value unchanged) keeps a term from using an index, so for that range
    dlt's condition is kept with `+updated_at` for the column and the table is scanned in file order.
    A day's range keeps the index, which spares a scan of the whole file (86 MB for the demo CRM):
    the cost that matters when the file is no longer cached.
    """
    if incremental is None or incremental.get_current_range()[0] != HISTORY_START_SQLITE:
        return query
    cursor = table.c[CURSOR_COLUMN]
    not_indexed = sa.literal_column(f'+"{table.name}"."{CURSOR_COLUMN}"', type_=cursor.type)

    def unindexed_comparison(element):
        """A comparison of the cursor column, on `+column`; the rest of dlt's query (columns, order, limit) is kept."""
        if isinstance(element, BinaryExpression) and element.left is cursor:
            return BinaryExpression(not_indexed, element.right, element.operator, type_=element.type)
        return None

    return visitors.replacement_traverse(query, {}, unindexed_comparison)


def _with_sqlite_rowid(table: sa.Table) -> sa.Table:
    """Select SQLite's rowid too: it is the record number quarantine rows point at."""
    table.append_column(sa.Column("rowid", sa.Integer))
    return table


def sql_table_resources(
    specs: list[TableSpec], credentials: str | Path, window: Window, pii_salt: str, run_id: str
) -> list:
    """One resource per table spec, each loading its table's rows changed in the window."""
    url = connection_url(credentials)
    is_sqlite = url.startswith("sqlite")

    @functools.cache
    def tables():
        """One dlt source for all the tables, made when the first table is read (never when the assets are
        only declared): dlt resolves its configuration and reflects the tables once, not per table (~50 ms
        each per run); each resource then reads its own table with its own cursor range."""
        if is_sqlite and (missing := missing_sqlite_file(url)):
            family = specs[0].source
            raise FileNotFoundError(
                f"the {family} database {missing} does not exist (SQLite would say only 'unable to open database "
                f"file'): run `voc generate` for the demo's, or set sources.{family}.credentials "
                f"(SOURCES__{family.upper()}__CREDENTIALS or .dlt/secrets.toml) to its SQLAlchemy URL"
            )
        return sql_database(
            credentials=url,
            table_names=[spec.table for spec in specs],
            backend="pyarrow",
            reflection_level="minimal",
            detect_precision_hints=None,
            table_adapter_callback=_with_sqlite_rowid if is_sqlite else None,
            query_adapter_callback=scan_whole_history if is_sqlite else None,
        )

    def make_resource(spec: TableSpec):
        def fetch(planned: CursorRange) -> Iterator[Unit]:
            table_rows = tables().resources[spec.table]
            table_rows.apply_hints(
                incremental=dlt.sources.incremental(
                    CURSOR_COLUMN,
                    initial_value=_bound(planned.since, is_sqlite),
                    end_value=_bound(planned.until or OPEN_END, is_sqlite),
                    on_cursor_value_missing="include" if planned.since == EPOCH else "exclude",
                )
            )
            read = 0
            for batch in table_rows:
                if is_sqlite:
                    lines = batch.column("rowid").to_pylist()
                    batch = batch.drop_columns(["rowid"])
                else:
                    lines = list(range(read + 1, read + batch.num_rows + 1))
                read += batch.num_rows
                yield Unit.from_arrow(batch, lines)

        @dlt.resource(name=spec.table, **spec.resource_hints())
        def table_resource() -> Iterator[object]:
            yield from run_cursor_unit(spec, spec.table, window, fetch, pii_salt=pii_salt, run_id=run_id)

        return table_resource

    return [make_resource(spec) for spec in specs]
