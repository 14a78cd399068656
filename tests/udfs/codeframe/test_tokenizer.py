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


@pytest.mark.parametrize("engine", sorted({tokenizer_module._jieba_engine, jieba}, key=lambda module: module.__name__),
                         ids=lambda module: module.__name__)
def test_a_keyword_before_a_head_noun_stands_at_a_word_boundary(tmp_path, engine):
    """jieba's dictionary holds 导航系统 and 音响效果 as one word each: the keywords 导航 and 音响 never coded there."""
    plain = Tokenizer(["导航", "音响"], cache_dir=tmp_path, engine=engine)
    assert "导航系统" in plain.cut("导航系统不好用") and "音响效果" in plain.cut("音响效果很震撼")
    split = Tokenizer(["导航", "音响", "空调", "空调效果"], cache_dir=tmp_path, engine=engine, head_nouns=["系统", "效果"])
    assert split.cut("导航系统不好用")[:2] == ["导航", "系统"]
    assert split.cut("音响效果很震撼")[:2] == ["音响", "效果"]
    assert split.cut("空调效果差")[0] == "空调效果"  # a keyword itself stays whole
