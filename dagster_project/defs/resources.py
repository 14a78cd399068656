"""Resources shared by the defs: the dlt runner, the dbt CLI and the survey API endpoint."""

import dagster as dg
from dagster_dbt import DbtCliResource
from dagster_dlt import DagsterDltResource

from dagster_project.defs.transform.dbt import dbt_project
from dagster_project.lib.survey_endpoint import SurveyEndpoint
from dagster_project.settings import dbt_executable, load_settings


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
