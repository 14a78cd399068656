"""Resources shared by the defs: the dlt runner, the dbt CLI and the survey API endpoint."""

import shutil
import sys
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource
from dagster_dlt import DagsterDltResource

from dagster_project.defs.transform.dbt import dbt_project
from dagster_project.lib.survey_endpoint import SurveyEndpoint
from dagster_project.settings import load_settings


def dbt_executable() -> str:
    """The dbt installed beside this Python, so the venv need not be on PATH."""
    beside_python = Path(sys.executable).parent / "dbt"
    return str(beside_python) if beside_python.exists() else (shutil.which("dbt") or "dbt")


@dg.definitions
def resources() -> dg.Definitions:
    settings = load_settings()
    return dg.Definitions(
        resources={
            "dlt": DagsterDltResource(),
            "dbt": DbtCliResource(project_dir=dbt_project, target=settings.dbt_target, dbt_executable=dbt_executable()),
            "survey_endpoint": SurveyEndpoint(),
        }
    )
