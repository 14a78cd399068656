"""What earlier steps of the current run materialized: later steps decide from it whether there is work."""

from collections.abc import Mapping
from typing import Any

import dagster as dg


def materialized_in_run(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> dict[dg.AssetKey, list[Mapping[str, Any]]]:
    """The metadata of every asset materialization recorded so far in this run, by asset key."""
    records = context.instance.get_records_for_run(
        run_id=context.run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
    ).records
    materialized: dict[dg.AssetKey, list[Mapping[str, Any]]] = {}
    for record in records:
        if record.asset_materialization is not None:
            materialized.setdefault(record.asset_key, []).append(record.asset_materialization.metadata)
    return materialized


def loaded_nothing_in_run(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext, asset_key: dg.AssetKey) -> bool:
    """Whether the asset was materialized earlier in this run, every time with `rows_loaded` = 0."""
    loads = materialized_in_run(context).get(asset_key, [])
    return bool(loads) and all(metadata.get("rows_loaded") is not None and metadata["rows_loaded"].value == 0 for metadata in loads)
