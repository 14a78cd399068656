"""Dagster entry point: everything is discovered in the defs folder."""

from pathlib import Path

import dagster as dg


def build_definitions() -> dg.Definitions:
    """The whole project's definitions; `voc refresh` and `dagster dev` load the same object."""
    return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions()
