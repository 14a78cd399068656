"""When a refresh may skip dbt: only after a complete build of the window, from the same raw data and project."""

from pathlib import Path

import duckdb
import pytest

from dagster_project.lib.dbt_builds import complete_builds, is_built, project_fingerprint, record_build

FAMILIES = ["call_center", "crm"]


def add_load(warehouse: Path, family: str, load_id: str, records_seen: int, status: int = 0) -> None:
    """A dlt load of `family` with one load_stats row; status 0 is what dlt writes for a completed load."""
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute(f"create schema if not exists raw_{family}")
        connection.execute(f"create table if not exists raw_{family}.load_stats (records_seen bigint, _dlt_load_id varchar)")
        connection.execute(f"create table if not exists raw_{family}._dlt_loads (load_id varchar, status bigint)")
        connection.execute(f"insert into raw_{family}.load_stats values (?, ?)", [records_seen, load_id])
        connection.execute(f"insert into raw_{family}._dlt_loads values (?, ?)", [load_id, status])


@pytest.fixture
def warehouse(tmp_path) -> Path:
    path = tmp_path / "voc.duckdb"
    add_load(path, "call_center", "1700000001.0", 100)
    add_load(path, "crm", "1700000002.0", 5)
    return path


def build(warehouse: Path, start="2026-03-01", end="2026-03-31", run_id="r1", fingerprint="f1") -> None:
    record_build(warehouse, FAMILIES, fingerprint, start, end, run_id)
    complete_builds(warehouse, run_id)


def test_a_build_counts_only_once_the_run_completes_it(warehouse):
    assert not is_built(warehouse, FAMILIES, "f1", "2026-03-10", "2026-03-11")
    record_build(warehouse, FAMILIES, "f1", "2026-03-01", "2026-03-31", "r1")
    assert not is_built(warehouse, FAMILIES, "f1", "2026-03-10", "2026-03-11")
    complete_builds(warehouse, "r1")
    assert is_built(warehouse, FAMILIES, "f1", "2026-03-10", "2026-03-11")


def test_a_window_being_rebuilt_is_not_built_until_that_run_completes(warehouse):
    """The build is recorded before dbt runs: should that dbt fail, the window's earlier build no longer counts."""
    build(warehouse)
    record_build(warehouse, FAMILIES, "f1", "2026-03-01", "2026-03-31", "r2")
    assert not is_built(warehouse, FAMILIES, "f1", "2026-03-10", "2026-03-11")
    complete_builds(warehouse, "r2")
    assert is_built(warehouse, FAMILIES, "f1", "2026-03-10", "2026-03-11")


def test_only_the_built_window_is_covered(warehouse):
    build(warehouse)
    assert is_built(warehouse, FAMILIES, "f1", "2026-03-01", "2026-03-31")
    assert not is_built(warehouse, FAMILIES, "f1", "2026-03-31", "2026-04-01")


def test_a_load_that_saw_records_forces_a_rebuild(warehouse):
    build(warehouse)
    add_load(warehouse, "crm", "1700000009.0", 0)  # an empty load changes nothing
    assert is_built(warehouse, FAMILIES, "f1", "2026-03-10", "2026-03-11")
    add_load(warehouse, "crm", "1700000010.0", 3, status=1)  # dlt never completed it
    assert is_built(warehouse, FAMILIES, "f1", "2026-03-10", "2026-03-11")
    add_load(warehouse, "crm", "1700000011.0", 3)
    assert not is_built(warehouse, FAMILIES, "f1", "2026-03-10", "2026-03-11")


def test_a_changed_project_forces_a_rebuild(warehouse):
    build(warehouse)
    assert not is_built(warehouse, FAMILIES, "f2", "2026-03-10", "2026-03-11")


def test_the_fingerprint_follows_project_files_not_build_output(tmp_path):
    project = tmp_path / "dbt"
    (project / "models").mkdir(parents=True)
    (project / "target").mkdir()
    model = project / "models" / "stg_x.sql"
    model.write_text("select 1", encoding="utf-8")
    before = project_fingerprint(project)
    (project / "target" / "manifest.json").write_text("{}", encoding="utf-8")
    (project / "target" / "run.sql").write_text("select 2", encoding="utf-8")
    assert project_fingerprint(project) == before
    model.write_text("select 2", encoding="utf-8")
    assert project_fingerprint(project) != before


def test_the_fingerprint_of_an_extra_file_follows_its_contents_not_its_location(tmp_path):
    project = tmp_path / "dbt"
    project.mkdir()
    (project / "dbt_project.yml").write_text("name: x", encoding="utf-8")
    here, there = tmp_path / "a" / "codeframe.yaml", tmp_path / "b" / "codeframe.yaml"
    for path in (here, there):
        path.parent.mkdir()
        path.write_text("version: 1", encoding="utf-8")
    assert project_fingerprint(project, also=[here]) == project_fingerprint(project, also=[there])
    there.write_text("version: 2", encoding="utf-8")
    assert project_fingerprint(project, also=[here]) != project_fingerprint(project, also=[there])


def test_a_manifest_is_reparsed_when_the_project_changed_or_a_dbt_run_by_hand_rewrote_it(tmp_path):
    """An analytics engineer edits a model, runs dbt by hand (which writes target/manifest.json), then reverts the
    edit: the project's fingerprint is the recorded one again, but the manifest is the edited project's graph."""
    import os

    from dagster_project.lib.dbt_builds import manifest_matches_parse, record_parse

    record, manifest = tmp_path / "parsed.txt", tmp_path / "manifest.json"
    assert not manifest_matches_parse(record, manifest, "files-v1")  # a fresh clone: never parsed
    manifest.write_text('{"nodes": {}}')
    record_parse(record, manifest, "files-v1")
    assert manifest_matches_parse(record, manifest, "files-v1")
    assert not manifest_matches_parse(record, manifest, "files-v2")  # a file of the project changed
    manifest.write_text('{"nodes": {"model.x": {}}}')  # dbt run by hand over an edit, since reverted
    os.utime(manifest, ns=(1, 1))
    assert not manifest_matches_parse(record, manifest, "files-v1")
