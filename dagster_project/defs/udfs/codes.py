"""Codeframe assets: every utterance coded (feedback_codes), the tree for BI, and what goes uncoded.

The Python work lives in udfs/codeframe (pure pandas); this multi-asset only reads and writes the
warehouse. The three tables are one step so that dbt runs once before and once after them.
"""

import tempfile
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import dagster as dg
import pandas as pd
import pyarrow.parquet as pq

from dagster_project.lib.memory import release_memory_after
from dagster_project.lib.partitions import LOOKBACK_DAYS, daily_partitions, single_run, window_days
from dagster_project.lib.recoding import not_recoded
from dagster_project.lib.warehouse import WAREHOUSE_WRITER_POOL, release_warehouse, warehouse_connection
from dagster_project.settings import load_settings
from udfs.codeframe.batch import classify_frames_parallel, close_pools, parallel_workers
from udfs.codeframe.classifier import get_classifier
from udfs.codeframe.schema import load_codeframe
from udfs.codeframe.tables import classifier_uncoded_terms, codeframe_frame

UNIFIED = dg.AssetKey(["intermediate", "int_feedback_unified"])
FEEDBACK_CODES = dg.AssetKey(["intermediate", "feedback_codes"])
CODEFRAME = dg.AssetKey(["intermediate", "codeframe"])
UNCODED_TERMS = dg.AssetKey(["intermediate", "uncoded_terms"])
# The version at definition time is the assets' code version: Dagster marks coded partitions stale when it changes.
CODEFRAME_VERSION = load_codeframe(load_settings().codeframe).version
UNCODED_TERMS_DAYS = 30
CODING_CHUNK = 100_000

FEEDBACK_CODES_DDL = """
create table if not exists intermediate.feedback_codes (
    feedback_id varchar not null,
    event_date date not null,
    codeframe_version varchar not null,
    code varchar not null,
    l1 varchar, l2 varchar, l3 varchar,
    sentiment tinyint, sentiment_score double,
    severity varchar, need_layer varchar, point_type varchar,
    evidence varchar, "start" integer, "end" integer,
    method varchar,
    text_hash varchar not null,
    coded_at timestamp with time zone not null
)
"""


def _codes_spec(key: dg.AssetKey, description: str, code_version: str | None = CODEFRAME_VERSION) -> dg.AssetSpec:
    # Every table depends on int_feedback_unified, which keeps the whole step between the two dbt steps.
    return dg.AssetSpec(
        key, deps=[UNIFIED], code_version=code_version, group_name="codes", kinds={"python", "duckdb"}, description=description
    )


@dg.multi_asset(
    specs=[
        _codes_spec(
            FEEDBACK_CODES,
            "One row per utterance × code under the current codeframe version (an `uncoded` row when "
            "nothing applies). Only utterances not yet coded with this version and text are coded; rows of "
            "older versions stay queryable. A new codeframe version re-codes history through a backfill.",
        ),
        _codes_spec(
            CODEFRAME,
            "The unified codeframe (udfs/codeframe/codeframe.yaml) as a table: one row per L1, L2 and leaf.",
        ),
        _codes_spec(
            UNCODED_TERMS,
            f"Frequent terms of utterances the codeframe left uncoded in the {UNCODED_TERMS_DAYS} days up to "
            "the window end, ranked by utterances × IDF, with examples: what analysts should add next.",
            code_version=None,
        ),
    ],
    partitions_def=daily_partitions,
    backfill_policy=single_run,
    pool=WAREHOUSE_WRITER_POOL,
)
def codeframe_assets(context: dg.AssetExecutionContext):
    window = context.partition_time_window
    warehouse = load_settings().warehouse
    yield code_window(context, warehouse, *window_days(window, LOOKBACK_DAYS))
    yield write_codeframe(warehouse)
    yield write_uncoded_terms(warehouse, window.end)


