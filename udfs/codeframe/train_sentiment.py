"""Train the learned sentiment layer (`learned.py`) from the ODD rows of the labelled real files.

    python -m udfs.codeframe.train_sentiment [--real DIR] [--out udfs/codeframe/sentiment_model.json.gz]
                                             [--corpora car,waimai_10k,chnsenticorp_htl] [--cv | --cv-pipeline]

Hold-out rule (shared/data/real/README.md: "If you train on any of them, hold out a fixed split and
report on that split only"): this script reads only the odd rows — 序号 odd for the car clauses, odd
0-based row numbers for the review corpora — the same rows the rules were tuned on; `voc eval`
reports on the even rows. There is no option to train on even rows; `odd_rows` asserts it.

Model: L2-regularised logistic regression (L-BFGS, scipy, training only) over character 1–3-grams of
the classifier's own spans (document frequency ≥ MIN_DF), length-normalised by sqrt(n-gram positions
+ 1), plus two features from the lexicon rules' score (tanh and sign). Weights below PRUNE are dropped.
Same rows, same codeframe -> the same bytes on one machine. L-BFGS runs on OpenBLAS, whose kernels
differ between CPUs, so another machine lands a hair away (weights within ~1e-2); what makes the
weights stale is a change of their inputs, and `meta.inputs_digest` fingerprints exactly those.

`--cv` prints 5-fold accuracy of the utterance-level learned verdict alone; `--cv-pipeline` scores the
odd rows through the whole classifier as `voc eval --real` does (a car clause by its labelled aspect's
sentiment, else the utterance's), each fold with weights trained without it: the measure to decide a
rule or model change by (`--predictions FILE` writes each odd row's prediction for error analysis).
"""
from __future__ import annotations

import argparse
import hashlib
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from udfs.codeframe.classifier import Classifier
from udfs.codeframe.evaluate import CAR_CLAUSE_FILES, REVIEW_CORPORA, default_real_dir
from udfs.codeframe.learned import MODEL_PATH, NEGATION_SCOPE, NGRAM_MAX, SentimentModel, ngram_positions, rule_features, save_model, span_ngrams

MIN_DF = 2
C = 4.0  # inverse L2 strength (per-example loss summed, 1/(2C)·|w|²)
PRUNE = 0.02
# |logit| below which a text with no opinion the rules see and no coded aspect stays neutral. The labelled
# rows have no neutral class, so cross-validation rewards any lower margin (odd rows, codeframe 1.7.0:
# 0.5 -> 0.25 gains car +0.1, waimai_10k +0.35 points; 0.1 and 0 a little more); 0.25 keeps texts with
# next to no n-gram evidence neutral, which those rows cannot measure.
NEUTRAL_MARGIN = 0.25
# Loss weight of a car clause relative to a review: the clauses are the product's domain but a tenth of
# the odd rows; weighting them up keeps the review corpora from drowning car phrasing (5-fold CV on the
# odd rows: car polarity 0.845 -> 0.857, the review corpora -0.2 points).
CAR_WEIGHT = 3.0
DEFAULT_CORPORA = ("car", "waimai_10k", "chnsenticorp_htl")


def odd_rows(real_dir: Path, corpora=DEFAULT_CORPORA) -> pd.DataFrame:
    """text, label (1 / 0), corpus, row — odd rows only."""
    frames = []
    if "car" in corpora:
        for name in CAR_CLAUSE_FILES:
            path = real_dir / name
            if path.exists():
                data = pd.read_csv(path, dtype={"序号": int})
                data = data[data["序号"] % 2 == 1]
                frames.append(pd.DataFrame({"text": data["comment"].astype(str), "label": (data["polarity"] > 0).astype(int),
                                            "corpus": name.removesuffix(".csv"), "row": data["序号"],
                                            "feature": data["feature"].astype(str)}))
    for name in REVIEW_CORPORA:
        corpus = name.removesuffix(".csv")
        path = real_dir / name
        if corpus in corpora and path.exists():
            data = pd.read_csv(path).reset_index(drop=True)
            data = data[data.index % 2 == 1]
            frames.append(pd.DataFrame({"text": data["review"].astype(str), "label": (data["label"] == 1).astype(int),
                                        "corpus": corpus, "row": data.index}))
    if not frames:
        raise FileNotFoundError(f"no labelled real files in {real_dir}")
    rows = pd.concat(frames, ignore_index=True)
    assert (rows["row"] % 2 == 1).all(), "training must only ever see odd rows"
    return rows


