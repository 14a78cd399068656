"""Measure the classifier: (a) on a generated world's planted truth, (b) on real labelled Chinese texts.

Labels from elsewhere speak their own vocabulary; a committed mapping file (mappings/*.yaml) says
which of our codes (a leaf, or an L2 meaning any leaf under it) count as each of their labels.
A gold label is found when any predicted code is listed for it; a predicted code listed for no
gold label of that utterance is a false positive.

Real data hold-out: terms were added to the codeframe after reading errors on the ODD rows only
(序号 odd for the car clauses, odd 0-based row numbers for the review corpora); the reported
figures are on the EVEN rows (`split="even"`, the default). The learned sentiment layer
(learned.py) is trained by train_sentiment.py on the ODD rows only, as the data README allows ("hold
out a fixed split and report on that split only"); the review corpora state no licence, so shipping
weights derived from them needs confirming (train_sentiment.py --corpora car trains on the car clauses
alone).
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from udfs.codeframe.batch import analyse_texts
from udfs.codeframe.classifier import UNCODED, get_classifier

MAPPINGS_DIR = Path(__file__).with_name("mappings")
CAR_ASPECT_MAPPING = MAPPINGS_DIR / "car_review_aspects.yaml"
GENERATOR_TOPIC_MAPPING = MAPPINGS_DIR / "generator_topics.yaml"
CAR_CLAUSE_FILES = ("car_review_clauses.csv", "car_review_clauses_magotan.csv")
REVIEW_CORPORA = ("waimai_10k.csv", "chnsenticorp_htl.csv")
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def default_real_dir(project_root: str | Path | None = None) -> Path:
    """`../shared/data/real` beside the project checkout."""
    return Path(project_root or PROJECT_ROOT).parent / "shared" / "data" / "real"


@dataclass
class Counts:
    tp: Counter = field(default_factory=Counter)
    fp: Counter = field(default_factory=Counter)
    fn: Counter = field(default_factory=Counter)

    def add(self, other: "Counts") -> None:
        self.tp.update(other.tp)
        self.fp.update(other.fp)
        self.fn.update(other.fn)


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def load_mapping(path: str | Path, section: str) -> dict[str, tuple[str, ...]]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    return {str(label): tuple(codes) for label, codes in data[section].items()}


def _accepts(code: str, allowed: tuple[str, ...]) -> bool:
    return any(code == entry or code.startswith(entry + ".") for entry in allowed)


def match_labels(gold: set[str], predicted: set[str], mapping: dict[str, tuple[str, ...]]) -> Counts:
    """TP/FN keyed by gold label; FP keyed by the predicted code."""
    counts = Counts()
    consumed: set[str] = set()
    for label in gold:
        found = {code for code in predicted if _accepts(code, mapping.get(label, ()))}
        (counts.tp if found else counts.fn)[label] += 1
        consumed |= found
    for code in predicted - consumed:
        counts.fp[code] += 1
    return counts


def sentiment_scores(gold: list[int], predicted: list[int]) -> tuple[float, float]:
    """Accuracy and macro-F1 over the gold classes present."""
    if not gold:
        return 0.0, 0.0
    pairs = Counter(zip(gold, predicted, strict=True))  # (gold, predicted) -> rows
    accuracy = sum(n for (g, p), n in pairs.items() if g == p) / len(gold)
    f1s = []
    for cls in sorted(set(gold)):
        tp = pairs[(cls, cls)]
        fp = sum(n for (g, p), n in pairs.items() if p == cls and g != cls)
        fn = sum(n for (g, p), n in pairs.items() if g == cls and p != cls)
        f1s.append(prf(tp, fp, fn)[2])
    return accuracy, sum(f1s) / len(f1s)


def _label_table(counts: Counts, key=lambda label: label) -> dict[str, tuple[int, int, int]]:
    table: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for label, n in counts.tp.items():
        table[key(label)][0] += n
    for label, n in counts.fp.items():
        table[key(label)][1] += n
    for label, n in counts.fn.items():
        table[key(label)][2] += n
    return {label: tuple(values) for label, values in table.items()}


def _summary(table: dict[str, tuple[int, int, int]]) -> dict[str, float]:
    tp = sum(v[0] for v in table.values())
    fp = sum(v[1] for v in table.values())
    fn = sum(v[2] for v in table.values())
    micro = prf(tp, fp, fn)
    supported = [prf(*v) for v in table.values() if v[0] + v[2] > 0]
    macro = tuple(sum(m[i] for m in supported) / len(supported) if supported else 0.0 for i in range(3))
    return {"micro_precision": micro[0], "micro_recall": micro[1], "micro_f1": micro[2],
            "macro_precision": macro[0], "macro_recall": macro[1], "macro_f1": macro[2]}


def _print_table(title: str, table: dict[str, tuple[int, int, int]], out) -> None:
    out(f"\n{title}")
    out(f"  {'label':<22}{'support':>8}{'P':>7}{'R':>7}{'F1':>7}")
    for label in sorted(table):
        tp, fp, fn = table[label]
        p, r, f = prf(tp, fp, fn)
        out(f"  {label:<22}{tp + fn:>8}{p:>7.3f}{r:>7.3f}{f:>7.3f}")


def _print_summary(name: str, summary: dict[str, float], out) -> None:
    out(f"{name}: micro P/R/F1 {summary['micro_precision']:.3f}/{summary['micro_recall']:.3f}/"
        f"{summary['micro_f1']:.3f}  macro P/R/F1 {summary['macro_precision']:.3f}/"
        f"{summary['macro_recall']:.3f}/{summary['macro_f1']:.3f}")


# -- (a) planted truth of a generated world -----------------------------------------------------
def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def planted_truth_dir(path: str | Path) -> Path:
    """The truth folder `voc generate` wrote, given it or the world folder above it (demo_world)."""
    path = Path(path)
    for candidate in (path, path / "truth"):
        if (candidate / "utterances.csv").is_file() and (candidate / "utterance_labels.csv").is_file():
            return candidate
    raise FileNotFoundError(
        f"no planted truth at {path}: it holds no utterances.csv and utterance_labels.csv (nor does {path / 'truth'}); "
        "give the truth folder `voc generate` wrote beside the landing zone, e.g. demo_world/truth"
    )


def topic_sentiment(found: list) -> int:
    """The sentiment predicted for a gold topic that several found codes map to: the most confident one's
    (largest |score|; the earliest on a tie). Chosen without looking at the gold label."""
    return max(found, key=lambda hit: abs(hit.sentiment_score)).sentiment


def evaluate_world(truth_dir: str | Path, codeframe_path: str | Path | None = None,
                   mapping_path: str | Path | None = None, workers: int = 1, out=print,
                   detail: bool = True) -> dict:
    """Leaf/L2 P/R/F1, aspect sentiment accuracy/macro-F1 and critical-severity recall/precision."""
    truth_dir = planted_truth_dir(truth_dir)
    mapping = load_mapping(mapping_path or GENERATOR_TOPIC_MAPPING, "topics")
    utterances = pd.read_csv(truth_dir / "utterances.csv", dtype=str, keep_default_na=False)
    labels = pd.read_csv(truth_dir / "utterance_labels.csv", dtype=str, keep_default_na=False)
    labels["topic"] = labels["topic_l1"] + "/" + labels["topic_l2"]
    unmapped = sorted(set(labels["topic"]) - set(mapping))
    if unmapped:
        raise ValueError(f"topics missing from the mapping: {', '.join(unmapped)}")
    gold: dict[tuple[str, str], dict[str, tuple[int, str]]] = defaultdict(dict)
    for row in labels.itertuples(index=False):
        gold[(row.source, row.record_id)][row.topic] = (int(row.sentiment), row.severity)
    codeframe = str(codeframe_path) if codeframe_path else None
    analyses = analyse_texts(utterances["text"].tolist(), codeframe, workers)
    canonical = {topic: codes[0] if codes else f"(no code) {topic}" for topic, codes in mapping.items()}
    counts = Counts()
    gold_sentiment, predicted_sentiment = [], []
    critical = Counter()
    for row, analysis in zip(utterances.itertuples(index=False), analyses, strict=True):
        truth = gold.get((row.source, row.record_id), {})
        hits = {hit.code: hit for hit in analysis.hits if hit.code != UNCODED}
        result = match_labels(set(truth), set(hits), mapping)
        counts.tp.update({canonical[t]: n for t, n in result.tp.items()})
        counts.fn.update({canonical[t]: n for t, n in result.fn.items()})
        counts.fp.update(result.fp)
        for topic in result.tp:
            found = [hits[c] for c in hits if _accepts(c, mapping[topic])]
            gold_sentiment.append(truth[topic][0])
            predicted_sentiment.append(topic_sentiment(found))
        gold_critical = any(severity == "critical" for _, severity in truth.values())
        predicted_critical = any(hit.severity == "critical" for hit in hits.values())
        critical[(gold_critical, predicted_critical)] += 1
    leaf_table = _label_table(counts)
    l2_table = _label_table(counts, key=lambda code: code.rsplit(".", 1)[0])
    accuracy, macro_f1 = sentiment_scores(gold_sentiment, predicted_sentiment)
    crit_tp, crit_fn, crit_fp = critical[(True, True)], critical[(True, False)], critical[(False, True)]
    result = {"utterances": len(utterances), "leaf": _summary(leaf_table), "l2": _summary(l2_table),
              "sentiment_accuracy": accuracy, "sentiment_macro_f1": macro_f1,
              # None where there is nothing to divide by: a world without planted safety failures has no recall.
              "critical_recall": crit_tp / (crit_tp + crit_fn) if crit_tp + crit_fn else None,
              "critical_precision": crit_tp / (crit_tp + crit_fp) if crit_tp + crit_fp else None,
              "critical_support": crit_tp + crit_fn}
    if detail:
        _print_table("per leaf (gold topics through mappings/generator_topics.yaml)", leaf_table, out)
        _print_table("per L2", l2_table, out)
    out(f"\nplanted truth: {truth_dir} ({len(utterances)} utterances)")
    _print_summary("leaf", result["leaf"], out)
    _print_summary("L2  ", result["l2"], out)
    out(f"aspect sentiment on found codes: accuracy {accuracy:.3f}, macro-F1 {macro_f1:.3f} (n={len(gold_sentiment)})")
    out(f"critical severity (utterance level): recall {_ratio(result['critical_recall'])}, precision "
        f"{_ratio(result['critical_precision'])} (gold critical utterances {result['critical_support']}, "
        f"predicted {crit_tp + crit_fp})")
    return result


# -- (b) real labelled texts ----------------------------------------------------------------------
def _split(frame: pd.DataFrame, order: pd.Series, split: str) -> pd.DataFrame:
    if split == "all":
        return frame
    parity = 0 if split == "even" else 1
    return frame[order.astype(int) % 2 == parity]


def clause_polarity(analysis, terms: set[str], mapping: dict[str, tuple[str, ...]]) -> int:
    """A car clause's predicted polarity: the sentiment of its labelled aspect's hit when it has one,
    else the utterance's sentiment (0, neutral, counts as wrong)."""
    matched = [hit for hit in analysis.hits if hit.code != UNCODED
               and any(_accepts(hit.code, mapping.get(t, ())) for t in terms)]
    return next((hit.sentiment for hit in matched if hit.sentiment), 0) or analysis.sentiment