def code_window(context: dg.AssetExecutionContext, warehouse, first_day: str, end_day: str) -> dg.MaterializeResult:
    """Codes the utterances of [first_day, end_day) that this codeframe version has not coded with their current text."""
    codeframe_path = str(load_settings().codeframe)
    version = get_classifier(codeframe_path).version
    release_warehouse()  # the classifier workers fork from this process: no open database in them
    with tempfile.TemporaryDirectory(prefix="voc-codes-") as scratch:
        todo_path = Path(scratch) / "todo.parquet"
        todo_count = spool_uncoded(warehouse, todo_path, first_day, end_day, version)
        release_memory_after(todo_count)  # before the classifier workers fork from this process
        # Classify with no warehouse connection open (the worker processes are forked), a chunk at a
        # time read back from the spool, so memory stays flat however many days a backfill covers.
        context.log.info(f"coding {todo_count:,} utterances of {first_day} … {end_day} with codeframe {version}")
        code_rows, done = 0, 0
        chunks = (batch.to_pandas() for batch in pq.ParquetFile(todo_path).iter_batches(batch_size=CODING_CHUNK))
        workers = parallel_workers(todo_count, 2)
        # The workers code the next chunk while this process writes the last one's codes; closed on a failed
        # write, so the pool's feeder stops reading the spool.
        with closing(classify_frames_parallel(chunks, "text", "feedback_id", codeframe_path, workers)) as coded:
            for chunk, codes in coded:
                codes = codes.merge(chunk[["feedback_id", "event_date", "text_hash"]], on="feedback_id", how="left")
                codes["coded_at"] = pd.Timestamp.now(tz="UTC")
                with warehouse_connection(warehouse) as connection:
                    connection.register("new_codes", codes)
                    connection.execute("begin transaction")
                    connection.execute(
                        "delete from intermediate.feedback_codes where codeframe_version = ? "
                        "and feedback_id in (select feedback_id from new_codes)",
                        [version],
                    )
                    connection.execute("insert into intermediate.feedback_codes by name select * from new_codes")
                    connection.execute("commit")
                code_rows += len(codes)
                done += len(chunk)
                context.log.info(f"coded {done:,} / {todo_count:,} utterances")
    close_pools()  # the workers' memory is not needed by the dbt step that follows
    release_memory_after(todo_count)
    with warehouse_connection(warehouse) as connection:
        coded_share = connection.execute(
            "select avg(case when coded then 1.0 else 0.0 end) from (select feedback_id, bool_or(code <> 'uncoded') as coded "
            "from intermediate.feedback_codes where codeframe_version = ? and event_date >= cast(? as date) "
            "and event_date < cast(? as date) group by feedback_id)",
            [version, first_day, end_day],
        ).fetchone()[0]
        older = not_recoded(connection, "intermediate.feedback_codes", version)
    if older:
        context.log.warning(older.advice(version))
    return dg.MaterializeResult(
        asset_key=FEEDBACK_CODES,
        metadata={
            "utterances_coded": todo_count,
            "code_rows_written": code_rows,
            "codeframe_version": version,
            "coded_share_in_window": float(coded_share or 0.0),
            "utterances_not_recoded": older.utterances if older else 0,
        },
    )


def spool_uncoded(warehouse, todo_path: Path, first_day: str, end_day: str, version: str) -> int:
    """Writes the utterances of [first_day, end_day) not yet coded with this version and text to Parquet.

    Streamed batch by batch: a 60-day backfill holds ~1.2M texts, which as one pandas frame next
    to DuckDB's working memory took this process past 2.7 GB.
    """
    rows = 0
    with warehouse_connection(warehouse) as connection:
        connection.execute("create schema if not exists intermediate")
        connection.execute(FEEDBACK_CODES_DDL)
        reader = connection.sql(
            """
            select u.feedback_id, u.event_date, coalesce(u.text, '') as text, md5(coalesce(u.text, '')) as text_hash
            from intermediate.int_feedback_unified as u
            where u.event_date >= cast(? as date) and u.event_date < cast(? as date)
              and not exists (
                select 1 from intermediate.feedback_codes as c
                where c.feedback_id = u.feedback_id and c.codeframe_version = ? and c.text_hash = md5(coalesce(u.text, ''))
              )
            """,
            params=[first_day, end_day, version],
        ).to_arrow_reader(CODING_CHUNK)
        with pq.ParquetWriter(todo_path, reader.schema) as writer:
            for batch in reader:
                writer.write_batch(batch)
                rows += batch.num_rows
    return rows


def write_codeframe(warehouse) -> dg.MaterializeResult:
    tree = codeframe_frame(load_codeframe(load_settings().codeframe))
    with warehouse_connection(warehouse) as connection:
        connection.execute("create schema if not exists intermediate")
        connection.register("tree", tree)
        connection.execute("create or replace table intermediate.codeframe as select * from tree")
    return dg.MaterializeResult(
        asset_key=CODEFRAME,
        metadata={"nodes": len(tree), "leaves": int((tree["level"] == 3).sum()), "version": tree["codeframe_version"].iat[0]},
    )


def write_uncoded_terms(warehouse, window_end) -> dg.MaterializeResult:
    first_day = (window_end - timedelta(days=UNCODED_TERMS_DAYS)).strftime("%Y-%m-%d")
    classifier = get_classifier(str(load_settings().codeframe))
    with warehouse_connection(warehouse) as connection:
        uncoded = connection.execute(
            """
            select u.feedback_id, u.text
            from intermediate.int_feedback_unified as u
            join intermediate.feedback_codes as c
              on c.feedback_id = u.feedback_id and c.codeframe_version = ? and c.code = 'uncoded'
            where u.event_date >= cast(? as date) and u.event_date < cast(? as date)
            order by u.feedback_id
            """,
            [classifier.version, first_day, window_end.strftime("%Y-%m-%d")],
        ).df()
        terms = classifier_uncoded_terms(classifier, uncoded)
        terms["window_start"] = pd.Timestamp(first_day).date()
        terms["window_end"] = window_end.date()
        connection.register("terms", terms)
        # explicit types: an empty frame (nothing uncoded in the window) would otherwise make NULL-typed columns
        connection.execute(
            """
            create or replace table intermediate.uncoded_terms as
            select cast(term as varchar) as term, cast(utterances as bigint) as utterances,
                   cast(share_of_uncoded as double) as share_of_uncoded, cast(score as double) as score,
                   cast(examples as varchar) as examples, cast(codeframe_version as varchar) as codeframe_version,
                   cast(window_start as date) as window_start, cast(window_end as date) as window_end
            from terms
            """
        )
    return dg.MaterializeResult(asset_key=UNCODED_TERMS, metadata={"uncoded_utterances": len(uncoded), "terms": len(terms)})
