"""The lint selection of pyproject.toml ([tool.ruff.lint]: unused or undefined names, import order) holds."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_finds_nothing():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", str(ROOT)],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, f"ruff check found problems (fix them, or `ruff check --fix` for import order):\n{result.stdout}{result.stderr}"
