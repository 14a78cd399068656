"""The learned sentiment layer: shipped weights, the training script's odd-row rule, robustness."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from udfs.codeframe import learned
from udfs.codeframe.classifier import Classifier, get_classifier
from udfs.codeframe.evaluate import default_real_dir
from udfs.codeframe.train_sentiment import PRUNE, current_inputs_digest, odd_rows, train


@pytest.fixture(scope="module")
def model():
    loaded = learned.load_model()
    assert loaded is not None, f"{learned.MODEL_PATH} missing or unreadable"
    return loaded


def test_shipped_weights_load_and_are_small(model):
    assert learned.MODEL_PATH.stat().st_size <= 2_000_000
    assert model.ngram_max == learned.NGRAM_MAX
    assert len(model.weights) > 1_000
    assert all(1 <= len(gram.removeprefix(learned.NEGATION_MARK)) <= model.ngram_max for gram in model.weights)
    assert model.negation_scope == learned.NEGATION_SCOPE
    assert model.rule_weights[0] + model.rule_weights[1] > 0  # the rules' verdict pushes the same way
    assert set(model.meta["trained_on"]) <= {"car_review_clauses", "car_review_clauses_magotan", "waimai_10k",
                                             "chnsenticorp_htl"}
    assert model.meta["split"].startswith("odd rows only")


def test_default_classifier_uses_the_layer(model):
    assert get_classifier().sentiment_model is not None


def test_missing_or_corrupt_weights_fall_back_to_rules(tmp_path):
    corrupt = tmp_path / "bad.json.gz"
    corrupt.write_bytes(b"not gzip")
    for path in (tmp_path / "absent.json.gz", corrupt, None):
        assert learned.load_model(path) is None
    clf = Classifier(sentiment_model=tmp_path / "absent.json.gz")
    assert clf.sentiment_model is None
    assert clf.analyse("刹车失灵，太危险了").sentiment == -1


def test_logit_decomposes_over_spans(model):
    clf = get_classifier()
    text = "味道不错，送餐太慢了，下次不会再点"
    spans = clf.model_spans(text)
    total = sum(model.span_sum(span)[0] for span in spans)
    grams = [g for span in spans for g in learned.span_ngrams(span)]
    assert math.isclose(total, sum(model.weights.get(g, 0.0) for g in grams), abs_tol=1e-9)
    # the spans the training script reads are the spans the classifier sums at run time
    for sample in (text, "客服：您好 客户：订单1234567没送到！！好评", "刹车失灵"):
        runtime_sum = clf._analyse_rules(sample)[3]
        assert math.isclose(runtime_sum, sum(model.span_sum(span)[0] for span in clf.model_spans(sample)), abs_tol=1e-9)


# Each long text once took from 10 s to 6 minutes (quadratic scans); a hang guard, not a speed test.
@pytest.mark.timeout(120)
@pytest.mark.parametrize("text", ["", "   ", "😡😡😡", "👍", "？？？", "a" * 100_000, "好" * 100_000,
                                  "刹车" * 50_000, "1234567890" * 10_000, "外观、内饰、座椅、" * 10_000 + "都很好",
                                  "刹车失灵" * 25_000, "异响很大" * 25_000,
                                  None, float("nan"), 12345, "订单1234567890123"])
def test_bad_inputs_never_raise(text):
    analysis = get_classifier().analyse(text)
    assert analysis.sentiment in (-1, 0, 1)
    assert -1.0 <= analysis.sentiment_score <= 1.0


def test_empty_text_stays_neutral():
    assert get_classifier().analyse("").sentiment == 0
    assert get_classifier().analyse("😀").sentiment in (-1, 0, 1)


@pytest.mark.parametrize("text", ["12345", "1", "2024", "？？？", "！！！。。。", "😀😀", "👍", "龘靐齉"])
def test_a_text_with_no_word_or_no_known_ngram_stays_neutral(text):
    """Digit n-grams carry the delivery reviews' 等了1个小时 and the bias the corpora's share of complaints:
    neither is an opinion of a text that is only a number, punctuation, emoji or characters never seen."""
    assert get_classifier().analyse(text).sentiment == 0
    assert get_classifier().analyse("订单1234567没送到").sentiment == -1  # digits beside words still count


def test_safety_failure_stays_negative_and_critical():
    analysis = get_classifier().analyse("高速上突然熄火了，吓死了，不过销售态度很好很热情")
    assert analysis.sentiment == -1
    assert any(hit.severity == "critical" for hit in analysis.hits)


def _write_corpora(root, poison: str):
    """Tiny labelled files: every even row carries `poison`, which training must never see."""
    rows = []
    for number in range(1, 41):
        positive = number % 4 in (1, 2)
        text = ("空间很大，舒服满意" if positive else "油耗太高，失望后悔")
        rows.append({"序号": number, "comment": poison if number % 2 == 0 else text, "feature": "空间",
                     "featureNum": 1, "polarity": 1 if positive else -1})
    pd.DataFrame(rows).to_csv(root / "car_review_clauses.csv", index=False)
    reviews = [{"label": i % 2 if i % 4 < 2 else 1 - i % 2,
                "review": poison if i % 2 == 0 else ("好吃推荐" if (i // 2) % 2 == 0 else "难吃差评")} for i in range(40)]
    pd.DataFrame(reviews).to_csv(root / "waimai_10k.csv", index=False)


def test_training_reads_odd_rows_only_and_is_deterministic(tmp_path):
    poison = "偶数行禁止训练"
    _write_corpora(tmp_path, poison)
    rows = odd_rows(tmp_path, ("car", "waimai_10k"))
    assert len(rows) == 40 and not rows["text"].str.contains(poison).any()
    first, second = tmp_path / "a.json.gz", tmp_path / "b.json.gz"
    for out in (first, second):
        learned.save_model(train(tmp_path, ("car", "waimai_10k")), out)
    assert first.read_bytes() == second.read_bytes()
    model = learned.load_model(first)
    assert model is not None and model.ngram_max == learned.NGRAM_MAX
    assert not any(set(gram) & set(poison) for gram in model.weights)
    assert model.meta["trained_on"] == {"car_review_clauses": 20, "waimai_10k": 20}
    shipped = learned.load_model()
    assert set(model.to_json()) == set(shipped.to_json())


def _real_dir_or_skip():
    real_dir = default_real_dir()
    if not (real_dir / "waimai_10k.csv").exists():
        pytest.skip(f"real labelled data not present at {real_dir} (it lives in ../shared/data/real)")
    return real_dir


def test_shipped_weights_are_trained_on_the_current_inputs():
    """Exact and machine-independent: a change of rows, spans or lexicon rules makes the weights stale."""
    shipped = learned.load_model()
    assert shipped.meta.get("inputs_digest") == current_inputs_digest(_real_dir_or_skip()), (
        "the shipped weights are stale (trained on other inputs): run python -m udfs.codeframe.train_sentiment")


def test_shipped_weights_reproduce_from_the_odd_rows():
    """The fit runs on OpenBLAS, whose kernels differ between CPUs: another machine lands within a hair."""
    retrained, shipped = train(_real_dir_or_skip()), learned.load_model()
    assert abs(retrained.bias - shipped.bias) < 0.01
    assert max(abs(a - b) for a, b in zip(retrained.rule_weights, shipped.rule_weights)) < 0.01
    common = retrained.weights.keys() & shipped.weights.keys()
    assert max(abs(retrained.weights[g] - shipped.weights[g]) for g in common) < 0.01
    # Only weights at the pruning threshold may appear on one side alone.
    for side, other in ((retrained.weights, shipped.weights), (shipped.weights, retrained.weights)):
        assert all(abs(side[g]) < PRUNE + 0.01 for g in side.keys() - other.keys())
    assert len(common) > 0.99 * len(shipped.weights)


def test_a_coded_aspect_takes_a_weak_learned_verdict():
    model = learned.SentimentModel(weights={"稳": 0.6}, bias=0.0, rule_weights=(1.0, 1.0), neutral_margin=0.5)
    ngram_sum, positions = model.span_sum("底盘很稳")
    assert 0 < model.logit(0.0, ngram_sum, positions) < model.neutral_margin
    assert model.score(0.0, ngram_sum, positions) == 0.0  # nothing coded, rules silent: neutral
    assert model.score(0.0, ngram_sum, positions, aspect_coded=True) > 0


def test_a_confident_learned_verdict_decides_the_aspects_a_text_codes(tmp_path):
    def coded(bias: float, text: str) -> dict:
        path = tmp_path / f"model{bias}.json.gz"
        learned.save_model(learned.SentimentModel(weights={"车": 0.0}, bias=bias, rule_weights=(0.0, 0.0),
                                                  neutral_margin=0.5), path)
        return {hit.code: hit for hit in Classifier(sentiment_model=path).analyse(text).hits}

    def only_hit(bias: float, text: str):
        hits = coded(bias, text)
        assert len(hits) == 1
        return next(iter(hits.values()))

    rules = {hit.code: hit.sentiment for hit in Classifier(sentiment_model=None).analyse("外观很漂亮").hits}
    assert rules == {"PRD.EXT.STYLE": 1}
    hit = only_hit(-3.0, "外观很漂亮")  # confident and contrary: the learned verdict
    assert (hit.sentiment, hit.severity, hit.point_type) == (-1, "minor", "pain")
    assert only_hit(-0.6, "外观很漂亮").sentiment == 1  # weak: the rules' verdict
    assert only_hit(-3.0, "这排量其实都差不多").sentiment == -1  # the rules found none
    assert only_hit(-3.0, "没有异响").sentiment == 1  # a negation the rules read stands
    assert only_hit(-3.0, "座椅方面，并不难受").sentiment == 1  # also in the span that lent the verdict
    # several aspects: each contrary one takes the confident verdict, a negated one keeps the rules'
    assert {code: hit.sentiment for code, hit in coded(-3.0, "外观很漂亮，内饰很精致").items()} == {
        "PRD.EXT.STYLE": -1, "PRD.INT.DESIGN": -1}
    assert {code: hit.sentiment for code, hit in coded(-0.6, "外观很漂亮，内饰很精致").items()} == {
        "PRD.EXT.STYLE": 1, "PRD.INT.DESIGN": 1}
    assert {code: hit.sentiment for code, hit in coded(-3.0, "没有异响，外观很漂亮").items()} == {
        "PRD.EXT.STYLE": -1, "PRD.NVH.RATTLE": 1}


def test_a_wish_keeps_its_lean_unless_the_learned_verdict_is_confident(tmp_path):
    def verdict(bias: float, text: str) -> int:
        path = tmp_path / f"wish{bias}.json.gz"
        learned.save_model(learned.SentimentModel(weights={"车": 0.0}, bias=bias, rule_weights=(0.0, 0.0),
                                                  neutral_margin=0.5), path)
        return Classifier(sentiment_model=path).analyse(text).sentiment

    text = "希望座椅能再舒服一点"  # a wish, no opinion of what the customer has: the rules lean negative
    assert Classifier(sentiment_model=None).analyse(text).sentiment == -1
    assert verdict(0.8, text) == -1  # a weak positive learned verdict does not overrule the wish
    assert verdict(3.0, text) == 1  # a confident one does
    assert verdict(0.8, "座椅很舒服") == 1  # no wish: the learned verdict as before


def test_ngrams_in_a_negators_scope_are_features_of_their_own(tmp_path):
    grams = list(learned.span_ngrams("从没出过故障呢", 2, scope=4))
    assert "¬故障" in grams and "故障" not in grams  # within four characters of 没
    assert "没出" in grams and "呢" in grams  # the negator itself and what lies beyond its scope stay plain
    assert list(learned.span_ngrams("故障很多", 2, scope=4)) == ["故", "障", "很", "多", "故障", "障很", "很多"]
    model = learned.SentimentModel(weights={"故障": -1.0, "¬故障": 0.5}, bias=0.0, rule_weights=(0.0, 0.0),
                                   neutral_margin=0.5, negation_scope=4)
    assert model.span_sum("从没出过故障呢")[0] == 0.5 and model.span_sum("故障很多")[0] == -1.0
    path = tmp_path / "scoped.json.gz"
    learned.save_model(model, path)
    assert learned.load_model(path).negation_scope == 4
