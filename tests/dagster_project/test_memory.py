"""Memory is handed back only after steps big enough to have freed some."""

from dagster_project.lib import memory


def test_a_full_collection_runs_only_after_a_large_step(monkeypatch):
    collections = []
    monkeypatch.setattr(memory.gc, "collect", lambda *args: collections.append(args) or 0)
    memory.release_memory_after(memory.LARGE_STEP_ROWS - 1)
    assert collections == []
    memory.release_memory_after(memory.LARGE_STEP_ROWS)
    assert len(collections) == 1
