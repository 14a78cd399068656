"""Relations derived from the codeframe for analysts and BI: the tree as rows, and what goes uncoded.

Pure pandas: the Dagster assets call these, and so can a notebook or a Spark job.
"""

from __future__ import annotations

import importlib.util
import json
from collections import Counter, defaultdict
from functools import lru_cache
from pathlib import Path

import pandas as pd

from udfs.codeframe.classifier import normalise
from udfs.codeframe.schema import Codeframe

CODEFRAME_COLUMNS = [
    "code", "level", "parent_code", "l1_code", "l2_code", "name_zh", "name_en", "need_layer",
    "default_severity", "owner_department", "keywords", "exclusions", "codeframe_version",
]
UNCODED_TERM_COLUMNS = ["term", "utterances", "share_of_uncoded", "score", "examples", "codeframe_version"]


def codeframe_frame(codeframe: Codeframe) -> pd.DataFrame:
    """One row per node (L1, L2, leaf) with its parentage, owner and terms."""
    rows = []
    for node in codeframe.l1.values():
        rows.append([node.id, 1, None, node.id, None, node.zh, node.en, None, None, node.department, "", ""])
    for node in codeframe.l2.values():
        rows.append([node.id, 2, node.parent, node.parent, node.id, node.zh, node.en, None, None, node.department, "", ""])
    for leaf in codeframe.leaves.values():
        rows.append([
            leaf.id, 3, leaf.parent, leaf.l1, leaf.parent, leaf.zh, leaf.en, leaf.need_layer, leaf.severity,
            leaf.department, "、".join(leaf.keywords), "、".join(leaf.exclusions),
        ])
    frame = pd.DataFrame([[*row, codeframe.version] for row in rows], columns=CODEFRAME_COLUMNS)
    frame["level"] = frame["level"].astype("int8")
    return frame


@lru_cache(maxsize=1)
def _idf() -> tuple[dict[str, float], float]:
    """jieba's shipped IDF table: a term frequent in our uncoded texts but rare in general Chinese ranks high.

    The file is found without importing `jieba.analyse`, whose import loads the same table into its own
    TF-IDF extractor and jieba's part-of-speech dictionary (~1 s of a refresh's codes step, profiled).
    """
    (package_dir,) = importlib.util.find_spec("jieba.analyse").submodule_search_locations
    path = Path(package_dir) / "idf.txt"
    table = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        word, _, value = line.partition(" ")
        if value:
            table[word] = float(value)
    median = sorted(table.values())[len(table) // 2]
    return table, median


NOUN_SUFFIXES = frozenset("感性度")  # 冲击 + 感, 舒适 + 性, 灵敏 + 度: a quality named, not an opinion given


def _candidate_terms(words: list[str], known: frozenset[str], ignored: frozenset[str]) -> dict[str, tuple[str, ...]]:
    """Topic words (≥ 2 CJK characters, no digit, not an opinion or cue word) that the codeframe does not
    know, adjacent pairs of them (香氛 系统), and a word with the noun suffix jieba cut off (冲击 感: 冲击 alone
    is an opinion word), each with the words it is made of."""
    wordlike = [len(w) >= 2 and not w.isascii() and not any(ch.isdigit() for ch in w) for w in words]
    content = [w if like and w not in ignored else None for w, like in zip(words, wordlike)]
    terms = {w: (w,) for w in content if w and w not in known}
    for left, right in zip(content, content[1:]):
        if left and right and left + right not in known:
            terms[left + right] = (left, right)
    for index in range(len(words) - 1):
        stem, suffix = words[index], words[index + 1]
        if wordlike[index] and suffix in NOUN_SUFFIXES and stem + suffix not in known and stem + suffix not in ignored:
            terms[stem + suffix] = (stem, suffix)
    return terms


def _term_idf(term: str, words: tuple[str, ...], idf: dict[str, float], median_idf: float) -> float:
    """A phrase jieba's table lacks is as specific as its rarest word: 一下 特别 stays common, 香氛 系统 does not."""
    if term in idf:
        return idf[term]
    return max(idf.get(word, median_idf) for word in words)


def uncoded_terms_frame(
    uncoded: pd.DataFrame,
    cut,
    known_terms: set[str],
    ignored_terms: set[str],
    codeframe_version: str,
    top_n: int = 200,
    examples_per_term: int = 3,
    min_utterances: int = 2,
    voice=None,
) -> pd.DataFrame:
    """Rank terms of uncoded utterances (columns feedback_id, text) by utterance count × IDF, with examples.

    `cut` splits a text into words (the classifier's tokenizer); `ignored_terms` are opinion, negation,
    degree and cue words that say nothing about a topic. `voice`, when given, maps a text to what the
    customer said, same length (the agent's turns blanked): terms come from it, snippets from the text.
    """
    known = frozenset(known_terms)
    ignored = frozenset(ignored_terms)
    counts: Counter[str] = Counter()
    parts: dict[str, tuple[str, ...]] = {}
    examples: dict[str, list[dict]] = defaultdict(list)
    for feedback_id, text in zip(uncoded["feedback_id"], uncoded["text"], strict=True):
        if not isinstance(text, str) or not text.strip():
            continue
        said = voice(text) if voice else text
        for term, words in _candidate_terms(cut(said), known, ignored).items():
            counts[term] += 1
            parts[term] = words
            if len(examples[term]) < examples_per_term:
                at = said.find(term)
                examples[term].append({"feedback_id": feedback_id, "snippet": text[max(0, at - 15): at + len(term) + 15]})
    idf, median_idf = _idf()
    total = max(len(uncoded), 1)
    ranked = sorted(
        ((term, n, n * _term_idf(term, parts[term], idf, median_idf)) for term, n in counts.items() if n >= min_utterances),
        key=lambda item: (-item[2], item[0]),
    )[:top_n]
    return pd.DataFrame(
        [
            [term, n, round(n / total, 6), round(score, 3), json.dumps(examples[term], ensure_ascii=False), codeframe_version]
            for term, n, score in ranked
        ],
        columns=UNCODED_TERM_COLUMNS,
    )


def classifier_uncoded_terms(classifier, uncoded: pd.DataFrame) -> pd.DataFrame:
    """`uncoded_terms_frame` with what the classifier knows: its keywords are known; the lexicon's opinion,
    negation, degree and non-opinion words and the codeframe's wish and severity cues are ignored; only
    the customer's voice is read, as when coding (agent turns and advisor boilerplate are not candidates);
    words the dictionary lacks are found by jieba's HMM (香氛, 二挡), since they are what analysts add."""
    lexicon, codeframe = classifier.lexicon, classifier.codeframe
    cues = [*codeframe.point_type.values(), *codeframe.severity.values()]
    return uncoded_terms_frame(
        uncoded,
        cut=classifier.tokenizer.cut_discovering,
        known_terms={keyword for leaf in classifier.leaves for keyword in leaf.keywords},
        ignored_terms={*lexicon.polarity, *lexicon.negators, *lexicon.degree, *lexicon.blockers,
                       *(word for words in cues for word in words)},
        codeframe_version=classifier.version,
        voice=lambda text: classifier.customer_voice(normalise(text)),
    )
