"""A warehouse keeps the salt its phone hashes were made with: another salt is refused, never mixed in."""

import duckdb

from dagster_project import cli
from dagster_project.lib.pii_salt import (
    check_and_record_salt,
    record_salt,
    recorded_fingerprint,
    salt_fingerprint,
    salt_mismatch,
)


def test_the_first_salt_is_recorded_and_another_one_is_refused_with_what_to_do(tmp_path):
    with duckdb.connect(str(tmp_path / "voc.duckdb")) as connection:
        assert recorded_fingerprint(connection) is None and salt_mismatch(connection, "a", False) is None
        record_salt(connection, "a")
        record_salt(connection, "b")  # a later salt never replaces the first
        assert recorded_fingerprint(connection) == salt_fingerprint("a")
        assert salt_mismatch(connection, "a", False) is None
        problem = salt_mismatch(connection, "voc-demo", True)
    assert "another PII salt than the public demo salt" in problem
    assert "Set the salt this warehouse was built with (VOC_PII_SALT, or sources.pii_salt in .dlt/secrets.toml)" in problem


def test_a_refresh_with_another_salt_is_refused_before_the_job_loads(tmp_path, monkeypatch, capsys):
    def job_loaded():
        raise AssertionError("the job was loaded before the salt was checked")

    monkeypatch.setattr(cli, "_frozen_refresh_job", job_loaded)
    warehouse = tmp_path / "voc.duckdb"
    with duckdb.connect(str(warehouse)) as connection:
        record_salt(connection, "the salt it was built with")
    monkeypatch.setenv("VOC_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("VOC_PII_SALT", "a rotated salt")
    assert cli.run_refresh("2026-03-01", "2026-03-01") is False
    error = capsys.readouterr().err
    assert f"Cannot refresh {warehouse}: the warehouse's phone hashes were made with another PII salt" in error


def test_the_ingest_steps_check_once_per_process_and_record_the_first_salt(tmp_path):
    """Seven ingest steps per refresh ask the same question: the answer is kept for the process."""
    path = str(tmp_path / "voc.duckdb")
    connection = duckdb.connect(path)
    assert check_and_record_salt(connection, path, "a", False) is None
    assert recorded_fingerprint(connection) == salt_fingerprint("a")
    connection.close()
    assert check_and_record_salt(connection, path, "a", False) is None  # not asked again: the closed connection is not used
    with duckdb.connect(path) as reopened:
        assert "another PII salt" in check_and_record_salt(reopened, path, "b", False)


def test_the_salt_comes_from_the_environment_or_dlts_secrets(tmp_path):
    """Secrets come from the environment or .dlt/secrets.toml: the salt is one. In a fresh process run from a
    folder with its own .dlt/ (dlt reads its providers once per process)."""
    import os
    import subprocess
    import sys

    probe = "from dagster_project.settings import load_settings; s = load_settings(); print(s.pii_salt, s.pii_salt_is_demo)"
    env = {key: value for key, value in os.environ.items() if key not in ("VOC_PII_SALT", "SOURCES__PII_SALT")}

    def salt(**extra) -> str:
        result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env={**env, **extra},
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    assert salt() == "voc-demo-salt-change-me True"
    (tmp_path / ".dlt").mkdir()
    (tmp_path / ".dlt" / "secrets.toml").write_text('[sources]\npii_salt = "from-secrets-toml"\n', encoding="utf-8")
    assert salt() == "from-secrets-toml False"
    assert salt(VOC_PII_SALT="from-the-environment") == "from-the-environment False"
