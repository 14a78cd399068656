"""Interrupted runs and repeated runs end with the same warehouse."""

from __future__ import annotations

from pathlib import Path

from conftest import SALT, Ingest, day

from ingestion.pipeline import declaration_source, family_source, family_tables, make_pipeline

RAW_TABLES = {  # one family per kind of source: files, API, SQL
    "call_center": ["calls", "quarantine"],
    "survey": ["responses", "quarantine"],
    "store": ["dealers", "store_visits", "quarantine"],
}


def _fingerprint(ingest: Ingest) -> dict[str, tuple]:
    """Row count and an order-independent checksum of every raw table, run ids and load times aside."""
    result = {}
    for family, tables in RAW_TABLES.items():
        for table in tables:
            columns = [
                name
                for (name,) in ingest.query(
                    "select column_name from information_schema.columns"
                    f" where table_schema = 'raw_{family}' and table_name = '{table}' order by column_name"
                )
                if not name.startswith("_dlt") and name not in ("_voc_run_id", "run_id", "quarantined_at")
            ]
            row = ", ".join(f'"{name}"' for name in columns)
            result[f"{family}.{table}"] = ingest.query(
                f"select count(*), sum(hash(({row}))) from raw_{family}.{table}"
            )[0]
    return result


def _source(ingest: Ingest, family: str):
    return family_source(family, ingest.landing, pii_salt=SALT, run_id="interrupted")


def test_the_same_day_three_times_gives_identical_tables(ingest):
    prints = []
    for _ in range(3):
        for family in RAW_TABLES:
            ingest.run(family, day(10), day(11), history=True)
        prints.append(_fingerprint(ingest))
    assert prints[0] == prints[1] == prints[2]
    assert prints[0]["call_center.calls"][0] == 2


def test_a_run_killed_during_load_is_completed_on_restart(ingest, tmp_path):
    clean = Ingest(ingest.landing, tmp_path / "clean.duckdb", tmp_path / "clean_dlt")
    clean.run("call_center")
    pipeline = make_pipeline("call_center", ingest.warehouse, ingest.pipelines_dir)
    pipeline.extract(_source(ingest, "call_center"))
    pipeline.normalize()  # the process dies here, before load
    assert ingest.run("call_center") == {}  # restart: the pending package is loaded, nothing new is extracted
    for table in ("calls", "quarantine", "load_stats"):
        query = f"select count(*) from raw_call_center.{table}"
        assert ingest.query(query) == clean.query(query)


def test_a_package_that_fails_to_normalize_is_dropped_and_its_files_read_again(ingest):
    pipeline = make_pipeline("private_domain", ingest.warehouse, ingest.pipelines_dir)
    pipeline.extract(_source(ingest, "private_domain"))
    package_dir = Path(pipeline.working_dir) / "normalize" / "extracted"
    jobs = [job for job in package_dir.rglob("*") if job.is_file() and "new_jobs" in job.parts]
    assert jobs
    for job in jobs:
        job.write_bytes(b"not a parquet file")
    counts = ingest.run("private_domain")
    assert counts["messages"] == 3
    assert ingest.query("select count(*) from raw_private_domain.messages") == [(3,)]
    assert ingest.query("select count(*) from raw_private_domain.load_stats") == [(2,)]


def test_a_failed_first_load_declares_its_tables_empty_and_the_next_load_reads_everything(ingest, tmp_path):
    """What the ingest step runs when a family's first load fails (lib/ingest_assets.py): every table of the
    family exists, empty and in its loaded layout, so dbt's staging views build; no load_stats row says a
    history was read, and the family's next load reads the landing zone as a clean first load does."""
    clean = Ingest(ingest.landing, tmp_path / "clean.duckdb", tmp_path / "clean_dlt")
    clean.run("call_center")
    for family in ("call_center", "store"):
        make_pipeline(family, ingest.warehouse, ingest.pipelines_dir).run(declaration_source(family, "declared"))
        for spec in family_tables(family):
            table = f"raw_{family}.{spec.table}"
            assert ingest.query(f"select count(*) from {table}") == [(0,)], table
            columns = {name for (name,) in ingest.query(
                f"select column_name from information_schema.columns where table_schema = 'raw_{family}' "
                f"and table_name = '{spec.table}'")}
            assert columns >= {*spec.columns} - set(spec.pii) | set(spec.pii.values()), table
        assert not ingest.query(f"select * from information_schema.tables where table_schema = 'raw_{family}' "
                                "and table_name = 'load_stats'")
    ingest.run("call_center")
    for table in ("calls", "quarantine", "load_stats"):
        query = f"select count(*) from raw_call_center.{table}"
        assert ingest.query(query) == clean.query(query) != [(0,)]
