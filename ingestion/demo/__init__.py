"""The demo world: a fictional brand's landing zone and, beside it, the planted truth it was generated with.

The layout lives here, away from the generator, so settings and commands can find a world without importing it."""

from __future__ import annotations

from pathlib import Path

WORLD_FILE = "world.json"  # the summary, in the truth folder; written last, so it marks a finished world


def truth_dir(landing: Path) -> Path:
    """Where the planted truth of the world generated into `landing` goes: a `truth` folder beside it."""
    return Path(landing).parent / "truth"


def is_finished_world(landing: Path) -> bool:
    """Whether a generation into `landing` ran to its end (an interrupted one has no WORLD_FILE)."""
    return (truth_dir(landing) / WORLD_FILE).exists()
