"""A learned sentiment layer on top of the lexicon rules: logistic regression over character 1–3-grams.

The model is linear, so a text's logit decomposes over the spans the classifier already cuts at
punctuation (n-grams never cross a span):

    z = bias + w_rule · rule_features(rule score) + (Σ_spans Σ_ngrams w_g) / sqrt(N + 1)

N is the number of character n-gram positions of the text (known or not). Each span's
(Σ w_g, n-gram positions) is computed once and cached with the span's clauses, so the layer costs
one addition per span on the hot path.

Weights ship in `sentiment_model.json.gz` (a sparse n-gram -> weight table, no data rows), built
deterministically by `python -m udfs.codeframe.train_sentiment` from the ODD rows of the labelled
real files only (see that module). The product runs without the real data: when the weights file is
absent or unreadable, the rules decide alone.
"""
from __future__ import annotations

import gzip
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

MODEL_PATH = Path(__file__).with_name("sentiment_model.json.gz")
NGRAM_MAX = 3
FORMAT = "voc-sentiment-ngram-lr/1"


def ngram_positions(length: int, ngram_max: int = NGRAM_MAX) -> int:
    """How many character n-grams (1..ngram_max) a span of `length` characters holds."""
    return sum(max(0, length - n + 1) for n in range(1, ngram_max + 1))


# Negation scope: an n-gram that starts within NEGATION_SCOPE characters after a negator character is a
# feature of its own (¬ + n-gram), so that 没有出现什么问题 does not read as 问题 (0: off).
NEGATION_SCOPE = 4  # as the rules' NEGATION_REACH; odd-row CV: 3, 4, 6 all gain, to the end of the span loses
NEGATION_MARK = "¬"
_NEGATOR_CHARS = re.compile("[不没无未别]")


def negated_starts(span: str, scope: int) -> list[bool] | None:
    """Per character of `span`: whether an n-gram starting there lies in a negator's scope; None when
    no character does (most spans)."""
    if not scope:
        return None
    found = [m.start() for m in _NEGATOR_CHARS.finditer(span)]
    if not found:
        return None
    flags = [False] * len(span)
    for p in found:
        for i in range(p + 1, min(len(span), p + scope + 1)):
            flags[i] = True
    return flags


def span_ngrams(span: str, ngram_max: int = NGRAM_MAX, scope: int | None = None):
    """Character n-grams of one span (whitespace-free n-grams only), in order; those in a negator's
    scope carry NEGATION_MARK."""
    length = len(span)
    negated = negated_starts(span, NEGATION_SCOPE if scope is None else scope)
    for n in range(1, ngram_max + 1):
        for i in range(length - n + 1):
            gram = span[i:i + n]
            if not gram.isspace() and " " not in gram:
                yield NEGATION_MARK + gram if negated is not None and negated[i] else gram


def rule_features(score: float) -> tuple[float, float]:
    """What the lexicon rules say, as model inputs: the squashed score and its sign."""
    return math.tanh(score), (score > 0.05) - (score < -0.05)


@dataclass(frozen=True)
class SentimentModel:
    weights: dict[str, float]
    bias: float
    rule_weights: tuple[float, float]
    neutral_margin: float  # |logit| below this, where the rules found no opinion, stays neutral
    ngram_max: int = NGRAM_MAX
    meta: dict | None = None
    negation_scope: int = 0

    def span_sum(self, span: str) -> tuple[float, int]:
        """(Σ weights of the span's n-grams, n-gram positions): the span's share of the logit."""
        get = self.weights.get
        total = 0.0
        length = len(span)
        negated = negated_starts(span, self.negation_scope)  # None for most spans
        for n in range(1, self.ngram_max + 1):
            for i in range(length - n + 1):
                gram = span[i:i + n]
                weight = get(NEGATION_MARK + gram if negated and negated[i] else gram)
                if weight is not None:
                    total += weight
        return total, ngram_positions(length, self.ngram_max)

    def logit(self, rule_score: float, ngram_sum: float, positions: int) -> float:
        tanh_score, sign = rule_features(rule_score)
        return (self.bias + self.rule_weights[0] * tanh_score + self.rule_weights[1] * sign
                + ngram_sum / math.sqrt(positions + 1))

    def score(self, rule_score: float, ngram_sum: float, positions: int, aspect_coded: bool = False) -> float:
        """A signed score on the rules' scale: the logit, or 0 (neutral) for a text with no opinion the
        rules could see, no coded aspect and no confident n-gram evidence. A text that names an aspect
        takes even a weak learned verdict: feedback seldom names one without an opinion of it (隔音一绝),
        and a neutral answer there was a third of the car-clause errors."""
        if positions == 0:
            return rule_score
        rules_silent = rule_features(rule_score)[1] == 0
        if rules_silent and not aspect_coded and ngram_sum == 0.0:
            return 0.0  # no n-gram the model knows: the logit would be its bias, the training corpora's prior
        z = self.logit(rule_score, ngram_sum, positions)
        weak = -self.neutral_margin < z < self.neutral_margin
        return 0.0 if rules_silent and weak and not aspect_coded else z

    def to_json(self) -> dict:
        return {"format": FORMAT, "ngram_max": self.ngram_max, "negation_scope": self.negation_scope,
                "bias": round(self.bias, 6),
                "rule_weights": [round(w, 6) for w in self.rule_weights], "neutral_margin": self.neutral_margin,
                "meta": self.meta or {}, "weights": {g: round(w, 4) for g, w in sorted(self.weights.items())}}


def save_model(model: SentimentModel, path: str | Path = MODEL_PATH) -> None:
    """Deterministic bytes: sorted keys, fixed rounding, gzip without a timestamp or file name."""
    data = json.dumps(model.to_json(), ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as out:
        out.write(data)


def load_model(path: str | Path | None = MODEL_PATH) -> SentimentModel | None:
    """The shipped model, or None when the file is absent or not a model of this format."""
    if path is None:
        return None
    try:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            data = json.load(handle)
        if data.get("format") != FORMAT:
            return None
        return SentimentModel(weights={str(g): float(w) for g, w in data["weights"].items()},
                              bias=float(data["bias"]), rule_weights=tuple(float(w) for w in data["rule_weights"]),
                              neutral_margin=float(data["neutral_margin"]), ngram_max=int(data["ngram_max"]),
                              negation_scope=int(data.get("negation_scope", 0)),
                              meta=data.get("meta") or {})
    except (OSError, ValueError, KeyError, TypeError, EOFError):
        return None
