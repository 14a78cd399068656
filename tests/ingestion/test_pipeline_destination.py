"""The family pipeline on an open warehouse connection: dlt's duckdb destination, configured once."""

from __future__ import annotations

import dlt
import duckdb

from ingestion.pipeline import duckdb_connection, make_pipeline


def test_it_is_dlts_duckdb_destination_with_its_configuration_resolved_once(monkeypatch, tmp_path):
    connection = duckdb.connect(str(tmp_path / "voc.duckdb"))
    destination = duckdb_connection(connection)
    plain = dlt.destinations.duckdb(connection)
    assert (destination.destination_type, destination.destination_name) == (plain.destination_type, plain.destination_name)
    resolutions = []
    original = duckdb_connection.configuration
    monkeypatch.setattr(duckdb_connection, "configuration",
                        lambda self, *args, **kwargs: resolutions.append(1) or original(self, *args, **kwargs))
    first = destination.capabilities()
    assert destination.capabilities().max_identifier_length == first.max_identifier_length
    assert len(resolutions) == 1
    connection.close()


def test_a_load_through_the_connection_leaves_it_open(tmp_path):
    connection = duckdb.connect(str(tmp_path / "voc.duckdb"))
    pipeline = make_pipeline("ops", connection, tmp_path / "pipelines", dev_mode=True)
    pipeline.run([{"id": 1}, {"id": 2}], table_name="probe")
    assert connection.execute(f"select count(*) from {pipeline.dataset_name}.probe").fetchone()[0] == 2
    connection.close()


def test_loads_resolve_the_destination_configuration_once_per_distinct_request(monkeypatch, tmp_path):
    """dlt asks for the destination configuration for every client it opens (~15 times a load, each walking
    every config provider); the destination resolves each distinct request once and hands out copies."""
    from dlt.common.destination.reference import Destination

    resolutions = []
    original = Destination.configuration
    monkeypatch.setattr(Destination, "configuration",
                        lambda self, *args, **kwargs: resolutions.append(1) or original(self, *args, **kwargs))
    connection = duckdb.connect(str(tmp_path / "voc.duckdb"))
    pipeline = make_pipeline("ops", connection, tmp_path / "pipelines", dev_mode=True)
    pipeline.run([{"id": 1}], table_name="probe", write_disposition="merge", primary_key="id")
    first_load = len(resolutions)
    pipeline.run([{"id": 1}, {"id": 2}], table_name="probe", write_disposition="merge", primary_key="id")
    assert connection.execute(f"select count(*) from {pipeline.dataset_name}.probe").fetchone()[0] == 2
    assert first_load <= 5 and len(resolutions) == first_load
    connection.close()


def test_dlt_asks_the_remembered_secret_hint_check_and_gets_dlts_answers():
    from typing import Annotated, Optional

    from dlt.common.configuration import resolve
    from dlt.common.configuration.providers import environ
    from dlt.common.configuration.specs import ConnectionStringCredentials
    from dlt.common.typing import TSecretStrValue, TSecretValue

    from ingestion import pipeline

    assert environ.is_secret_hint is pipeline.is_secret_hint
    assert resolve.is_secret_hint is pipeline.is_secret_hint
    unhashable = Annotated[str, {"not": "hashable"}]
    for hint, secret in [(str, False), (int, False), (Optional[str], False), (unhashable, False),
                         (TSecretValue, True), (TSecretStrValue, True), (Optional[TSecretStrValue], True),
                         (ConnectionStringCredentials, True), (Optional[ConnectionStringCredentials], True)]:
        assert pipeline.is_secret_hint(hint) is secret, hint
        assert pipeline._uncached_is_secret_hint(hint) is secret, hint


def test_dlts_dict_validation_reads_each_specs_type_hints_once_and_still_validates(monkeypatch):
    from typing import TypedDict

    import pytest
    from dlt.common import validation
    from dlt.common.exceptions import DictValidationException

    from ingestion import pipeline

    class Hint(TypedDict):
        name: str
        nullable: bool

    resolved, uncached = [], pipeline._uncached_type_hints

    def counted(spec, **kwargs):
        resolved.append(spec)
        return uncached(spec, **kwargs)

    monkeypatch.setattr(pipeline, "_uncached_type_hints", counted)
    assert validation.get_type_hints is pipeline.spec_type_hints
    validation.validate_dict(Hint, {"name": "call_id", "nullable": False}, "./hint")
    validation.validate_dict(Hint, {"name": "text", "nullable": True}, "./hint")
    assert resolved.count(Hint) == 1
    with pytest.raises(DictValidationException):
        validation.validate_dict(Hint, {"name": "call_id", "nullable": "no"}, "./hint")
    with pytest.raises(DictValidationException):
        validation.validate_dict(Hint, {"name": "call_id"}, "./hint")


def test_the_file_catalog_is_asked_once_per_destination(monkeypatch, tmp_path):
    """dlt opens ~15 clients a load; each names the file's catalog, which DuckDB is asked for once."""
    import ingestion.pipeline as pipeline_module

    asked = []
    original = pipeline_module._file_catalog
    monkeypatch.setattr(pipeline_module, "_file_catalog", lambda connection: asked.append(1) or original(connection))
    connection = duckdb.connect(str(tmp_path / "voc.duckdb"))
    pipeline = make_pipeline("ops", connection, tmp_path / "pipelines", dev_mode=True)
    pipeline.run([{"id": 1}], table_name="probe")
    pipeline.run([{"id": 2}], table_name="probe")
    assert connection.execute(f"select count(*) from voc.{pipeline.dataset_name}.probe").fetchone()[0] == 2
    assert pipeline.destination.client_class.file_catalog == "voc"
    assert len(asked) == 1
    connection.close()


def test_a_live_schema_is_read_again_only_when_its_file_changed(monkeypatch, tmp_path):
    """dlt re-read the schema file on every access; an unchanged file now leaves the live schema as it is,
    and a file another pipeline object rewrote is still read."""
    from dlt.common.storages.schema_storage import SchemaStorage

    connection = duckdb.connect(str(tmp_path / "voc.duckdb"))
    pipeline = make_pipeline("ops", connection, tmp_path / "pipelines")
    pipeline.run([{"id": 1}], table_name="probe")
    reads = []
    original = SchemaStorage.load_schema
    monkeypatch.setattr(SchemaStorage, "load_schema", lambda self, name: reads.append(name) or original(self, name))
    schema = pipeline.default_schema
    assert [pipeline.default_schema for _ in range(5)] == [schema] * 5
    assert len(reads) <= 1 and "probe" in schema.tables

    other = make_pipeline("ops", connection, tmp_path / "pipelines")  # the same pipeline, another object
    other.run([{"id": 2}], table_name="second_probe")
    assert "second_probe" in pipeline.default_schema.tables
    assert pipeline.default_schema is schema  # dlt keeps the live instance and replaces its content
    connection.close()
