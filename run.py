"""Bootstrap for a machine that has only Python 3.11: `python3.11 run.py demo` or `python3.11 run.py test`.

Creates `.venv` and installs the pinned project into it when missing or when pyproject.toml
changed, then runs the command inside it. Any other arguments go to `voc` (or pytest).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".installed-from"


def _run(*command: str | Path) -> None:
    subprocess.run([str(part) for part in command], check=True, cwd=ROOT)


def ensure_environment() -> None:
    """Install once per pyproject.toml version; uv makes it take seconds instead of a minute."""
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    if sys.version_info[:2] != (3, 11):
        sys.exit(f"voc-warehouse needs Python 3.11 (this is {sys.version.split()[0]}): run it with python3.11")
    print(f"Installing voc-warehouse and its pinned dependencies into {VENV} …", flush=True)
    if not (BIN / "python").exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
    _run(BIN / "python", "-m", "pip", "install", "--quiet", "--upgrade", "pip", "uv")
    _run(BIN / "uv", "pip", "install", "--python", BIN / "python", "--compile-bytecode", "-e", ".[dev]")
    STAMP.write_text(wanted)


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__)
        return 0
    ensure_environment()
    os.environ["PATH"] = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    command, rest = argv[0], argv[1:]
    if command == "test":
        return subprocess.call([str(BIN / "python"), "-m", "pytest", "-q", *rest], cwd=ROOT)
    return subprocess.call([str(BIN / "voc"), command, *rest], cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
