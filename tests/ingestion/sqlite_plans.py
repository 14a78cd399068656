"""How SQLite would run a statement: the detail column of `EXPLAIN QUERY PLAN`, joined into one line."""

import sqlite3


def query_plan(connection: sqlite3.Connection, sql: str, parameters=()) -> str:
    return " ".join(row[-1] for row in connection.execute(f"EXPLAIN QUERY PLAN {sql}", parameters))
