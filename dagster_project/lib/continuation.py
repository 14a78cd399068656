"""A failed source does not hold back the others: which failures the build after ingestion can go on from."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import dagster as dg
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG, PARTITION_NAME_TAG

from dagster_project.lib.keys import INGEST_GROUP

INGEST_STEP_PREFIX = "ingest_"
# Every asset after ingestion (with its checks): staging, intermediate, codes, marts.
AFTER_INGEST = dg.AssetSelection.all() - dg.AssetSelection.groups(INGEST_GROUP)

_PARTITION_TAGS = (PARTITION_NAME_TAG, ASSET_PARTITION_RANGE_START_TAG, ASSET_PARTITION_RANGE_END_TAG)


def failed_ingest_steps(failed_step_keys: Iterable[str], succeeded_step_keys: Iterable[str]) -> list[str]:
    """The failed steps, when all of them are ingest steps and another ingest step loaded; else [].

    A failed dbt or codes step is not bypassed by building again, and when every source failed (a salt
    the warehouse refuses, a full disk) nothing new was loaded to build from.
    """
    failed = sorted(set(failed_step_keys))
    if not failed or not all(key.startswith(INGEST_STEP_PREFIX) for key in failed):
        return []
    return failed if any(key.startswith(INGEST_STEP_PREFIX) for key in succeeded_step_keys) else []


def partition_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """The tags that name a run's days (one partition or a range), for a run over the same days."""
    return {key: tags[key] for key in _PARTITION_TAGS if key in tags}
