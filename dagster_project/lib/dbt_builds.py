"""A refresh with nothing new skips dbt, and with it every step after it.

The dbt step that reads raw tables records each build before it runs dbt: the partition window, the
raw watermark (the newest completed dlt load that saw at least one record — loaded, quarantined
or deduplicated) and a fingerprint of the dbt project's files and the codeframe (the steps after
dbt code with it). The last dbt step of the same run (the one after the Python assets, which
reads no raw table) marks the build complete once it has succeeded. When the
raw-reading step comes round again with ingestion having seen nothing since, the project
unchanged and the window built completely, dbt would rebuild the same rows: the step yields
nothing and Dagster skips every step after it. A step that fails or is killed leaves the build
incomplete, so the next refresh rebuilds. The record lives in the warehouse (not in Dagster's
event log), so `voc refresh` on an ephemeral instance and `dagster dev` share it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg
import duckdb

from dagster_project.lib.keys import raw_dataset
from dagster_project.lib.run_records import materialized_in_run
from dagster_project.lib.warehouse import warehouse_connection
from ingestion.quarantine import LOAD_STATS_TABLE, completed_load_stats

BUILDS_TABLE = "audit.dbt_builds"
PROJECT_FILE_SUFFIXES = {".sql", ".yml", ".yaml", ".csv", ".md"}
NOT_PROJECT_FILES = {"target", "logs", "dbt_packages"}


def project_fingerprint(project_dir: Path, also: Iterable[Path] = ()) -> str:
    """A hash of every file dbt reads to build (models, macros, tests, project and profile config) and of `also`."""
    digest = hashlib.sha256()
    for path in sorted(project_dir.rglob("*")):
        relative = path.relative_to(project_dir)
        if path.is_file() and path.suffix in PROJECT_FILE_SUFFIXES and relative.parts[0] not in NOT_PROJECT_FILES:
            digest.update(str(relative).encode())
            digest.update(path.read_bytes())
    for path in also:  # by name and contents: the same files in another checkout are the same build
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _parse_stamp(manifest: Path, fingerprint: str) -> str:
    """The project's fingerprint and the manifest file's size and modification time."""
    try:
        stat = manifest.stat()
    except OSError:
        return f"{fingerprint} no manifest"
    return f"{fingerprint} {stat.st_size}:{stat.st_mtime_ns}"


def record_parse(record: Path, manifest: Path, fingerprint: str) -> None:
    """After a parse: which project files the manifest was parsed from, and which manifest file that parse wrote."""
    record.write_text(_parse_stamp(manifest, fingerprint))


def manifest_matches_parse(record: Path, manifest: Path, fingerprint: str) -> bool:
    """Whether the manifest is the one the last recorded parse wrote, from the project files as they are now.

    The manifest file is part of the answer because dbt run by hand (`dbt build` in dbt/) rewrites it for the files
    as they were then: edited and reverted since, the fingerprint alone would match again over a stale graph."""
    return record.exists() and record.read_text() == _parse_stamp(manifest, fingerprint)


def _table_exists(connection: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(
        connection.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", [schema, table]
        ).fetchone()[0]
    )


def raw_watermark(connection: duckdb.DuckDBPyConnection, families: Iterable[str]) -> str:
    """The newest completed dlt load id, over all families, whose load_stats saw any record ('' if none)."""
    newest = ""
    for family in families:
        schema = raw_dataset(family)
        if not (_table_exists(connection, schema, LOAD_STATS_TABLE) and _table_exists(connection, schema, "_dlt_loads")):
            continue
        (load_id,) = connection.execute(
            f"""
            select max(stats._dlt_load_id) from {completed_load_stats(schema)} where stats.records_seen > 0
            """
        ).fetchone()
        newest = max(newest, load_id or "")
    return newest


def _ensure_table(connection: duckdb.DuckDBPyConnection) -> None:
    connection.execute("create schema if not exists audit")
    connection.execute(
        f"create table if not exists {BUILDS_TABLE} (window_start date, window_end date, raw_watermark varchar, "
        "project_fingerprint varchar, run_id varchar, complete boolean, built_at timestamp with time zone)"
    )


def is_built(warehouse: Path, families: Iterable[str], fingerprint: str, window_start: str, window_end: str) -> bool:
    """Whether a complete build of [window_start, window_end) used the current raw data and this project."""
    if not warehouse.exists():
        return False
    with warehouse_connection(warehouse, read_only=True) as connection:
        if not _table_exists(connection, *BUILDS_TABLE.split(".")):
            return False
        watermark = raw_watermark(connection, families)
        (covering,) = connection.execute(
            f"select count(*) from {BUILDS_TABLE} where complete and raw_watermark = ? and project_fingerprint = ? "
            "and window_start <= cast(? as date) and window_end >= cast(? as date)",
            [watermark, fingerprint, window_start, window_end],
        ).fetchone()
    return bool(covering)


def record_build(warehouse: Path, families: Iterable[str], fingerprint: str, window_start: str, window_end: str, run_id: str) -> None:
    """Record the raw-reading step's build, incomplete until `complete_builds`; drop builds it supersedes."""
    with warehouse_connection(warehouse) as connection:
        _ensure_table(connection)
        watermark = raw_watermark(connection, families)
        connection.execute("begin transaction")
        connection.execute(
            f"delete from {BUILDS_TABLE} where raw_watermark <> ? or project_fingerprint <> ? "
            "or (window_start = cast(? as date) and window_end = cast(? as date))",
            [watermark, fingerprint, window_start, window_end],
        )
        connection.execute(
            f"insert into {BUILDS_TABLE} values (cast(? as date), cast(? as date), ?, ?, ?, false, ?)",
            [window_start, window_end, watermark, fingerprint, run_id, datetime.now(timezone.utc)],
        )
        connection.execute("commit")


def complete_builds(warehouse: Path, run_id: str) -> None:
    """The run's last dbt step succeeded: its builds may now be skipped when nothing changes."""
    with warehouse_connection(warehouse) as connection:
        _ensure_table(connection)
        connection.execute(f"update {BUILDS_TABLE} set complete = true where run_id = ?", [run_id])


def raw_upstream_loaded_in_run(context: dg.AssetExecutionContext, raw_upstream: set[dg.AssetKey]) -> bool:
    """Whether every raw asset this step reads was loaded earlier in this run.

    A run that selects dbt alone (a rebuild from the UI) always builds.
    """
    return bool(raw_upstream) and all(materialized_in_run(context, key) is not None for key in raw_upstream)
