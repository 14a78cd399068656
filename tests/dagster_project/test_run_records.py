"""A check or dbt step learns from this run's earlier materializations whether there is anything new."""

import dagster as dg

from dagster_project.lib.run_records import loaded_nothing_in_run


def table_and_check(rows_loaded: int):
    @dg.asset(name="table")
    def table():
        return dg.MaterializeResult(metadata={"rows_loaded": dg.MetadataValue.int(rows_loaded)})

    @dg.multi_asset_check(specs=[dg.AssetCheckSpec("validate", asset=table.key)], can_subset=True)
    def validate(context: dg.AssetCheckExecutionContext):
        if not loaded_nothing_in_run(context, table.key):
            yield dg.AssetCheckResult(asset_key=table.key, check_name="validate", passed=True)

    return table, validate


def evaluations(result) -> int:
    return len(result.get_asset_check_evaluations())


def test_a_check_is_skipped_only_after_an_empty_load_in_the_same_run():
    with dg.DagsterInstance.ephemeral() as instance:
        table, validate = table_and_check(rows_loaded=0)
        assert evaluations(dg.materialize([table, validate], instance=instance)) == 0
        # Run alone, the check does not see the earlier run's empty load as its own: it validates.
        alone = dg.materialize([table, validate], instance=instance, selection=dg.AssetSelection.checks(validate))
        assert evaluations(alone) == 1
    with dg.DagsterInstance.ephemeral() as instance:
        table, validate = table_and_check(rows_loaded=5)
        assert evaluations(dg.materialize([table, validate], instance=instance)) == 1


def test_every_ingest_materialization_says_how_many_rows_it_loaded():
    from dagster_project.lib.ingest_assets import with_rows_loaded

    empty = dg.MaterializeResult(asset_key="calls", metadata={"dataset": "raw_x"}, tags={"t": "1"})
    marked = with_rows_loaded(empty)
    assert marked.metadata["rows_loaded"].value == 0 and marked.metadata["dataset"] == "raw_x"
    assert (marked.asset_key, marked.tags) == (empty.asset_key, empty.tags)
    loaded = dg.MaterializeResult(asset_key="calls", metadata={"rows_loaded": dg.MetadataValue.int(7)})
    assert with_rows_loaded(loaded) is loaded
