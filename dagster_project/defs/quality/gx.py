"""Great Expectations suites (expectations/) as asset checks on the raw tables and int_feedback_unified."""

import dagster as dg

from dagster_project.lib.gx_checks import build_gx_asset_checks
from dagster_project.settings import EXPECTATIONS_DIR


@dg.definitions
def quality_defs() -> dg.Definitions:
    return dg.Definitions(asset_checks=build_gx_asset_checks(EXPECTATIONS_DIR))
