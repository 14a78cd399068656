"""Test session settings: every test writes to a throwaway warehouse and landing zone.

The environment is set before any project module is imported, because Dagster definitions
bind the warehouse path when they are built.
"""

import os
import tempfile
from pathlib import Path

SESSION_DIR = Path(tempfile.mkdtemp(prefix="voc-tests-"))
os.environ["VOC_WAREHOUSE"] = str(SESSION_DIR / "warehouse" / "voc.duckdb")
os.environ["VOC_LANDING"] = str(SESSION_DIR / "world" / "landing")
os.environ.pop("VOC_TRUTH", None)
os.environ.pop("VOC_SURVEY_API_URL", None)
os.environ["VOC_PII_SALT"] = "test-salt"
