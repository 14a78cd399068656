"""`voc refresh` runs on Dagster's ephemeral instance with its event log on one SQLite connection."""

import threading

import dagster as dg

from dagster_project.lib.instance import OneConnectionEventLogStorage, ephemeral_instance


@dg.asset
def upstream():
    return 1


@dg.asset(check_specs=[dg.AssetCheckSpec("positive", asset="downstream")])
def downstream(upstream):
    yield dg.Output(upstream + 1)
    yield dg.AssetCheckResult(check_name="positive", passed=True)


def test_events_are_stored_and_read_on_one_connection_from_any_thread(monkeypatch):
    with ephemeral_instance() as instance:
        storage = instance.event_log_storage
        assert isinstance(storage, OneConnectionEventLogStorage)
        opened = []
        original_connect = storage._engine.connect
        monkeypatch.setattr(storage._engine, "connect", lambda: opened.append(1) or original_connect())
        result = dg.materialize([upstream, downstream], instance=instance)
        assert result.success and result.get_asset_check_evaluations()[0].passed
        assert len(opened) <= 3  # the has_table answers, once per table; Dagster's own opened ~7 per event

        seen = []
        reader = threading.Thread(
            target=lambda: seen.append(instance.get_latest_materialization_event(dg.AssetKey("downstream")))
        )
        reader.start()
        reader.join()
        assert seen and seen[0] is not None
