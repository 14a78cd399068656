"""Which history a new codeframe version has not re-coded yet, and the command that re-codes it.

A refresh codes its window (the partition plus the lookback) with the current codeframe; days
before it keep the version that coded them until a backfill re-codes them. The codes step logs
this and the refresh summary prints it, so a codeframe edit never leaves trends silently mixed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb


@dataclass(frozen=True)
class NotRecoded:
    versions: str
    first_day: date
    last_day: date
    utterances: int

    def advice(self, current_version: str) -> str:
        return (
            f"{self.utterances:,} utterances of {self.first_day} … {self.last_day} are coded with codeframe "
            f"{self.versions}, not the current {current_version}. Re-code them: voc refresh --start {self.first_day} "
            f"--end {self.last_day} (or, in the Dagster UI, a backfill of intermediate/feedback_codes and its "
            "downstream assets over those days)."
        )


def not_recoded(connection: duckdb.DuckDBPyConnection, relation: str, version: str) -> NotRecoded | None:
    """Days of `relation` (intermediate.feedback_codes or marts.fct_feedback_codes) with no code of `version`.

    Days, not utterances, are what a refresh re-codes; finding them is one streaming aggregate over the
    version and day columns, and only the days found (none in steady state) are counted by utterance.
    """
    waiting = f"""
        select event_date from {relation}
        group by event_date
        having not bool_or(codeframe_version = ?)
    """
    versions, first_day, last_day, utterances = connection.execute(
        f"""
        select string_agg(distinct codeframe_version, ', ' order by codeframe_version), min(event_date),
               max(event_date), count(distinct feedback_id)
        from {relation}
        where event_date in ({waiting})
        """,
        [version],
    ).fetchall()[0]
    return NotRecoded(versions, first_day, last_day, utterances) if utterances else None
