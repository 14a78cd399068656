"""What the landing zone holds: which export days its dated files cover, and their fingerprints."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

DATED_FILE = re.compile(r"_(\d{4}-\d{2}-\d{2})(?:_[a-z]+)?\.(?:csv|jsonl)$")


def dated_files(landing: Path) -> dict[Path, str]:
    """Every landing file named with an export day, mapped to that day (YYYY-MM-DD)."""
    files = {}
    for path in sorted(landing.rglob("*")):
        match = DATED_FILE.search(path.name)
        if match and path.is_file():
            files[path] = match.group(1)
    return files


def landing_days(landing: Path) -> list[str]:
    """The export days present in the landing zone, in order."""
    return sorted(set(dated_files(landing).values()))


def landing_key(landing: Path, path: Path) -> str:
    """A landing file's name within the zone (its folder included): families may name their exports alike."""
    return path.relative_to(landing).as_posix()


def fingerprint(path: Path, key: str) -> str:
    """Changes when the file at `key` is replaced or grows; cheap enough to take for every file on every tick."""
    stat = path.stat()
    return hashlib.sha1(f"{key}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:16]
