"""The one place where paths and environment are read.

Every command, asset and test asks this module; nothing else reads ``os.environ``
for project settings (dlt keeps reading its own config/secrets).
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from ingestion.demo import truth_dir

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"

DEMO_PII_SALT = "voc-demo-salt-change-me"
DEMO_SURVEY_API_KEY = "demo-survey-key"
TIMEZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class Settings:
    warehouse: Path
    landing: Path
    truth: Path
    dbt_target: str
    partitions_start: str
    codeframe: Path
    duckdb_memory_limit: str
    duckdb_row_group_size: int

    @cached_property
    def _pii_salt(self) -> str | None:
        """VOC_PII_SALT, else dlt's secret `sources.pii_salt` (SOURCES__PII_SALT, or `pii_salt` under
        `[sources]` in .dlt/secrets.toml)."""
        return _environment_or_dlt("VOC_PII_SALT", "sources.pii_salt", secret=True)

    @cached_property
    def survey_base_url(self) -> str | None:
        """VOC_SURVEY_API_URL, else dlt's `sources.survey.base_url`; None: the demo's local survey API."""
        return _environment_or_dlt("VOC_SURVEY_API_URL", "sources.survey.base_url", secret=False)

    @cached_property
    def survey_api_key(self) -> str | None:
        """VOC_SURVEY_API_KEY, else dlt's secret `sources.survey.api_key`; the demo server has a key of its own."""
        return _environment_or_dlt("VOC_SURVEY_API_KEY", "sources.survey.api_key", secret=True)

    @property
    def pii_salt(self) -> str:
        """The salt of phone and ID-card hashes; the public demo salt when none is configured."""
        return self._pii_salt or DEMO_PII_SALT

    @property
    def pii_salt_is_demo(self) -> bool:
        return self._pii_salt is None

    @property
    def dlt_dir(self) -> Path:
        """Where dlt keeps pipeline state, beside the warehouse file."""
        return self.warehouse.parent / ".dlt_pipelines"


def _environment_or_dlt(variable: str, dlt_key: str, secret: bool) -> str | None:
    """A project variable, else the same setting in dlt's config or secrets (its environment variables,
    .dlt/config.toml, .dlt/secrets.toml). dlt is imported only when the variable is unset."""
    value = os.environ.get(variable)
    if not value:
        import dlt

        value = (dlt.secrets if secret else dlt.config).get(dlt_key)
    return str(value) if value else None


DEFAULT_ROW_GROUP_SIZE = 30_720  # a quarter of DuckDB's default; a multiple of its 2,048-row vectors


def load_settings() -> Settings:
    """Read settings from the environment, with the embedded-demo defaults."""
    warehouse = Path(os.environ.get("VOC_WAREHOUSE", PROJECT_ROOT / "warehouse" / "voc.duckdb")).resolve()
    landing = Path(os.environ.get("VOC_LANDING", PROJECT_ROOT / "demo_world" / "landing")).resolve()
    truth = Path(os.environ.get("VOC_TRUTH", truth_dir(landing))).resolve()
    return Settings(
        warehouse=warehouse,
        landing=landing,
        truth=truth,
        dbt_target=os.environ.get("VOC_DBT_TARGET", "duckdb"),
        partitions_start=os.environ.get("VOC_PARTITIONS_START", "2025-10-01"),
        codeframe=Path(os.environ.get("VOC_CODEFRAME", PROJECT_ROOT / "udfs" / "codeframe" / "codeframe.yaml")).resolve(),
        # DuckDB spills to disk beyond this (in every process: dlt, dbt, the Python assets).
        duckdb_memory_limit=os.environ.get("VOC_DUCKDB_MEMORY_LIMIT", "1GB"),
        # Rows per row group of every table the project writes (DuckDB's default is 122,880): a checkpoint
        # rewrites each row group a load appended to, so this bounds what a daily refresh rewrites per
        # table (a day's rows landing in a nearly full default group cost ~1 s per table of texts). It is
        # an attach option the file does not keep, so every writer passes it (lib/warehouse.py, dbt's
        # profile); a writer that does not (a DuckDB shell) merges small row groups at its checkpoint.
        duckdb_row_group_size=int(os.environ.get("VOC_DUCKDB_ROW_GROUP_SIZE", DEFAULT_ROW_GROUP_SIZE)),
    )


def export_for_subprocesses(settings: Settings) -> None:
    """dbt runs as a subprocess and reads the warehouse path from its profile's env_var(), and its log settings."""
    os.environ["VOC_WAREHOUSE"] = str(settings.warehouse)
    os.environ["VOC_DBT_TARGET"] = settings.dbt_target
    os.environ["VOC_DUCKDB_MEMORY_LIMIT"] = settings.duckdb_memory_limit
    os.environ["VOC_DUCKDB_ROW_GROUP_SIZE"] = str(settings.duckdb_row_group_size)
    # dagster-dbt sets DBT_LOG_FORMAT=json to read dbt's stdout, and dbt applies it to its log file too:
    # `dbt/target/dbt.log` stays dbt's readable debug text. Set DBT_LOG_FORMAT_FILE to choose another.
    os.environ.setdefault("DBT_LOG_FORMAT_FILE", "debug")


def dbt_executable() -> str:
    """dbt as the refresh runs it: `voc-dbt` beside this Python (the run's warm dbt, else plain dbt), so the
    venv need not be on PATH."""
    for name in ("voc-dbt", "dbt"):
        beside_python = Path(sys.executable).parent / name
        if beside_python.exists():
            return str(beside_python)
    return shutil.which("dbt") or "dbt"
