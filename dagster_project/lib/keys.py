"""The one place where dlt resources and dbt sources agree on asset keys.

A dlt resource `<table>` of the source family `<family>` lands in the warehouse as
`raw_<family>.<table>`; dbt declares it as source `raw_<family>`, table `<table>`, whose
default Dagster key is `[raw_<family>, <table>]`. Both translators below produce that key,
so every dbt source depends on the real dlt asset and no placeholder keys exist.

The Python assets of udfs/ (codes, identity) write into the `intermediate` schema; dbt reads
them as source `udf`, keyed `[intermediate, <table>]` like the Python assets themselves.

Each family's load also writes two side tables (`quarantine`, `load_stats`) that no dlt
resource is named after; the ingest assets declare them as extra outputs of the same load,
under the same key scheme.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster import AssetKey, AssetSpec
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings
from dagster_dlt import DagsterDltTranslator
from dagster_dlt.translator import DltResourceTranslatorData

SIDE_TABLES = ("quarantine", "load_stats")
INGEST_GROUP = "ingest"  # every asset a dlt load writes
UDF_SOURCE = "udf"
UDF_SCHEMA = "intermediate"

RAW_PREFIX = "raw_"


def raw_dataset(family: str) -> str:
    return f"{RAW_PREFIX}{family}"


def raw_asset_key(family: str, table: str) -> AssetKey:
    """The key of the asset that writes `raw_<family>.<table>`."""
    return AssetKey([raw_dataset(family), table])


def is_raw_key(key: AssetKey) -> bool:
    """Whether the asset is a table an ingest (dlt) asset writes."""
    return key.path[0].startswith(RAW_PREFIX)


def family_of_dataset(dataset_name: str) -> str:
    if not dataset_name.startswith(RAW_PREFIX):
        raise ValueError(f"dlt dataset {dataset_name!r} does not follow the raw_<family> convention")
    return dataset_name.removeprefix(RAW_PREFIX)


class RawTableTranslator(DagsterDltTranslator):
    """dlt side: key each resource by the raw table it writes, with no upstream deps."""

    def get_asset_spec(self, data: DltResourceTranslatorData) -> AssetSpec:
        default = super().get_asset_spec(data)
        family = family_of_dataset(data.pipeline.dataset_name)
        return default.replace_attributes(
            key=raw_asset_key(family, data.resource.table_name),
            deps=[],
            group_name=INGEST_GROUP,
            kinds={"dlt", "duckdb"},
        )


class VocDbtTranslator(DagsterDbtTranslator):
    """dbt side: sources resolve through `raw_asset_key`; models group by their folder layer."""

    def __init__(self) -> None:
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source" and dbt_resource_props["source_name"] == UDF_SOURCE:
            return AssetKey([UDF_SCHEMA, dbt_resource_props["name"]])
        if dbt_resource_props["resource_type"] == "source":
            family = family_of_dataset(dbt_resource_props["source_name"])
            return raw_asset_key(family, dbt_resource_props["name"])
        return AssetKey([dbt_resource_props["config"]["schema"], dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return dbt_resource_props["config"].get("schema") or "transform"
