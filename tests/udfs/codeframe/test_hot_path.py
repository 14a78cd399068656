"""The classifier's hot path: caches and shortcuts must never change what a text is coded as."""
from __future__ import annotations

import gc

import pytest

from udfs.codeframe import classifier as classifier_module
from udfs.codeframe.classifier import NORMALISE_MAP, Classifier, normalise

TEXTS = [
    "提车三个月了，整体还算满意，但是车机经常卡住不动？",
    "客服：您好，请问有什么可以帮您？ 客户：刹车有异响，订单1234567，外观好看。油耗太高了！",
    "動力不錯，ＡＰＰ老是登錄不上😡，隔音做得不错",
    "说真的，油耗太高了。动力方面，还是很强的",
    "高速上突然熄火了，差点出事",
    "",
    "   ",
]


@pytest.fixture(scope="module")
def fresh():
    return Classifier()


def test_normalise_table_equals_the_mapping():
    text = "ＡＢＣ車機\u3000ｘ😡\x07Z中文abc"
    assert normalise(text) == text.translate(NORMALISE_MAP)
    assert len(normalise(text)) == len(text)
    assert normalise(text) == "abc车机 x😡 z中文abc"


def test_span_cache_generations_keep_results_and_repeated_phrases(monkeypatch):
    reference = Classifier()
    expected = [reference.analyse_compact(text) for text in TEXTS]
    small = Classifier()
    monkeypatch.setattr(classifier_module, "SPAN_CACHE_GENERATION", 5)
    for round_ in range(3):
        assert [small.analyse_compact(text) for text in TEXTS] == expected
        assert len(small._span_cache) <= 5 and len(small._span_cache_old) <= 5
        built = []
        original = small._span_entry
        monkeypatch.setattr(small, "_span_entry", lambda *args, built=built, original=original: built.append(args[0]) or original(*args))
        for number in range(40):  # a flood of one-off spans beside a repeated phrase
            small.analyse_compact(f"订单{number}{round_}号，车机卡顿")
        monkeypatch.undo()
        monkeypatch.setattr(classifier_module, "SPAN_CACHE_GENERATION", 5)
        # the repeated phrase moved forward with each new generation instead of being rebuilt
        assert built.count("车机卡顿") <= 1 and len(built) >= 40
    assert [small.analyse_compact(text) for text in TEXTS] == expected


def test_batch_matches_single_texts_and_restores_the_collector(fresh):
    singles = [fresh.analyse_compact(text) for text in TEXTS]
    assert gc.isenabled()
    assert fresh.analyse_many_compact(TEXTS * 2) == singles * 2
    assert gc.isenabled()
    gc.disable()
    try:
        fresh.analyse_many_compact(TEXTS)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_cached_offsets_match_the_evidence(fresh):
    for text in ["外观好看。油耗太高了", "说真的，油耗太高了", "油耗太高了"] * 2:
        for hit in fresh.analyse(text).hits:
            assert text[hit.start:hit.end] == hit.evidence


# -- car clause polarity rules (codeframe 1.4.1) ------------------------------------------------------
@pytest.fixture(scope="module")
def rules_only():
    return Classifier(sentiment_model=None)


def aspect_sentiment(model, text: str, code: str) -> int:
    return {hit.code: hit.sentiment for hit in model.analyse(text).hits}[code]


@pytest.mark.parametrize("text, code, expected", [
    ("后排中间凸起太高！", "PRD.SPC.CABIN", -1),  # the size of the hump, not of the space
    ("后排中间隆起很低", "PRD.SPC.CABIN", 1),
    ("价格不高，配置也够用", "PRC.PRICE.LEVEL", 1),  # 不高 on a lower-is-better aspect
    ("高速油耗不到7个", "PRD.ECO.FUEL", 1),
    ("空间不高", "PRD.SPC.CABIN", -1),
    ("车身过轻", "PRD.EXT.STYLE", -1),
    ("异味很大", "PRD.INT.SMELL", -1),  # a problem aspect sized by its own word: unchanged
])
def test_magnitude_words_size_the_right_thing(rules_only, text, code, expected):
    assert aspect_sentiment(rules_only, text, code) == expected


def test_a_negator_out_of_reach_does_not_cancel_a_later_one(rules_only):
    assert rules_only.analyse("后座的靠背无法放到这点不太人性化").sentiment == -1
    assert rules_only.analyse("不是不好").sentiment >= 0  # a real double negation still cancels


def test_rhetorical_what_use_and_nothing_to_criticise(rules_only):
    hits = rules_only.analyse("服务还算热情，可热情有什么用呢").hits
    assert [hit.sentiment for hit in hits if "有什么用" in hit.evidence] == [-1]
    assert rules_only.analyse("后面空间就不用多说了").sentiment == 1
