"""Train the lexical prior: character unigram/bigram weights that lean an utterance's overall sentiment.

    python -m udfs.codeframe.train_prior [--real-dir ../shared/data/real] [--out udfs/codeframe/review_prior.txt]

The rules (HowNet + codeframe lexicon) decide most texts; what they miss is the domain's implicit
wording (夹生, 等了两个小时, 房间小了点 in an otherwise happy review). This layer learns that wording
from labelled reviews, under the hold-out of evaluate.py: ONLY the odd rows are read (odd 0-based row
numbers of waimai_10k and chnsenticorp_htl, odd 序号 of the car review clauses); the reported
figures are on the even rows. The output is a table of weights, not the texts: the shipped product
reads only the table, never the corpora. The same command on the same files gives the same table.

Weight of a feature = log of the ratio of its document frequencies in positive vs negative texts
(add-0.5 smoothing, classes balanced), kept when seen in at least MIN_COUNT texts and
|weight| >= MIN_WEIGHT. Features are taken per span between punctuation, as the classifier does.
"""
from __future__ import annotations

import argparse
import math
from collections import Counter
from pathlib import Path

MIN_COUNT = 3
MIN_WEIGHT = 0.1
DEFAULT_OUT = Path(__file__).with_name("review_prior.txt")  # *.txt: shipped as package data


def span_features(span: str):
    """Characters and character bigrams of one span (normalised text between punctuation)."""
    for i, char in enumerate(span):
        if not char.isspace():
            yield char
            if i + 1 < len(span):
                yield span[i:i + 2]


def text_features(norm: str) -> set[str]:
    from udfs.codeframe.classifier import CLAUSE_BREAK

    out: set[str] = set()
    for span in CLAUSE_BREAK.split(norm):
        out.update(span_features(span))
    return out


def odd_rows(real_dir: Path) -> list[tuple[int, str]]:
    import pandas as pd

    rows: list[tuple[int, str]] = []
    for name in ("waimai_10k.csv", "chnsenticorp_htl.csv"):
        data = pd.read_csv(real_dir / name).iloc[1::2]
        rows += [(1 if int(label) == 1 else -1, str(text)) for label, text in zip(data["label"], data["review"])]
    for name in ("car_review_clauses.csv", "car_review_clauses_magotan.csv"):
        if (real_dir / name).exists():
            data = pd.read_csv(real_dir / name, dtype={"序号": int})
            data = data[data["序号"] % 2 == 1]
            rows += [(int(p), str(text)) for p, text in zip(data["polarity"], data["comment"])]
    return rows


def train(rows: list[tuple[int, str]]) -> dict[str, float]:
    from udfs.codeframe.classifier import normalise

    positive, negative = Counter(), Counter()
    n_positive = n_negative = 0
    for label, text in rows:
        features = text_features(normalise(text))
        if label > 0:
            positive.update(features)
            n_positive += 1
        else:
            negative.update(features)
            n_negative += 1
    weights = {}
    for feature in sorted(set(positive) | set(negative)):
        if positive[feature] + negative[feature] < MIN_COUNT:
            continue
        weight = (math.log((positive[feature] + 0.5) / (n_positive + 1))
                  - math.log((negative[feature] + 0.5) / (n_negative + 1)))
        if abs(weight) >= MIN_WEIGHT:
            weights[feature] = round(weight, 3)
    return weights


def write(weights: dict[str, float], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        handle.write("# lexical prior, trained by udfs/codeframe/train_prior.py on the ODD rows of the real review\n"
                     "# corpora (waimai_10k, chnsenticorp_htl, car review clauses); feature<TAB>weight\n")
        for feature, weight in sorted(weights.items()):
            if "\t" not in feature and "\n" not in feature:
                handle.write(f"{feature}\t{weight}\n")


def load(path: Path) -> dict[str, float]:
    weights = {}
    if not path.exists():
        return weights
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("#"):
                continue
            feature, _, weight = line.rstrip("\n").rpartition("\t")
            if feature:
                weights[feature] = float(weight)
    return weights


def main(argv=None) -> None:
    from udfs.codeframe.evaluate import default_real_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real-dir", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    rows = odd_rows(args.real_dir or default_real_dir())
    weights = train(rows)
    write(weights, args.out)
    print(f"{len(rows)} odd rows -> {len(weights)} features -> {args.out}")


if __name__ == "__main__":
    main()
