"""Load the YAML phrase banks once into flat, precomputed tuples.

Composing a million utterances must not parse YAML, compile regexes or build
dicts per row, so every choice the composer makes is a lookup into these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate
from pathlib import Path

import yaml

PHRASEBANK_DIR = Path(__file__).parent / "phrasebank"
POLARITY_SENTIMENT = {"neg": -1, "pos": 1, "neu": 0, "sug": 0}


@dataclass(frozen=True)
class Phrase:
    text: str
    sentiment: int
    severity: str
    suggestion: int
    has_slots: bool


@dataclass
class Topic:
    l1: str
    l2: str
    description: str
    example: str
    weight: float
    plant_only: bool
    severity: str             # of its negative phrases unless a phrase says otherwise
    phrases: dict[str, tuple[Phrase, ...]] = field(default_factory=dict)

    def group(self, polarity: str) -> tuple[Phrase, ...]:
        """Phrases of the wanted polarity, falling back to whatever the topic has."""
        found = self.phrases.get(polarity)
        if found:
            return found
        for fallback in ("neg", "neu", "pos", "sug"):
            if self.phrases.get(fallback):
                return self.phrases[fallback]
        raise ValueError(f"topic {self.l2} has no phrases")


@dataclass
class PhraseBank:
    topics: tuple[Topic, ...]
    by_l2: dict[str, Topic]
    baseline: tuple[Topic, ...]          # topics the baseline may draw
    baseline_cum: tuple[float, ...]      # cumulative weights over `baseline`
    style: dict

    def baseline_share(self, l2: str) -> float:
        """Share of baseline topic draws that land on one topic."""
        topic = self.by_l2[l2]
        return topic.weight / self.baseline_cum[-1]


def _phrase(item, polarity: str, topic_severity: str) -> Phrase:
    if isinstance(item, dict):
        text, severity = item["t"], item.get("sev", topic_severity)
    else:
        text, severity = str(item), topic_severity
    if polarity != "neg":
        severity = "minor"
    return Phrase(text, POLARITY_SENTIMENT[polarity], severity, int(polarity == "sug"), "{" in text)


@lru_cache(maxsize=1)
def load_phrasebank() -> PhraseBank:
    """Read every topic YAML and the channel style YAML (cached per process)."""
    topics: dict[str, Topic] = {}
    for path in sorted(PHRASEBANK_DIR.glob("*.yaml")):
        if path.name == "style.yaml":
            continue
        for raw in yaml.safe_load(path.read_text(encoding="utf-8"))["topics"]:
            topic = topics.get(raw["l2"])
            if topic is None:      # first mention defines the topic; later ones only add phrases
                topic = topics[raw["l2"]] = Topic(raw["l1"], raw["l2"], raw["desc"], raw["example"],
                                                  float(raw["weight"]), bool(raw.get("plant_only", False)),
                                                  raw["severity"])
            elif topic.l1 != raw["l1"]:
                raise ValueError(f"topic {raw['l2']} is under {topic.l1} and {raw['l1']}")
            for polarity in POLARITY_SENTIMENT:
                items = tuple(_phrase(i, polarity, topic.severity) for i in raw.get(polarity) or [])
                topic.phrases[polarity] = topic.phrases.get(polarity, ()) + items
    baseline = tuple(t for t in topics.values() if not t.plant_only and t.weight > 0)
    style = yaml.safe_load((PHRASEBANK_DIR / "style.yaml").read_text(encoding="utf-8"))
    return PhraseBank(tuple(topics.values()), topics, baseline, tuple(accumulate(t.weight for t in baseline)), style)