def evaluate_car_clauses(real_dir: Path, split: str = "even", codeframe_path=None, mapping_path=None,
                         out=print, detail: bool = True) -> dict:
    mapping = load_mapping(mapping_path or CAR_ASPECT_MAPPING, "aspects")
    frames = [pd.read_csv(real_dir / name, dtype={"序号": int}) for name in CAR_CLAUSE_FILES if (real_dir / name).exists()]
    data = pd.concat(frames, ignore_index=True)
    data = _split(data, data["序号"], split)
    codeframe = str(codeframe_path) if codeframe_path else None
    analyses = analyse_texts(data["comment"].tolist(), codeframe)
    counts = Counts()
    gold_polarity, predicted_polarity = [], []
    for row, analysis in zip(data.itertuples(index=False), analyses, strict=True):
        terms = {term.strip() for term in str(row.feature).split(",") if term.strip()}
        hits = {hit.code: hit for hit in analysis.hits if hit.code != UNCODED}
        counts.add(match_labels(terms, set(hits), mapping))
        gold_polarity.append(int(row.polarity))
        predicted_polarity.append(clause_polarity(analysis, terms, mapping))
    table = _label_table(counts)
    accuracy, macro_f1 = sentiment_scores(gold_polarity, predicted_polarity)
    result = {"rows": len(data), "aspect": _summary(table), "polarity_accuracy": accuracy,
              "polarity_macro_f1": macro_f1}
    if detail:
        _print_table("car review clauses, per aspect term (FP rows are our codes)", table, out)
    out(f"\ncar review clauses ({split} rows, n={len(data)})")
    _print_summary("aspect detection", result["aspect"], out)
    out(f"polarity: accuracy {accuracy:.3f}, macro-F1 {macro_f1:.3f}")
    return result


