"""Resources shared by the defs: the dlt runner, the dbt CLI, the survey API endpoint and the run's hold on the warehouse."""

import dagster as dg
from dagster_dlt import DagsterDltResource

from dagster_project.defs.transform.dbt import dbt_cli_resource
from dagster_project.lib.survey_endpoint import SurveyEndpoint
from dagster_project.lib.warehouse import WarehouseResource


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "dlt": DagsterDltResource(),
            "dbt": dbt_cli_resource(),
            "survey_endpoint": SurveyEndpoint(),
            "warehouse": WarehouseResource(),
        }
    )