def featurise(classifier: Classifier, texts) -> tuple[list[list[str]], np.ndarray, np.ndarray]:
    """Per text: its n-grams, its rule features and its n-gram positions."""
    grams, rules, positions = [], [], []
    for text in texts:
        spans = classifier.model_spans(text)
        grams.append([g for span in spans for g in span_ngrams(span, NGRAM_MAX)])
        positions.append(sum(ngram_positions(len(span), NGRAM_MAX) for span in spans))
        rules.append(rule_features(classifier._analyse_rules(text)[0]))
    return grams, np.asarray(rules, dtype=np.float64), np.asarray(positions, dtype=np.float64)


def inputs_digest(rows: pd.DataFrame, grams, rules: np.ndarray) -> str:
    """SHA-256 of everything the fit sees (label, corpus, n-grams, rule features): it changes exactly
    when the rows, the spans or the lexicon rules change, and it is the same on every machine."""
    digest = hashlib.sha256()
    for label, corpus, doc, (tanh_score, sign) in zip(rows["label"], rows["corpus"], grams, rules, strict=True):
        digest.update(f"{label}\t{corpus}\t{tanh_score:.6f}\t{sign:.0f}\t{' '.join(doc)}\n".encode("utf-8"))
    return digest.hexdigest()


def current_inputs_digest(real_dir: Path, corpora=DEFAULT_CORPORA) -> str:
    """The inputs digest a model trained now would carry (featurisation only, no fit)."""
    rows = odd_rows(real_dir, corpora)
    grams, rules, _ = featurise(Classifier(sentiment_model=None), rows["text"])
    return inputs_digest(rows, grams, rules)


def sample_weights(rows: pd.DataFrame) -> np.ndarray:
    return np.where(rows["corpus"].str.startswith("car"), CAR_WEIGHT, 1.0)


def design(grams, rules, positions, vocab: dict[str, int]):
    from scipy import sparse

    rows, cols, vals = [], [], []
    for i, doc in enumerate(grams):
        counts = Counter(vocab[g] for g in doc if g in vocab)
        scale = 1.0 / math.sqrt(positions[i] + 1)
        for j, c in counts.items():
            rows.append(i)
            cols.append(j)
            vals.append(c * scale)
    ngram_matrix = sparse.csr_matrix((vals, (rows, cols)), shape=(len(grams), len(vocab)))
    return sparse.hstack([sparse.csr_matrix(rules), ngram_matrix], format="csr")


