"""A dedicated jieba tokenizer with the codeframe terms as its user dictionary.

jieba's global tokenizer is shared by every library in the process and caches to the temp dir;
a private `Tokenizer` with its own cache dir keeps our user words out of other code and makes
start-up cheap on the second run. Paddle mode is never enabled. The C++ drop-in jieba-fast-dat
is used when installed: with HMM off it is about five times faster, and its words are jieba's for
97 % of texts, not all (benchmarks/bench_classify.py prints both: 19,403 of 20,000 texts segmented
alike, 1.4 against 7.5 MB/s). The classifier's analyses of the 22,027 real texts in
shared/data/real are the same for 21,978 (99.8 %), and `voc eval --real` prints the same scores to
three decimals with either engine (car aspect precision 0.743 against 0.744); measured 2026-12-04.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

try:
    import jieba_fast_dat as _jieba_engine
except ImportError:  # the pure-Python engine gives the same segmentation, only slower
    import jieba as _jieba_engine


def default_cache_dir() -> Path:
    """`VOC_JIEBA_CACHE`, else ~/.cache/voc-warehouse/jieba."""
    return Path(os.environ.get("VOC_JIEBA_CACHE") or Path.home() / ".cache" / "voc-warehouse" / "jieba")


class Tokenizer:
    """Word boundaries of a text, from jieba with HMM off (deterministic, dictionary words only)."""

    def __init__(self, user_words=(), cache_dir: str | Path | None = None, engine=None, head_nouns=()):
        engine = engine or _jieba_engine
        cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        cache_dir.mkdir(parents=True, exist_ok=True)
        logging.getLogger("jieba").setLevel(logging.WARNING)
        if hasattr(engine, "setLogLevel"):
            engine.setLogLevel(logging.WARNING)
        self._jieba = engine.Tokenizer()
        self._jieba.tmp_dir = str(cache_dir)
        # An absolute path: jieba joins a relative one to tmp_dir, jieba-fast-dat to the working directory.
        self._jieba.cache_file = str(cache_dir.resolve() / f"{engine.__name__}.cache")
        self._jieba.initialize()  # jieba-fast-dat ignores its dictionary without this
        words = sorted({word for word in user_words if len(word) > 1 and not word.isascii()})
        for word in words:
            self._jieba.add_word(word)
        self._split_before_head_nouns(words, head_nouns)

    def _split_before_head_nouns(self, words: list[str], head_nouns) -> None:
        """A dictionary word made of a user word and a generic head noun (导航系统, 音响效果: one word each in
        jieba's dictionary) is cut before the noun, so the user word meets a word boundary and codes; a
        compound that is a user word itself (空调效果) stays whole."""
        known = set(words)
        frequency = getattr(self._jieba, "get_freq", None) or self._jieba.FREQ.get  # jieba-fast-dat / jieba
        for word in words:
            for head in head_nouns:
                compound = word + head
                if compound not in known and frequency(compound):
                    self._jieba.del_word(compound)

    def cut(self, text: str) -> list[str]:
        return self._jieba.lcut(text, HMM=False)

    def cut_discovering(self, text: str) -> list[str]:
        """Words with jieba's HMM on, which joins runs of characters its dictionary lacks into new words
        (香 氛 → 香氛): what mining uncoded texts for new terms needs. Coding keeps it off."""
        return self._jieba.lcut(text, HMM=True)

    def boundaries(self, text: str) -> list[int]:
        """Sorted character offsets where a word starts or ends (0 and len(text) included)."""
        offsets = [0]
        position = 0
        for word in self._jieba.lcut(text, HMM=False):
            position += len(word)
            offsets.append(position)
        return offsets
