"""A warehouse's phone hashes are only comparable under one salt: refuse to load with another.

Phones are hashed with the PII salt (settings.py) at ingestion, and identity matching joins channels on those
hashes. A refresh with a different salt (the demo's default before production's was set, or a
rotated secret) would hash the same phone differently and silently split every customer in two.
The first load records a fingerprint of the salt in the warehouse; every load after it compares.
The fingerprint is a sha256 of the salt under a fixed prefix: it reveals no more than the salted
hashes stored beside it.
"""

from __future__ import annotations

import hashlib

import duckdb

SALT_TABLE = "audit.pii_salt"


def salt_fingerprint(salt: str) -> str:
    return hashlib.sha256(f"voc-warehouse pii salt:{salt}".encode()).hexdigest()


def recorded_fingerprint(cursor: duckdb.DuckDBPyConnection) -> str | None:
    try:
        rows = cursor.execute(f"select fingerprint from {SALT_TABLE} order by recorded_at limit 1").fetchall()
    except duckdb.CatalogException:  # a warehouse no load has written yet
        return None
    return rows[0][0] if rows else None


def salt_mismatch(cursor: duckdb.DuckDBPyConnection, salt: str, salt_is_demo: bool) -> str | None:
    """What is wrong and what to do, when the warehouse's hashes were made with another salt; else None."""
    recorded = recorded_fingerprint(cursor)
    if recorded is None or recorded == salt_fingerprint(salt):
        return None
    now = "the public demo salt (no salt is set)" if salt_is_demo else "the salt now set"
    return (
        f"the warehouse's phone hashes were made with another PII salt than {now}: the same phone would get "
        "a different hash and stop matching its customer. Set the salt this warehouse was built with "
        "(VOC_PII_SALT, or sources.pii_salt in .dlt/secrets.toml), or start a new warehouse (delete the file, "
        "or point VOC_WAREHOUSE elsewhere) and refresh every day with the new salt."
    )


def record_salt(cursor: duckdb.DuckDBPyConnection, salt: str) -> None:
    """Called before a load writes hashes: the first load's salt is the warehouse's."""
    if recorded_fingerprint(cursor) is not None:
        return
    cursor.execute("create schema if not exists audit")
    cursor.execute(f"create table if not exists {SALT_TABLE} (fingerprint varchar not null, recorded_at timestamptz not null)")
    cursor.execute(f"insert into {SALT_TABLE} values (?, current_timestamp)", [salt_fingerprint(salt)])


_CHECKED: set[tuple[str, str]] = set()  # (warehouse, fingerprint) this process has checked and recorded


def check_and_record_salt(cursor: duckdb.DuckDBPyConnection, warehouse: str, salt: str, salt_is_demo: bool) -> str | None:
    """Before a load: the mismatch message, else records the salt if it is the first. Once per warehouse and
    salt in a process (a refresh's seven ingest steps ask the same question)."""
    key = (warehouse, salt_fingerprint(salt))
    if key in _CHECKED:
        return None
    if problem := salt_mismatch(cursor, salt, salt_is_demo):
        return problem
    record_salt(cursor, salt)
    _CHECKED.add(key)
    return None