def fit(X, y: np.ndarray, c: float, weights: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """(bias, coefficients) of L2 logistic regression; the bias is not penalised."""
    from scipy.optimize import minimize

    n, d = X.shape
    sample = np.ones(n) if weights is None else weights
    sign = 2.0 * y - 1.0

    def loss(params):
        b, w = params[0], params[1:]
        margin = sign * (X @ w + b)
        value = np.sum(sample * np.logaddexp(0.0, -margin)) + 0.5 / c * w @ w
        g = -sample * sign * 0.5 * (1.0 - np.tanh(margin / 2.0))  # -sign·sigmoid(-margin), stable
        return value, np.concatenate([[g.sum()], X.T @ g + w / c])

    result = minimize(loss, np.zeros(d + 1), jac=True, method="L-BFGS-B", options={"maxiter": 2000, "gtol": 1e-6})
    return float(result.x[0]), result.x[1:]


def vocabulary(grams) -> dict[str, int]:
    df = Counter(g for doc in grams for g in set(doc))
    return {g: i for i, g in enumerate(sorted(g for g, n in df.items() if n >= MIN_DF))}


def train(real_dir: Path, corpora=DEFAULT_CORPORA, c: float = C) -> SentimentModel:
    rows = odd_rows(real_dir, corpora)
    classifier = Classifier(sentiment_model=None)
    grams, rules, positions = featurise(classifier, rows["text"])
    return fit_model(rows, grams, rules, positions, c, classifier.version)


def fit_model(rows: pd.DataFrame, grams, rules, positions, c: float = C, version: str = "") -> SentimentModel:
    """The model fitted on `rows` (with their featurised n-grams, rule features and positions)."""
    vocab = vocabulary(grams)
    X = design(grams, rules, positions, vocab)
    y = rows["label"].to_numpy(dtype=np.float64)
    bias, coef = fit(X, y, c, sample_weights(rows))
    names = sorted(vocab, key=vocab.get)
    weights = {g: float(w) for g, w in zip(names, coef[2:], strict=True) if abs(w) >= PRUNE}
    meta = {"trained_on": {corpus: int(n) for corpus, n in rows["corpus"].value_counts().sort_index().items()},
            "split": "odd rows only (序号 odd / odd 0-based row numbers)", "min_df": MIN_DF, "C": c,
            "prune": PRUNE, "car_weight": CAR_WEIGHT, "codeframe_version": version, "vocabulary": len(vocab),
            "inputs_digest": inputs_digest(rows, grams, rules)}
    return SentimentModel(weights=weights, bias=bias, rule_weights=(float(coef[0]), float(coef[1])),
                          neutral_margin=NEUTRAL_MARGIN, ngram_max=NGRAM_MAX, meta=meta,
                          negation_scope=NEGATION_SCOPE)


def pipeline_cross_validate(real_dir: Path, corpora=DEFAULT_CORPORA, c: float = C, folds: int = 5,
                            predictions: Path | None = None, out=print) -> dict[str, float]:
    """Accuracy through the whole classifier, as `voc eval --real` scores it, over `folds` fixed folds of
    the odd rows (fold = position % folds): each fold is analysed with weights trained without it. A car
    clause's prediction is its labelled aspect's sentiment, else the utterance's (evaluate.clause_polarity);
    a review's is the utterance's. `predictions`: write every odd row's prediction there (error analysis)."""
    from udfs.codeframe.evaluate import CAR_ASPECT_MAPPING, clause_polarity, load_mapping

    rows = odd_rows(real_dir, corpora)
    classifier = Classifier(sentiment_model=None)
    grams, rules, positions = featurise(classifier, rows["text"])
    mapping = load_mapping(CAR_ASPECT_MAPPING, "aspects")
    is_car = rows["corpus"].str.startswith("car").to_numpy()
    terms = [{t.strip() for t in str(f).split(",") if t.strip()} if car else None
             for f, car in zip(rows.get("feature", [None] * len(rows)), is_car)]

    def predict(index) -> list[int]:
        classifier._span_cache, classifier._span_cache_old = {}, {}
        out_ = []
        for i in index:
            analysis = classifier.analyse(rows["text"].iat[i])
            out_.append(clause_polarity(analysis, terms[i], mapping) if is_car[i] else analysis.sentiment)
        return out_

    rules_only = np.asarray(predict(range(len(rows))))
    fold = np.arange(len(rows)) % folds
    predicted = np.zeros(len(rows), dtype=int)
    for k in range(folds):
        train_idx, test_idx = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
        classifier.sentiment_model = fit_model(rows.iloc[train_idx], [grams[i] for i in train_idx], rules[train_idx],
                                               positions[train_idx], c, classifier.version)
        predicted[test_idx] = predict(test_idx)
    classifier.sentiment_model = None
    gold = np.where(rows["label"].to_numpy() > 0, 1, -1)
    groups = {"car (both files)": is_car} | {corpus: (rows["corpus"] == corpus).to_numpy()
                                              for corpus in sorted(rows["corpus"].unique()) if not corpus.startswith("car")}
    result = {}
    for name, mask in groups.items():
        result[name] = float((predicted[mask] == gold[mask]).mean())
        out(f"{name} (n={int(mask.sum())}): {folds}-fold CV through the classifier {result[name]:.4f} "
            f"(rules alone {(rules_only[mask] == gold[mask]).mean():.4f}; neutral {(predicted[mask] == 0).mean():.3f})")
    if predictions is not None:
        frame = rows.assign(gold=gold, predicted=predicted, rules=rules_only, fold=fold, rule_score=rules[:, 0])
        frame.to_csv(predictions, index=False)
    return result


def cross_validate(real_dir: Path, corpora=DEFAULT_CORPORA, cs=(0.5, 1.0, 2.0, 4.0, 8.0, 16.0), folds: int = 5) -> None:
    """Accuracy per corpus over `folds` fixed folds of the odd rows (fold = position % folds)."""
    rows = odd_rows(real_dir, corpora)
    classifier = Classifier(sentiment_model=None)
    grams, rules, positions = featurise(classifier, rows["text"])
    y = rows["label"].to_numpy(dtype=np.float64)
    weights = sample_weights(rows)
    fold = np.arange(len(rows)) % folds
    rule_only = (rules[:, 1] > 0) == (y > 0)
    for corpus in sorted(rows["corpus"].unique()):
        print(f"rules alone {corpus}: {rule_only[rows['corpus'] == corpus].mean():.3f}")
    for c in cs:
        correct = np.zeros(len(rows), dtype=bool)
        for k in range(folds):
            train_idx, test_idx = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
            vocab = vocabulary([grams[i] for i in train_idx])
            X = design(grams, rules, positions, vocab)
            bias, coef = fit(X[train_idx], y[train_idx], c, weights[train_idx])
            z = X[test_idx] @ coef + bias
            correct[test_idx] = (z > 0) == (y[test_idx] > 0)
        parts = ", ".join(f"{corpus} {correct[rows['corpus'] == corpus].mean():.3f}" for corpus in sorted(rows["corpus"].unique()))
        print(f"C={c}: {parts}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", type=Path, default=None, help="dir of the labelled real files (default ../shared/data/real)")
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    parser.add_argument("--corpora", default=",".join(DEFAULT_CORPORA), help="car, waimai_10k, chnsenticorp_htl")
    parser.add_argument("--c", type=float, default=C)
    parser.add_argument("--cv", action="store_true", help="only print cross-validated accuracy on the odd rows")
    parser.add_argument("--cv-pipeline", action="store_true",
                        help="only print 5-fold CV accuracy on the odd rows through the whole classifier (as voc eval scores)")
    parser.add_argument("--predictions", type=Path, help="with --cv-pipeline: write each odd row's CV prediction here")
    args = parser.parse_args(argv)
    real_dir = args.real or default_real_dir()
    corpora = tuple(part.strip() for part in args.corpora.split(",") if part.strip())
    if args.cv:
        cross_validate(real_dir, corpora)
        return
    if args.cv_pipeline:
        pipeline_cross_validate(real_dir, corpora, args.c, predictions=args.predictions)
        return
    model = train(real_dir, corpora, args.c)
    save_model(model, args.out)
    print(f"wrote {args.out}: {len(model.weights):,} n-gram weights (of {model.meta['vocabulary']:,}), "
          f"{args.out.stat().st_size / 1e6:.2f} MB, trained on {model.meta['trained_on']}")


if __name__ == "__main__":
    main()
