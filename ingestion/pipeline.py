"""Building a family's dlt pipeline, and settling what a previous, interrupted run left behind."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

import dlt
import dlt.common.configuration as dlt_configuration
import dlt.common.validation as dlt_validation
import duckdb
from dlt.common.configuration import resolve as dlt_resolve
from dlt.common.configuration.providers import environ as dlt_environ_provider
from dlt.common.configuration.providers import vault as dlt_vault_provider
from dlt.common.configuration.specs import ConnectionStringCredentials
from dlt.common.configuration.specs import base_configuration as dlt_base_configuration
from dlt.common.destination import DestinationCapabilitiesContext
from dlt.common.destination.reference import DestinationReference
from dlt.common.schema import Schema
from dlt.common.storages.live_schema_storage import LiveSchemaStorage
from dlt.destinations.impl.duckdb.configuration import DuckDbClientConfiguration, DuckDbCredentials
from dlt.destinations.impl.duckdb.duck import DuckDbClient
from dlt.destinations.impl.duckdb.sql_client import DuckDbSqlClient
from dlt.pipeline.pipeline import Pipeline

from ingestion import FAMILIES

logger = logging.getLogger(__name__)

# Arrow items carry no `_dlt_load_id` by default; the audit models need it to count only completed loads.
dlt.config["normalize.parquet_normalizer.add_dlt_load_id"] = True


def remembered(function):
    """`function` with its answers kept per argument; an argument that cannot be a cache key is answered afresh."""
    cached = functools.lru_cache(maxsize=4096)(function)

    @functools.wraps(function)
    def answer(argument):
        try:
            return cached(argument)
        except TypeError:  # an unhashable argument
            return function(argument)

    return answer


_uncached_is_secret_hint = dlt_base_configuration.is_secret_hint
# dlt asks it for every key it looks up, in every config provider and section: 47,268 times in a daily
# `voc refresh` (cProfile), each unpicking the hint's typing wrappers. The answer depends on the hint alone.
is_secret_hint = remembered(_uncached_is_secret_hint)

# Every module that imported the name by value, and the recursion inside dlt's own function.
for _module in (dlt_base_configuration, dlt_resolve, dlt_environ_provider, dlt_vault_provider, dlt_configuration):
    _module.is_secret_hint = is_secret_hint

_uncached_type_hints = dlt_validation.get_type_hints


@remembered
def _type_hints_in_own_module(spec: Any) -> dict[str, Any]:
    return _uncached_type_hints(spec, globalns=vars(sys.modules[spec.__module__]))


def spec_type_hints(spec: Any, globalns: dict | None = None, localns: dict | None = None,
                    include_extras: bool = False) -> dict[str, Any]:
    """`get_type_hints` for dlt's dict validation, remembered per TypedDict spec.

    dlt validates every schema, table and hint dict against ~15 TypedDict specs, resolving the spec's
    annotations each time (its own TODO says so): 1,964 calls and 0.43 s in an extra-day refresh.
    It resolves them in the spec's own module, whose annotations do not change once loaded; any other
    request is answered afresh. Validation only reads the answer.
    """
    module = sys.modules.get(getattr(spec, "__module__", None))
    if module is not None and globalns is vars(module) and localns is None and not include_extras:
        return _type_hints_in_own_module(spec)
    return _uncached_type_hints(spec, globalns=globalns, localns=localns, include_extras=include_extras)


dlt_validation.get_type_hints = spec_type_hints

_reloaded_live_schema = LiveSchemaStorage.__getitem__


def live_schema(storage: LiveSchemaStorage, name: str) -> Schema:
    """dlt's live schema `name`, re-read from its file only when the file changed.

    On every access dlt re-reads and re-parses the file of a committed (unmodified) live schema and
    puts what it read into the live instance: 77 of 97 accesses in an extra-day refresh, 0.28 s. When
    the file holds exactly the text the live schema was last read from, that would put the same
    content back, so the live instance is returned as it is. Anything else (a modified live schema, a
    changed file, an import schema folder) goes through dlt. The file's text is compared, not a stat
    stamp, which can miss a same-size rewrite within the clock's granularity: 97 reads of an 18 KB
    schema file take ~1.7 ms.
    """
    read_from = storage.__dict__.setdefault("_voc_schema_files_read", {})
    live = storage.live_schemas.get(name)
    try:
        stored = storage.storage.load(storage._file_name_in_store(name, "json"))
    except FileNotFoundError:
        stored = None
    if (
        live is not None
        and stored is not None
        and read_from.get(name) == stored
        and not live.is_modified
        and not storage.config.import_schema_path
    ):
        return live
    schema = _reloaded_live_schema(storage, name)
    read_from[name] = stored
    return schema


LiveSchemaStorage.__getitem__ = live_schema


class duckdb_connection(dlt.destinations.duckdb):  # noqa: N801 - a dlt destination factory, named like dlt's
    """dlt's duckdb destination on an open connection, whose configuration is resolved once.

    dlt resolves the destination configuration through every config provider on each
    `capabilities()` call: about 40 times per load, ~6 ms each (a quarter of a small load). With the
    connection given, nothing a provider could supply changes within the destination's life.
    """

    def __init__(self, connection: duckdb.DuckDBPyConnection, **kwargs):
        super().__init__(credentials=connection, **kwargs)

    @property
    def destination_type(self) -> str:  # dlt's own type: pipeline state and naming stay those of "duckdb"
        parent = dlt.destinations.duckdb
        return DestinationReference.normalize_type(f"{parent.__module__}.{parent.__qualname__}")

    @cached_property
    def _explicit_config(self) -> DuckDbClientConfiguration:
        credentials = DuckDbCredentials(self.config_params["credentials"])
        return self.configuration(self.spec(credentials=credentials), accept_partial=True)

    def capabilities(self, config=None, naming=None) -> DestinationCapabilitiesContext:
        return super().capabilities(config if config is not None else self._explicit_config, naming)

    def configuration(self, initial_config, accept_partial: bool = False):
        """Resolved once per distinct initial configuration (dataset, schema …): dlt asks again for every
        client it opens, ~15 times per load, each walking every config provider. The same object is
        handed out again, so its credentials keep one connection pool (a copy would start a second pool,
        which re-applies the session settings on the shared connection while a load thread uses it)."""
        key = (repr(sorted((name, repr(value)) for name, value in (initial_config or {}).items())), accept_partial)
        if key not in self._resolved:
            self._resolved[key] = super().configuration(initial_config, accept_partial)
        return self._resolved[key]

    @cached_property
    def _resolved(self) -> dict:
        return {}

    @cached_property
    def client_class(self) -> type[DuckDbClient]:
        """dlt's DuckDB client naming the connection's file catalog, asked of DuckDB once per destination
        instead of once per client (~100 clients and 0.14 s in an extra-day refresh)."""
        catalog = _file_catalog(self.config_params["credentials"])
        return type(_CatalogDuckDbClient.__name__, (_CatalogDuckDbClient,), {"file_catalog": catalog})


def _file_catalog(connection: duckdb.DuckDBPyConnection) -> str | None:
    """The catalog of the database file the connection writes to (its own cursor: the connection may be busy)."""
    cursor = connection.cursor()
    try:
        row = cursor.execute("select database_name from duckdb_databases() where not internal and path is not null").fetchone()
    finally:
        cursor.close()
    return row[0] if row else None


class _CatalogDuckDbClient(DuckDbClient):
    """dlt's DuckDB client naming the connection's current catalog in every table name.

    The warehouse connection attaches the file under its usual catalog name (see
    dagster_project/lib/warehouse.py: an attach option sets the row-group size), while the cursors dlt
    borrows start in the in-memory primary catalog. dlt's DuckDB client names `dataset.table` only, so
    without the catalog it would look for its datasets in memory."""

    file_catalog: str | None = None  # set per connection by `duckdb_connection.client_class`

    def __init__(self, schema, config, capabilities) -> None:
        super().__init__(schema, config, capabilities)
        if self.file_catalog is not None:
            self.sql_client.catalog_name = _fixed_catalog(self.sql_client, self.file_catalog)


def _fixed_catalog(sql_client: DuckDbSqlClient, catalog: str):
    def catalog_name(quote: bool = True, casefold: bool = True) -> str:
        name = sql_client.capabilities.casefold_identifier(catalog) if casefold else catalog
        return sql_client.capabilities.escape_identifier(name) if quote else name

    return catalog_name


def make_pipeline(
    family: str,
    warehouse: Path | duckdb.DuckDBPyConnection,
    pipelines_dir: Path,
    dev_mode: bool = False,
    memory_limit: str | None = None,
) -> Pipeline:
    """The pipeline ``voc_<family>`` loading into dataset ``raw_<family>`` of the DuckDB warehouse.

    `warehouse` is the file, which every load step opens and closes, or an open connection that
    dlt borrows cursors from and leaves open (its owner's settings apply). Sources yield Arrow
    tables, so parquet is the loader format; left-over packages are settled first.
    """
    if family not in FAMILIES:
        raise ValueError(f"unknown source family {family!r}; expected one of {FAMILIES}")
    if isinstance(warehouse, duckdb.DuckDBPyConnection):
        destination = duckdb_connection(warehouse)
    else:
        Path(warehouse).parent.mkdir(parents=True, exist_ok=True)
        # memory_limit: DuckDB's buffer pool otherwise grows to 80% of RAM inside the loading process.
        config = {"memory_limit": memory_limit} if memory_limit else None
        destination = dlt.destinations.duckdb(DuckDbCredentials(str(warehouse), global_config=config))
    pipeline = dlt.pipeline(
        pipeline_name=f"voc_{family}",
        destination=destination,
        dataset_name=f"raw_{family}",
        pipelines_dir=str(pipelines_dir),
        dev_mode=dev_mode,
    )
    settle_pending_packages(pipeline)
    return pipeline


def settle_pending_packages(pipeline: Pipeline) -> None:
    """Finish what an interrupted run left, so a restarted run ends with the same counts.

    A package that was normalized but not (fully) loaded holds good data: it is loaded now. A
    package that was extracted but cannot be normalized would block every later run: it is aborted,
    which also restores the source state (file fingerprints, cursors) to before that package.
    """
    if pipeline.list_extracted_load_packages():
        try:
            pipeline.normalize()
        except Exception as error:  # noqa: BLE001 - any normalize failure means the package is unusable
            logger.warning(
                "pipeline %s: dropping extracted packages %s that failed to normalize (%s); "
                "source state is restored so their data is extracted again",
                pipeline.pipeline_name,
                list(pipeline.list_extracted_load_packages()),
                error,
            )
            pipeline.abort_packages()
    if pipeline.list_normalized_load_packages():
        logger.warning(
            "pipeline %s: completing the load of pending packages %s left by an interrupted run",
            pipeline.pipeline_name,
            list(pipeline.list_normalized_load_packages()),
        )
        pipeline.load()


def family_tables(family: str) -> list:
    """The TableSpecs of a family's data tables (each family module's TABLES)."""
    import importlib

    if family not in FAMILIES:
        raise ValueError(f"unknown source family {family!r}; expected one of {FAMILIES}")
    return list(importlib.import_module(f"ingestion.{family}").TABLES)


def declaration_source(family: str, run_id: str):
    """The family's tables, empty, without reading its source: what a first load that failed still owes dbt.

    dbt's staging views, and `int_feedback_unified` over every channel, need each raw table to exist; a family
    declares its tables in its first load (records.declare_table_once), so a first load that fails (a CRM
    unreachable on the first day) left none, and the other channels' staging could not be built either. The
    source and resources have the family's names, so the real resources find their tables declared.
    """
    from ingestion.records import declare_table_once

    def declared(spec):
        @dlt.resource(name=spec.table, **spec.resource_hints())
        def table():
            yield from declare_table_once(dlt.current.resource_state(), spec, run_id)

        return table

    @dlt.source(name=family)
    def declarations():
        return [declared(spec) for spec in family_tables(family)]

    return declarations()


SQLITE_FILES = {"store": "store/dms.sqlite", "crm": "crm/crm.sqlite", "ops": "ops/ops.sqlite"}


def sql_credentials(family: str, landing: Path) -> str:
    """Where a SQL family reads: `sources.<family>.credentials` from dlt's config (the environment variable
    SOURCES__<FAMILY>__CREDENTIALS or `.dlt/secrets.toml`: a SQLAlchemy URL, a SQLite path, or a table of
    drivername, username, password, host, port, database); without it, the landing zone's SQLite export
    (the demo's layout, docs/landing_zone.md)."""
    configured = dlt.secrets.get(f"sources.{family}.credentials")
    if not configured:
        return str(Path(landing) / SQLITE_FILES[family])
    if isinstance(configured, Mapping):
        return ConnectionStringCredentials(dict(configured)).to_native_representation()
    return str(configured)


def family_source(
    family: str,
    landing: Path,
    *,
    window_start=None,
    window_end=None,
    pii_salt: str,
    run_id: str | None = None,
    is_history_window: bool = False,
    survey_url: str | None = None,
    survey_api_key: str | None = None,
):
    """The family's dlt source over a landing zone laid out as in docs/landing_zone.md."""
    from ingestion.call_center import call_center_source
    from ingestion.crm import crm_source
    from ingestion.ops import ops_source
    from ingestion.private_domain import private_domain_source
    from ingestion.public_opinion import public_opinion_source
    from ingestion.store import store_source
    from ingestion.survey import survey_source

    window = dict(
        window_start=window_start,
        window_end=window_end,
        pii_salt=pii_salt,
        run_id=run_id,
        is_history_window=is_history_window,
    )
    file_sources = {
        "call_center": call_center_source,
        "private_domain": private_domain_source,
        "public_opinion": public_opinion_source,
    }
    sql_sources = {"store": store_source, "crm": crm_source, "ops": ops_source}
    if family in file_sources:
        return file_sources[family](bucket_url=str(Path(landing) / family), **window)
    if family in sql_sources:
        return sql_sources[family](credentials=sql_credentials(family, landing), **window)
    if family == "survey":
        if not survey_url:
            raise ValueError("the survey source needs the survey API's base URL")
        key = {"api_key": survey_api_key} if survey_api_key else {}  # else dlt resolves sources.survey.api_key
        return survey_source(base_url=survey_url, **key, **window)
    raise ValueError(f"unknown source family {family!r}; expected one of {FAMILIES}")