def evaluate_review_corpus(path: Path, split: str = "even", codeframe_path=None, out=print) -> dict:
    data = pd.read_csv(path)
    data = _split(data, pd.Series(range(len(data)), index=data.index), split)
    codeframe = str(codeframe_path) if codeframe_path else None
    analyses = analyse_texts(data["review"].tolist(), codeframe)
    gold = [1 if int(label) == 1 else -1 for label in data["label"]]
    predicted = [analysis.sentiment for analysis in analyses]
    accuracy, macro_f1 = sentiment_scores(gold, predicted)
    neutral = sum(p == 0 for p in predicted) / len(predicted)
    out(f"{path.name} ({split} rows, n={len(data)}): polarity accuracy {accuracy:.3f}, macro-F1 {macro_f1:.3f}, "
        f"predicted neutral {neutral:.3f}")
    return {"rows": len(data), "accuracy": accuracy, "macro_f1": macro_f1, "neutral_share": neutral}


def evaluate_real(real_dir: str | Path | None = None, split: str = "even", codeframe_path=None,
                  out=print, detail: bool = True) -> dict:
    """Car clauses (aspects through mappings/car_review_aspects.yaml, polarity) and the two review corpora."""
    real_dir = Path(real_dir) if real_dir else default_real_dir()
    if not (real_dir / CAR_CLAUSE_FILES[0]).is_file():
        raise FileNotFoundError(
            f"no labelled real texts at {real_dir} ({CAR_CLAUSE_FILES[0]} missing): give the folder that holds "
            f"{', '.join(CAR_CLAUSE_FILES + REVIEW_CORPORA)} (default: ../shared/data/real beside the project)"
        )
    get_classifier(str(codeframe_path) if codeframe_path else None)
    results = {"car_clauses": evaluate_car_clauses(real_dir, split, codeframe_path, out=out, detail=detail)}
    for name in REVIEW_CORPORA:
        if (real_dir / name).exists():
            results[name.removesuffix(".csv")] = evaluate_review_corpus(real_dir / name, split, codeframe_path, out)
    return results
