"""Dagster entry point: everything is discovered in the defs folder."""

from pathlib import Path

import dagster as dg


def build_definitions() -> dg.Definitions:
    """The whole project's definitions; `voc refresh` and `dagster dev` load the same object.

    Every job runs its steps in one process, one after another, including the asset job behind a
    materialization from the UI or `dagster asset materialize`: DuckDB takes one writer at a time,
    so a process per step only added each step's imports (a two-day world took 4 min 24 s that way)."""
    return dg.Definitions.merge(
        dg.load_from_defs_folder(path_within_project=Path(__file__).parent),
        dg.Definitions(executor=dg.in_process_executor),
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions()
