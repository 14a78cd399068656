"""The classifier's private jieba tokenizer keeps its dictionary cache in its own directory."""

from __future__ import annotations

import jieba
import pytest

from udfs.codeframe import tokenizer as tokenizer_module
from udfs.codeframe.tokenizer import Tokenizer


@pytest.mark.parametrize("engine", sorted({tokenizer_module._jieba_engine, jieba}, key=lambda module: module.__name__),
                         ids=lambda module: module.__name__)
def test_the_cache_goes_to_the_cache_dir_not_the_working_directory(tmp_path, monkeypatch, engine):
    working, cache = tmp_path / "where-voc-runs", tmp_path / "cache"
    working.mkdir()
    monkeypatch.chdir(working)
    words = Tokenizer(["车机卡顿"], cache_dir=cache, engine=engine).cut("车机卡顿了")
    assert words[0] == "车机卡顿"
    assert list(working.iterdir()) == []  # jieba-fast-dat wrote jieba_fast_dat.cache here
    assert (cache / f"{engine.__name__}.cache").is_file()
