"""What earlier steps of the current run materialized: later steps decide from it whether there is work."""

from collections.abc import Mapping
from typing import Any

import dagster as dg


def materialized_in_run(
    context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext, asset_key: dg.AssetKey
) -> Mapping[str, Any] | None:
    """The metadata of the asset's latest materialization if this run made it, else None.

    A range of partitions materializes each partition with the same metadata, so the latest event
    speaks for the run; one indexed lookup per key, not a scan of the run's events.
    """
    entry = context.instance.get_latest_materialization_event(asset_key)
    if entry is None or entry.run_id != context.run.run_id or entry.asset_materialization is None:
        return None
    return entry.asset_materialization.metadata


def loaded_nothing_in_run(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext, asset_key: dg.AssetKey) -> bool:
    """Whether the asset was materialized earlier in this run with `rows_loaded` = 0."""
    metadata = materialized_in_run(context, asset_key)
    return metadata is not None and metadata.get("rows_loaded") is not None and metadata["rows_loaded"].value == 0
