"""Codeframe schema, classifier behaviour, robustness and file I/O (no real data needed)."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from udfs.codeframe.batch import classify_file
from udfs.codeframe.classifier import FRAME_COLUMNS, UNCODED, CodeHit, classify_frame, get_classifier
from udfs.codeframe.evaluate import default_real_dir, evaluate_real, topic_sentiment
from udfs.codeframe.schema import DEFAULT_CODEFRAME_PATH, CodeframeError, load_codeframe


@pytest.fixture(scope="module")
def classifier():
    return get_classifier()


def codes(classifier, text: str) -> dict:
    return {hit.code: hit for hit in classifier.analyse(text).hits}


# -- schema ---------------------------------------------------------------------------------------
def test_shipped_codeframe_is_valid_and_large_enough():
    frame = load_codeframe()
    assert len(frame.leaves) >= 120
    assert {"PRD", "SAL", "DLV", "AFS", "DIG", "BRD", "PRC", "XCH"} <= set(frame.l1)
    for leaf in frame.leaves.values():
        assert leaf.keywords and leaf.department and leaf.need_layer and leaf.severity
        assert leaf.parent in frame.l2 and frame.l2[leaf.parent].parent == leaf.l1


def _broken_copy(tmp_path: Path, old: str, new: str) -> Path:
    text = DEFAULT_CODEFRAME_PATH.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "broken.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line)


def test_schema_names_file_line_and_field_for_bad_enum(tmp_path):
    path = _broken_copy(tmp_path, "    need_layer: basic\n", "    need_layer: essential\n")
    with pytest.raises(CodeframeError) as error:
        load_codeframe(path)
    problem = error.value.problems[0]
    assert problem.startswith(f"{path}:{_line_of(path, 'need_layer: essential')}: ")
    assert "need_layer" in problem and "essential" in problem


def test_schema_rejects_unknown_parent_and_missing_field(tmp_path):
    path = _broken_copy(tmp_path, "    parent: PRD.PWR\n", "    parent: PRD.NOPE\n")
    path.write_text(path.read_text(encoding="utf-8").replace("    severity: critical\n", "", 1), encoding="utf-8")
    with pytest.raises(CodeframeError) as error:
        load_codeframe(path)
    text = "\n".join(error.value.problems)
    assert "parent" in text and "PRD.NOPE" in text
    assert ".severity: missing required field" in text
    assert f"{path}:{_line_of(path, 'parent: PRD.NOPE')}:" in text


def test_schema_reports_yaml_syntax_errors_with_line(tmp_path):
    path = _broken_copy(tmp_path, 'version: "1.2.0"', 'version: [1.1.0')
    with pytest.raises(CodeframeError, match=r"broken\.yaml:\d+: <yaml>"):
        load_codeframe(path)


# -- sentiment --------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, code, expected", [
    ("空间很大", "PRD.SPC.CABIN", 1),
    ("空间不大", "PRD.SPC.CABIN", -1),
    ("油耗很高", "PRD.ECO.FUEL", -1),
    ("油耗并不高", "PRD.ECO.FUEL", 1),
    ("没有异响", "PRD.NVH.RATTLE", 1),
    ("没有导航", "PRD.INF.NAV", -1),
    ("座椅不是很舒服", "PRD.SEAT.COMF", -1),
    ("隔音效果非常好", "PRD.NVH.NOISE", 1),
    ("价格有点贵", "PRC.PRICE.LEVEL", -1),
])
def test_negation_and_degree(classifier, text, code, expected):
    assert codes(classifier, text)[code].sentiment == expected


def test_contrast_gives_each_aspect_its_own_clause(classifier):
    found = codes(classifier, "外观很漂亮，但是油耗太高了")
    assert found["PRD.EXT.STYLE"].sentiment == 1
    assert found["PRD.ECO.FUEL"].sentiment == -1
    assert classifier.analyse("外观很漂亮，但是油耗太高了").sentiment == -1
    assert codes(classifier, "车不错，就是油耗高")["PRD.ECO.FUEL"].sentiment == -1


def test_degree_strengthens(classifier):
    weak = codes(classifier, "座椅有点硬")["PRD.SEAT.COMF"].sentiment_score
    strong = codes(classifier, "座椅非常硬")["PRD.SEAT.COMF"].sentiment_score
    assert strong < weak < 0


def test_rhetorical_question_and_internet_phrasing(classifier):
    assert classifier.analyse("这也叫好车？").sentiment == -1
    assert codes(classifier, "车机卡成狗，无语了")["PRD.INF.LAG"].sentiment == -1
    assert classifier.analyse("续航真香，闭眼入").sentiment == 1


# -- severity and point type ------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["高速上刹车失灵了", "车停在路边突然自燃", "高速熄火，吓死了",
                                  "方向盘锁死，差点撞车", "撞车了气囊没弹出来"])
def test_safety_risks_are_critical(classifier, text):
    hits = classifier.analyse(text).hits
    assert any(hit.severity == "critical" for hit in hits), [(h.code, h.severity) for h in hits]


def test_severity_major_and_minor(classifier):
    assert codes(classifier, "车机又黑屏了，修了好几次")["PRD.INF.CRASH"].severity == "major"
    assert codes(classifier, "座椅有点硬")["PRD.SEAT.COMF"].severity == "minor"
    assert all(hit.severity != "critical" for hit in classifier.analyse("刹车很灵敏，没有失灵过").hits)


def test_point_types(classifier):
    assert codes(classifier, "车机太卡了")["PRD.INF.LAG"].point_type == "pain"
    assert codes(classifier, "希望增加座椅通风")["PRD.SEAT.FUNC"].point_type == "itch"
    assert codes(classifier, "要是能支持CarPlay就好了")["PRD.INF.PHONE"].point_type == "itch"
    assert codes(classifier, "交车仪式很用心，很惊喜")["DLV.CER.CEREM"].point_type == "delight"


def test_cross_channel_handoffs(classifier):
    assert "XCH.QUO.QUOTE" in codes(classifier, "官网报价到店不认")
    assert "XCH.CBK.CALLBACK" in codes(classifier, "客服说好回电话，结果石沉大海")


def test_evidence_offsets_slice_back(classifier):
    text = "ＡＰＰ预约了保养，到店说查不到预约！刹车异响也没修好。"
    for hit in classifier.analyse(text).hits:
        assert text[hit.start:hit.end] == hit.evidence and hit.evidence


def test_uncoded_when_nothing_applies(classifier):
    hits = classifier.analyse("今天天气不错").hits
    assert [hit.code for hit in hits] == [UNCODED]


# -- robustness ---------------------------------------------------------------------------------------
BAD_INPUTS = ["", "   \t ", "😀😡🚗", "！！！。。。???", "刹车" * 50_000, "The brakes failed on the highway",
              "車機很卡，剎車異響", "车机\x00卡\x07顿\x1b", "ＯＴＡ升级后ｃａｒｐｌａｙ连不上，油耗１０Ｌ",
              None, float("nan"), 12345]


@pytest.mark.parametrize("text", BAD_INPUTS, ids=range(len(BAD_INPUTS)))
def test_bad_input_yields_a_valid_row(classifier, text):
    analysis = classifier.analyse(text)
    assert analysis.hits and analysis.sentiment in (-1, 0, 1)
    for hit in analysis.hits:
        assert hit.code == UNCODED or hit.code in classifier.codeframe.leaves


def test_traditional_and_full_width_are_coded(classifier):
    assert "PRD.BRK.NOISE" in codes(classifier, "剎車異響")
    assert "PRD.INF.OTA" in codes(classifier, "ＯＴＡ升级")


# -- frame and files ---------------------------------------------------------------------------------
def test_classify_frame_columns_and_uncoded_row():
    frame = pd.DataFrame({"feedback_id": ["a", "b", "c"], "text": ["刹车失灵了，车机也卡顿", "你好", None]})
    out = classify_frame(frame)
    assert list(out.columns) == FRAME_COLUMNS
    assert set(out.loc[out.feedback_id == "a", "code"]) >= {"PRD.BRK.FAIL", "PRD.INF.LAG"}
    assert out.loc[out.feedback_id == "b", "code"].tolist() == [UNCODED]
    assert out.loc[out.feedback_id == "c", "code"].tolist() == [UNCODED]
    assert out.equals(classify_frame(frame))  # deterministic


def test_classify_file_csv_and_jsonl(tmp_path):
    csv_path = tmp_path / "in.csv"
    pd.DataFrame({"id": [7, 8], "text": ["后备箱太小", ""]}).to_csv(csv_path, index=False)
    jsonl_path = tmp_path / "in.jsonl"
    jsonl_path.write_text('{"id": 1, "text": "续航虚标严重"}\n{broken json\n{"id": 3, "text": "很好"}\n',
                          encoding="utf-8")
    for source in (csv_path, jsonl_path):
        out = tmp_path / f"{source.stem}_{source.suffix[1:]}.jsonl"
        rows, unreadable = classify_file(source, out)
        lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        assert len(lines) == rows == (2 if source == csv_path else 3)
        assert unreadable == (0 if source == csv_path else 1)
        assert all({"id", "codes", "sentiment", "uncoded", "codeframe_version"} <= set(line) for line in lines)
    first = json.loads((tmp_path / "in_csv.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert first["id"] == 7 or first["id"] == "7"
    # JSON ids keep their type beside a line without one; the unreadable line says where it was
    coded = [json.loads(line) for line in (tmp_path / "in_jsonl.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [line["id"] for line in coded] == [1, None, 3] and isinstance(coded[0]["id"], int)  # not 1.0
    assert [line.get("error") for line in coded] == [None, "invalid JSON at line 2", None]
    assert coded[1]["uncoded"] and coded[1]["sentiment"] == 0
    assert first["codes"][0]["code"] == "PRD.SPC.TRUNK" and first["codes"][0]["l1"] == "产品"


def test_classify_file_reads_tab_separated_text(tmp_path):
    """A spreadsheet's "text (tab-delimited)" export, named .tsv or .csv, is read by its tabs (a text may hold commas)."""
    for name in ("in.tsv", "in.csv"):
        source = tmp_path / name
        source.write_text("id\ttext\nA1\t后备箱太小，放不下婴儿车\n", encoding="utf-8")
        out = tmp_path / f"{name}.jsonl"
        assert classify_file(source, out) == (1, 0)
        (line,) = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        assert line["id"] == "A1" and line["codes"][0]["code"] == "PRD.SPC.TRUNK"


def test_real_data_scores_when_available():
    real_dir = default_real_dir()
    if not (real_dir / "car_review_clauses.csv").exists():
        pytest.skip(f"real evaluation data not present at {real_dir} (it lives in ../shared/data/real)")
    results = evaluate_real(real_dir, out=lambda *_: None, detail=False)
    assert results["car_clauses"]["aspect"]["micro_f1"] > 0.7


# -- rules added in codeframe 1.1.0 -----------------------------------------------------------------
@pytest.mark.parametrize("text", ["开了三年从来没有自燃过", "这车不会起火吧，放心", "没有熄火，一切正常"])
def test_denied_safety_failure_is_not_critical(classifier, text):
    assert all(hit.severity != "critical" for hit in classifier.analyse(text).hits)


@pytest.mark.parametrize("text, code", [
    ("追尾撞得很狠，气囊居然一个都没弹出来", "PRD.ADAS.AIRBAG"),
    ("下坡的时候刹车突然踩不下去", "PRD.BRK.FAIL"),
    ("行驶中转向助力突然没了", "PRD.HDL.LOCK"),
])
def test_freely_phrased_safety_failure_is_critical(classifier, text, code):
    hit = codes(classifier, text)[code]
    assert hit.severity == "critical" and hit.sentiment < 0


def test_agent_turns_and_hashtags_are_not_coded(classifier):
    text = "客服：您好，星曜客服，我帮您转给当地经销商处理。 客户：车机老是死机。客服：已经帮您记录了。"
    found = codes(classifier, text)
    assert "AFS.SA.DEALER" not in found and "AFS.CC.HOTLINE" not in found
    assert any(code.startswith("PRD.INF") for code in found)
    assert set(codes(classifier, "#提车日记# #避雷#")) == {UNCODED}


def test_generic_noun_needs_an_opinion(classifier):
    assert "AFS.CC.HOTLINE" not in codes(classifier, "客服在吗")
    assert "AFS.CC.HOTLINE" in codes(classifier, "客服态度太差了")


def test_specific_child_wins_over_generic_sibling(classifier):
    found = codes(classifier, "换挡有顿挫")
    specific = [code for code in found if code.startswith("PRD.TRN")]
    assert len(specific) == 1 and found[specific[0]].sentiment < 0


def test_contrast_second_clause_carries_the_verdict(classifier):
    assert classifier.analyse("外观还行，但是质量太差了").sentiment == -1
    assert classifier.analyse("有点贵，不过真的好吃").sentiment == 1


def test_fallback_reduces_neutral_on_opinionated_text(classifier):
    assert classifier.analyse("等了两个小时才送到").sentiment == -1
    assert classifier.analyse("这个面很好吃").sentiment == 1


# -- 1.2.0 rules ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, leaf", [
    ("行驶中动力突然中断，后面的车差点撞上来", "PRD.PWR.STALL"),
    ("下坡的时候刹车突然软了", "PRD.BRK.FAIL"),
    ("转弯时方向盘突然打不动", "PRD.HDL.LOCK"),
    ("撞成这样气囊都没打开", "PRD.ADAS.AIRBAG"),
    ("停在地库里车烧起来了", "PRD.QLT.FIRE"),
    ("等红灯的时候车子突然自己往前冲", "PRD.THR.SURGE"),
    ("高速上开着车门突然弹开了", "PRD.EXT.DOOR"),
    ("开着开着轮毂脱落了", "PRD.HDL.TIRE"),
])
def test_critical_by_structure(classifier, text, leaf):
    hit = codes(classifier, text)[leaf]
    assert hit.severity == "critical" and hit.sentiment == -1


@pytest.mark.parametrize("text", ["从来没有动力中断过", "用了三年没有自燃过", "跑高速掉电太快了"])
def test_denied_or_unrelated_is_not_critical(classifier, text):
    assert all(hit.severity != "critical" for hit in classifier.analyse(text).hits)


def test_most_specific_leaf_wins_in_clause(classifier):
    assert set(codes(classifier, "说是新能源车险就这么贵")) == {"PRC.INS.CAR"}  # 贵 yields to 车险
    assert set(codes(classifier, "置换很方便")) == {"PRC.TRD.TRADE"}  # 方便 yields to 置换
    assert "DIG.APP.REMOTE" in codes(classifier, "远程开空调经常失败")
    assert "PRD.NVH.HVAC" not in codes(classifier, "远程开空调经常失败")


def test_generic_clause_inherits_previous_aspect(classifier):
    found = codes(classifier, "交车仪式就是随便拉个横幅拍张照，敷衍")
    assert "DLV.CER.CEREM" in found and "AFS.SA.ATT" not in found


def test_contrast_opens_a_new_subject(classifier):
    # 休息区 is generic: after a plain comma it would speak about the seat, after 但是 it is its own subject
    assert set(codes(classifier, "座椅很舒服，但是休息区太乱了")) == {"PRD.SEAT.COMF", "SAL.STO.ENV"}


def test_safety_failure_clause_codes_the_failure_only(classifier):
    assert set(codes(classifier, "转弯时方向盘突然锁死")) == {"PRD.HDL.LOCK"}  # not also steering feel
    assert codes(classifier, "转弯时方向盘突然锁死")["PRD.HDL.LOCK"].severity == "critical"


def test_weak_verdicts_only_alone_strong_ones_beside_aspects(classifier):
    assert "BRD.IMG.TRUST" in codes(classifier, "不推荐，别买")
    assert "BRD.IMG.TRUST" not in codes(classifier, "避雷！后备箱太小了")
    assert set(codes(classifier, "刹车偏软，不推荐")) == {"PRD.BRK.FEEL", "BRD.IMG.TRUST"}


def test_bare_complaint_and_contact_numbers_do_not_code(classifier):
    assert "AFS.CC.COMPL" not in codes(classifier, "我想投诉一下，座椅太硬了")
    assert "XCH.CBK.CALLBACK" not in codes(classifier, "刹车异响，回电打13800138000就行")


def test_parallel_frame_equals_serial():
    from udfs.codeframe import batch

    texts = ["刹车失灵了，车机也卡顿", "你好", None, "空间很大，油耗很高"] * 6
    frame = pd.DataFrame({"feedback_id": range(len(texts)), "text": texts})
    serial = classify_frame(frame)
    old = batch.PARALLEL_MIN_TEXTS
    batch.PARALLEL_MIN_TEXTS = 1
    try:
        parallel = batch.classify_frame_parallel(frame, workers=2)
    finally:
        batch.PARALLEL_MIN_TEXTS = old
        batch.close_pools()
    pd.testing.assert_frame_equal(parallel, serial)


# -- 1.3.0 rules ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def rules_only():
    """The lexicon rules alone (the learned sentiment layer switched off)."""
    from udfs.codeframe.classifier import Classifier

    return Classifier(sentiment_model=None)


def test_tie_breaks_toward_the_last_opinionated_clause(rules_only):
    assert rules_only.analyse("量大，味道差").sentiment == -1
    assert rules_only.analyse("味道差，量大").sentiment == 1


@pytest.mark.parametrize("text", ["送餐时间好长", "量太小太贵", "越来越小了", "塑料感太强", "真心贵了，不值这个价",
                                  "等了快三个小时", "筷子都没有", "无一键升窗", "面有点夹生"])
def test_complaints_the_lexicon_alone_missed(rules_only, text):
    assert rules_only.analyse(text).sentiment == -1


@pytest.mark.parametrize("text", ["异响很小", "送餐很快", "总体来说很满意，就是房间小了点"])
def test_praise_and_hedged_complaints(rules_only, text):
    assert rules_only.analyse(text).sentiment == 1


def test_hedged_complaint_weighs_less_than_a_plain_one(rules_only):
    assert rules_only.lexicon.polarity["小了点"] > rules_only.lexicon.polarity["差"]


def test_verdict_clause_outweighs_itemised_complaints(rules_only):
    assert rules_only.analyse("早餐一般，房间有点旧，隔音不好，总体来说还是满意的").sentiment == 1
    assert rules_only.analyse("味道不错，包装也好，但是以后不会再点了").sentiment == -1


def test_blockers_never_tile_a_word(rules_only):
    assert rules_only.analyse("可以刷信用卡").sentiment >= 0  # 信用卡 holds no 卡 (stuck)


def test_business_reply_is_not_the_customer(rules_only):
    assert rules_only.analyse("房间很干净。宾馆反馈2008年5月3日：非常抱歉给您带来不便，差评我们会改进").sentiment == 1


def test_long_numbers_share_the_span_cache(classifier):
    first = classifier.analyse_compact("车机经常卡住不动 订单0000001")
    second = classifier.analyse_compact("车机经常卡住不动 订单0000002")
    assert first[:2] == second[:2] and [hit[0] for hit in first[2]] == [hit[0] for hit in second[2]]
    assert classifier.analyse("手机13812345678，刹车失灵了").hits[0].evidence == "刹车失灵了"


def test_cached_clause_coding_keeps_offsets(classifier):
    texts = ["油耗太高了", "说真的，油耗太高了", "外观好看。油耗太高了"]
    for text in texts * 2:
        hit = codes(classifier, text)["PRD.ECO.FUEL"]
        assert text[hit.start:hit.end] == hit.evidence and "油耗" in hit.evidence and hit.sentiment == -1


def test_compact_and_full_analysis_agree(classifier):
    """The workers' compact analysis, expanded in the parent, is the full analysis."""
    for text in ["刹车踩下去软绵绵的，客服电话一直打不通", "", "今天天气不错", "希望能出个OTA修一下"]:
        assert classifier.expand(classifier.analyse_compact(text)) == classifier.analyse(text)


def test_parallel_frame_equals_serial_frame(monkeypatch):
    from udfs.codeframe import batch

    monkeypatch.setattr(batch, "PARALLEL_MIN_TEXTS", 10)
    monkeypatch.setattr(batch, "CHUNK_TEXTS", 7)
    texts = ["油耗太高了", None, "", "客服态度太差了", "外观很漂亮，但是油耗太高了", "刹车失灵了"] * 5
    frame = pd.DataFrame({"feedback_id": [f"u{i}" for i in range(len(texts))], "text": texts})
    serial = classify_frame(frame)
    parallel = batch.classify_frame_parallel(frame, workers=2)
    pd.testing.assert_frame_equal(serial.reset_index(drop=True), parallel.reset_index(drop=True))


def test_a_stream_of_frames_codes_each_as_a_single_frame(monkeypatch):
    """Chunks of consecutive frames share the pool's stream; each output still belongs to its own frame."""
    from udfs.codeframe import batch

    monkeypatch.setattr(batch, "CHUNK_TEXTS", 4)
    texts = ["油耗太高了", None, "客服态度太差了", "外观很漂亮，但是油耗太高了", "刹车失灵了", "你好", "空间很大"]
    frames = [pd.DataFrame({"feedback_id": [f"f{n}u{i}" for i in range(rows)], "text": (texts * 3)[n:n + rows]})
              for n, rows in enumerate([9, 0, 1, 12, 4])]
    try:
        streamed = list(batch.classify_frames_parallel(iter(frames), workers=2))
    finally:
        batch.close_pools()
    assert [frame is original for (frame, _), original in zip(streamed, frames)] == [True] * len(frames)
    for frame, codes in streamed:
        pd.testing.assert_frame_equal(codes.reset_index(drop=True), classify_frame(frame).reset_index(drop=True))


def test_a_stream_raises_what_reading_its_frames_raised_after_the_frames_before():
    from udfs.codeframe import batch

    def frames():
        yield pd.DataFrame({"feedback_id": [1, 2], "text": ["油耗太高了", "刹车失灵了"]})
        raise OSError("spool file truncated")

    stream = batch.classify_frames_parallel(frames(), workers=2)
    try:
        frame, codes = next(stream)
        assert set(codes["feedback_id"]) == {1, 2}
        with pytest.raises(OSError, match="spool file truncated"):
            next(stream)
    finally:
        batch.close_pools()


def test_a_stream_left_early_leaves_the_pool_usable(monkeypatch):
    from udfs.codeframe import batch

    monkeypatch.setattr(batch, "CHUNK_TEXTS", 2)
    frames = (pd.DataFrame({"feedback_id": range(6), "text": ["油耗太高了", "客服态度太差了"] * 3}) for _ in range(1000))
    try:
        stream = batch.classify_frames_parallel(frames, workers=2)
        next(stream)
        stream.close()
        again = pd.DataFrame({"feedback_id": [7], "text": ["刹车失灵了"]})
        ((_, codes),) = batch.classify_frames_parallel([again], workers=2)
    finally:
        batch.close_pools()
    assert "PRD.BRK.FAIL" in set(codes["code"])
    assert next(frames, None) is not None  # the feeder stopped reading: the frames were not all consumed


def test_worker_pool_terminates_even_when_the_parent_swallows_sigterm(monkeypatch):
    """Dagster maps SIGTERM to a handler that only sets a flag; forked workers must still die on terminate(),
    even when it arrives before their initializer has run (closing at once, many times, hits that window)."""
    import signal
    import threading

    from udfs.codeframe import batch

    previous = signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        for attempt in range(50):
            monkeypatch.setattr(batch, "_POOLS", {})
            pool = batch._pool(None, 2)
            workers = list(pool._pool)
            closing = threading.Thread(target=batch.close_pools, daemon=True)
            closing.start()
            closing.join(timeout=30)
            assert not closing.is_alive(), f"close_pools hung on attempt {attempt}: a worker ignored SIGTERM"
            assert all(worker.exitcode is not None for worker in workers)
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_starting_a_worker_pool_keeps_the_callers_frozen_objects_frozen(monkeypatch):
    """`voc refresh` freezes what it loaded so full collections skip it; the pool freezes for its fork and
    must not thaw the caller's objects afterwards (nor leave its own frozen when nobody had frozen)."""
    import gc

    from udfs.codeframe import batch

    monkeypatch.setattr(batch, "_POOLS", {})
    gc.unfreeze()
    try:
        batch._pool(None, 1)
        assert gc.get_freeze_count() == 0
        batch.close_pools()
        monkeypatch.setattr(batch, "_POOLS", {})
        held = [[] for _ in range(1000)]  # the caller's objects; others frozen with them may be freed meanwhile
        gc.freeze()
        batch._pool(None, 1)
        assert gc.get_freeze_count() >= len(held)  # an unfreeze would have dropped the count to 0
    finally:
        batch.close_pools()
        gc.unfreeze()


def test_too_much_of_a_good_thing_and_nearest_scale(rules_only):
    assert codes(rules_only, "自动大灯太过于灵敏")["PRD.EXT.LIGHT"].sentiment == -1
    assert codes(rules_only, "起步发动机声音略大")["PRD.PWR.ENGINE"].sentiment == -1  # not 起步's higher-is-better
    assert codes(rules_only, "空间很大")["PRD.SPC.CABIN"].sentiment == 1
    assert codes(rules_only, "高油耗")["PRD.ECO.FUEL"].sentiment == -1


def test_a_batch_normalises_as_each_text_alone():
    from udfs.codeframe.classifier import normalise, normalise_many

    texts = ["", "ＡＢＣ，車機很好\x00\x7f\xa0\u3000", "\ud800半个代理对\udfff", "😡👍𠀀 emoji", "Ｚ", "\U0010ffff", ""]
    assert normalise_many(texts) == [normalise(text) for text in texts]
    assert normalise_many([]) == []


def test_mask_prefilter_never_skips_a_mask(classifier):
    text = "客服：您好，请问有什么可以帮您？ 客户：刹车有异响。车牌京A·12345，车架号ab12345678"
    from udfs.codeframe.classifier import normalise

    norm = classifier.customer_voice(normalise(text))
    assert norm == classifier._mask.sub(lambda match: " " * len(match.group()), normalise(text))
    assert "您好" not in norm and "京a" not in norm and "异响" in norm


def test_gated_masks_blank_what_the_whole_mask_blanks(classifier):
    from udfs.codeframe.classifier import normalise

    assert [index for index, _ in classifier._mask_gates]  # the 4s店 and 已 patterns open anywhere
    whole = classifier._mask
    for text in ("坐标杭州，在杭州星曜4s店买的，刹车异响", "客户：刹车异响。已安排技师检查。车牌京A·12345",
                 "客服：您好 客户：已经三次了，已登记", "在星曜4S店提的车，已告知客户", "刹车异响，去了4s店"):
        norm = normalise(text)
        assert classifier.customer_voice(norm) == whole.sub(lambda match: " " * len(match.group()), norm), text


def test_masks_are_tried_only_where_their_opening_strings_start(classifier):
    """The fast path blanks exactly what the whole mask's `sub` blanks, overlapping openers included
    (电话 inside 联系电话, 客服 inside 客服可以查) and with a gated mask's literal present or not."""
    from udfs.codeframe.classifier import normalise

    assert classifier._mask_openers is not None
    whole = classifier._mask
    texts = ["联系电话13800138000，刹车异响", "联系电话打不通，电话 138 0013 8000", "客服可以查到我的工单 客服：您好",
             "客户：客户：重复的 客服：好的", "#话题##二#【广告】需要回访 备注：无", "车架号是ab12345678 vin:lsvab1234",
             "客户称：车机黑屏，已安排技师", "在杭州星曜4S店买的车，客户满意度高", "没有任何遮挡的普通评价", "",
             "投诉车型：朗逸 问题描述：异响 诉求：退车", "投诉问题描述：车机黑屏", "手机尾号1234 手机号 13912345678 尾号 5678"]
    for text in texts:
        norm = normalise(text)
        assert classifier.customer_voice(norm) == whole.sub(lambda match: " " * len(match.group()), norm), text


def test_critical_patterns_are_tried_only_where_they_can_open(classifier):
    from udfs.codeframe.classifier import normalise

    assert classifier._critical_openers is not None
    texts = ["高速上突然熄火了", "刹车踩下去没反应", "转向助力突然失灵", "助力失灵", "方向盘锁死了", "气囊没弹出来",
             "车子烧起来了", "开着开着车门弹开了", "轮胎飞出去了", "方向盘很轻，转向精准", "动力很足，刹车灵敏",
             "自己加速", "突然自己加速", "车刹车刹车失灵", "", "今天天气不错"]
    for text in texts:
        norm = normalise(text)
        assert classifier._names_critical(norm) == (classifier._critical_any.search(norm) is not None), text
    assert classifier._names_critical(normalise("转向助力突然失灵")) and not classifier._names_critical(normalise("动力很足"))


def test_literal_sets_for_the_mask_shortcuts():
    from udfs.codeframe.classifier import _leading_strings, _required_literals

    assert _required_literals("(?:^|(?<=[。]))\\s*已(?:安排|告知)[^。]*") == {"已安排", "已告知"}
    assert _required_literals("[一-龥]{2,12}4s店(?:买的|提的)") == {"4s店买的", "4s店提的"}
    assert _leading_strings("(?:客服|坐席)\\s*:") == {"客服", "坐席"}
    assert _leading_strings("(?:回电|手机号?)\\s*\\d") == {"回电", "手机"}
    assert _leading_strings("#[^#]{1,30}#") == {"#"}
    assert _leading_strings("(?:转向)?助力[^，]{0,6}失灵|方向盘锁死") == {"转向", "助力", "方向盘锁死"}
    for opens_anywhere in ("(?:^|x)已", "(?:坐标x)?[一-龥]y", "(?i)abc", "\\s*已", "[一-龥]{2}店"):
        assert _leading_strings(opens_anywhere) is None, opens_anywhere


# -- 1.4.2 rules ---------------------------------------------------------------------------------------
def test_an_absent_problem_is_praise(rules_only):
    assert codes(rules_only, "开了半年一点异响都没有")["PRD.NVH.RATTLE"].sentiment == 1
    assert rules_only.analyse("到现在什么毛病也没有").sentiment == 1
    assert rules_only.analyse("问题都没有解决").sentiment == -1  # 都没有 + a verb: not done
    assert rules_only.analyse("筷子也没有").sentiment == -1  # nothing negative named: something missing


def test_size_words_on_one_aspect_add_up(rules_only):
    assert codes(rules_only, "后备箱小又少")["PRD.SPC.TRUNK"].sentiment == -1


def test_jiushi_after_an_opinion_is_a_contrast(rules_only):
    assert codes(rules_only, "其他都好就是导航没法调")["PRD.INF.NAV"].sentiment == -1
    assert codes(rules_only, "外观就是好看")["PRD.EXT.STYLE"].sentiment == 1


def test_items_listed_with_a_dunhao_share_the_closing_verdict(rules_only):
    listed = codes(rules_only, "外观、内饰都很漂亮")
    assert listed["PRD.EXT.STYLE"].sentiment == 1 and listed["PRD.INT.DESIGN"].sentiment == 1
    three = codes(rules_only, "油耗、噪音、异响都太大了")
    assert set(three) == {"PRD.ECO.FUEL", "PRD.NVH.NOISE", "PRD.NVH.RATTLE"}
    assert {hit.sentiment for hit in three.values()} == {-1}
    # a comma is not a list: the first clause has no verdict of its own
    assert codes(rules_only, "外观，内饰很漂亮")["PRD.EXT.STYLE"].sentiment == 0
    # the closing verdict reaches the first of 601 items (外观 is named only there)
    long_list = codes(rules_only, "、".join(["外观"] + ["内饰", "座椅"] * 300) + "都很漂亮")
    assert {code: hit.sentiment for code, hit in long_list.items()} == {
        "PRD.EXT.STYLE": 1, "PRD.INT.DESIGN": 1, "PRD.SEAT.COMF": 1}


def test_an_opinion_goes_to_its_nearest_aspect_the_earlier_on_a_tie():
    from udfs.codeframe.sentiment import _assign

    # aspects at units 1, 5 and 20; opinions before all (0), on a tie (3), on an aspect (5), between (9)
    assert _assign({0: 1.0, 3: -1.0, 5: 0.5, 9: 0.25}, [1, 5, 20], total=-0.3) == {1: 0.0, 5: 0.75, 20: -0.3}


def test_praise_that_comes_only_then_is_a_shortcoming(rules_only):
    assert rules_only.analyse("车内很安静").sentiment == 1
    assert rules_only.analyse("热车十分钟才会安静").sentiment == -1  # 才会: only late, a shortcoming
    assert rules_only.analyse("座椅要调半天才能舒服").sentiment == -1
    assert all(hit.sentiment == -1 for hit in rules_only.analyse("座椅要调半天才能舒服").hits)


def test_an_inferior_comparative_makes_its_praise_word_the_dimension_compared(rules_only):
    assert rules_only.analyse("舒适性不如老款").sentiment == -1  # 舒适性 names what is compared
    assert codes(rules_only, "内饰不如隔壁的漂亮")["PRD.INT.DESIGN"].sentiment == -1
    assert rules_only.analyse("内饰比隔壁的漂亮").sentiment == 1


def test_praise_inside_a_conditional_is_hypothetical(rules_only):
    assert rules_only.analyse("座椅很舒服").sentiment == 1
    assert rules_only.analyse("如果座椅再舒服一些，那就更好了").sentiment == -1


def test_only_with_an_aspect_and_no_opinion_is_a_limitation(rules_only):
    assert codes(rules_only, "天窗只能打开一半")["PRD.EXT.ROOF"].sentiment == -1
    # 只有…才有: a condition, not a limitation
    assert codes(rules_only, "这种天窗只有豪车才有")["PRD.EXT.ROOF"].sentiment != -1


def test_a_negator_that_finds_no_opinion_says_something_is_missing(rules_only):
    assert codes(rules_only, "方向盘没有上下调节")["PRD.HDL.STEER"].sentiment == -1


def test_a_hedge_weakens_and_a_hedged_unknown_adjective_is_a_mild_complaint(rules_only):
    hedged = codes(rules_only, "座椅有点舒服")["PRD.SEAT.COMF"]
    plain = codes(rules_only, "座椅舒服")["PRD.SEAT.COMF"]
    assert 0 < hedged.sentiment_score < plain.sentiment_score  # 有点 weakens what follows
    assert codes(rules_only, "座椅偏软")["PRD.SEAT.COMF"].sentiment == -1  # 偏 + an adjective of no known direction


def test_not_as_adjective_as_the_standard_negates_across_it(rules_only):
    assert codes(rules_only, "隔音没有广告里说的那么好")["PRD.NVH.NOISE"].sentiment == -1
    assert codes(rules_only, "隔音没想象的那么差")["PRD.NVH.NOISE"].sentiment == 1
    assert rules_only.analyse("不是第一次这么好吃了").sentiment == 1  # 不是 … 这么: no comparison


def test_cannot_be_called_negates(rules_only):
    assert codes(rules_only, "内饰谈不上豪华")["PRD.INT.DESIGN"].sentiment == -1
    assert codes(rules_only, "做工算不上精致")["PRD.QLT.FIT"].sentiment == -1


def test_uncoded_terms_rank_by_jiebas_idf_without_importing_jieba_analyse():
    """A term as frequent as another but rarer in general Chinese ranks higher; the IDF file is read without
    `jieba.analyse`, whose import would load it a second time and jieba's part-of-speech dictionary (~1 s)."""
    import subprocess
    import sys

    from udfs.codeframe.tables import uncoded_terms_frame

    uncoded = pd.DataFrame({"feedback_id": ["a", "b"], "text": ["时候 刹车盘", "时候 刹车盘"]})
    ranked = uncoded_terms_frame(uncoded, str.split, set(), set(), "test")["term"].tolist()
    assert ranked.index("刹车盘") < ranked.index("时候")  # 时候 is everywhere in Chinese: a low IDF
    probe = (
        "import sys\n"
        "from udfs.codeframe.tables import _idf\n"
        "table, median = _idf()\n"
        "assert len(table) > 100_000 and median > 0\n"
        "print('jieba.analyse' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_uncoded_terms_come_from_the_customers_words_not_the_agents_or_opinion_words():
    """The demo's mart ranked 您好, 为您服务, 工号 and 一下特别 (一下 + the degree word 特别) above 追尾: the
    agent's turns were mined like the customer's, and opinion words made pairs."""
    from udfs.codeframe.tables import classifier_uncoded_terms

    classifier = get_classifier()
    call = ("客服：您好，星曜汽车客户服务中心，工号{n}为您服务，请问有什么可以帮您？ "
            "客户：我家猫咪那一下特别明显，每次都以为被追尾了。客服：好的，我帮您登记一下。")
    uncoded = pd.DataFrame({"feedback_id": ["c1", "c2", "c3"], "text": [call.format(n=n) for n in (1001, 2002, 3003)]})
    terms = classifier_uncoded_terms(classifier, uncoded)
    assert "猫咪" in set(terms["term"])
    assert not {"您好", "为您服务", "工号", "客户服务中心", "登记"} & set(terms["term"])
    assert not {"一下特别", "特别明显", "特别", "明显"} & set(terms["term"])
    example = json.loads(terms.loc[terms["term"] == "猫咪", "examples"].iat[0])[0]
    assert example["feedback_id"] == "c1" and "我家猫咪" in example["snippet"]


def test_a_quality_noun_jieba_cut_off_its_suffix_is_a_candidate():
    """冲击感 (shift shock, the demo's most frequent uncoded complaint) never ranked: jieba cuts it into 冲击, an
    opinion word the mart leaves out, and 感, a single character."""
    from udfs.codeframe.tables import classifier_uncoded_terms

    texts = ["二挡升三挡有明显的冲击感，像被踹了一脚", "升三挡的时候冲击感很强", "冲击很大"]
    terms = classifier_uncoded_terms(get_classifier(), pd.DataFrame({"feedback_id": ["a", "b", "c"], "text": texts}))
    assert terms.loc[terms["term"] == "冲击感", "utterances"].tolist() == [2]
    assert "冲击" not in set(terms["term"])  # the opinion word alone still names no topic


def test_a_word_jiebas_dictionary_lacks_is_a_candidate():
    """香氛 is not in jieba's dictionary: cut without the HMM it is two single characters, never a term."""
    from udfs.codeframe.tables import classifier_uncoded_terms

    texts = ["希望加个香氛系统", "香氛的味道淡一点就好了", "二挡升三挡有明显的冲击感"]
    terms = set(classifier_uncoded_terms(get_classifier(), pd.DataFrame({"feedback_id": ["a", "b", "c"], "text": texts}))["term"])
    assert "香氛" in terms


def test_a_phrase_jieba_does_not_know_is_as_specific_as_its_rarest_word():
    from udfs.codeframe.tables import _idf, _term_idf

    idf, median = _idf()
    assert _term_idf("一下时候", ("一下", "时候"), idf, median) == max(idf["一下"], idf["时候"]) < median
    assert _term_idf("香氛系统", ("香氛", "系统"), idf, median) == median  # 香氛 is not in jieba's table


def test_the_codeframe_reads_the_same_with_libyamls_parser_and_pythons(monkeypatch):
    """schema.py parses with libyaml where PyYAML has it (~10x faster); the codeframe must not change."""
    import yaml

    from udfs.codeframe import schema

    assert schema._YAML_LOADER is (yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader)
    fast = load_codeframe()
    parsed_in_python = []

    class PythonLoader(yaml.SafeLoader):
        def __init__(self, stream):
            parsed_in_python.append(True)
            super().__init__(stream)

    monkeypatch.setattr(schema, "_YAML_LOADER", PythonLoader)
    assert load_codeframe() == fast
    assert parsed_in_python  # the comparison really was against the pure-Python parser


@pytest.mark.parametrize("text, code", [("导航系统不好用", "PRD.INF.NAV"), ("音响效果很震撼", "PRD.INF.AUDIO"),
                                        ("服务质量很好", "AFS.SA.ATT")])
def test_a_keyword_inside_a_compound_with_a_head_noun_codes(classifier, text, code):
    assert code in codes(classifier, text)


def test_a_topic_coded_twice_takes_the_more_confident_verdict_whatever_the_gold_label():
    """`voc eval --truth` scores aspect sentiment per gold topic; when two found codes map to one topic the
    prediction is the surer one's, chosen without the gold label (it once took the most negative where the
    gold was negative, which flattered the figure)."""
    def hit(sentiment, score):
        return CodeHit("X", None, None, None, sentiment, score, None, None, "none", "", 0, 1)

    assert topic_sentiment([hit(1, 0.4), hit(-1, -0.9)]) == -1
    assert topic_sentiment([hit(1, 0.95), hit(-1, -0.9)]) == 1
    assert topic_sentiment([hit(0, 0.0), hit(1, 0.0)]) == 0  # a tie: the earliest


def aspect_verdicts(classifier, text) -> dict[str, int]:
    """Each code the classifier finds in `text`, with its sentiment."""
    return {hit.code: hit.sentiment for hit in classifier.analyse(text).hits}


def test_praise_in_a_complaint_keeps_its_sentiment(classifier):
    """A confident negative verdict of the whole text does not turn the praised aspect of a mixed text into
    a complaint (codeframe 1.8.3); the complaints stay complaints, and a single-subject complaint whose praise
    word the rules lent to the wrong aspect still follows the text (发动机噪音也上来了)."""
    assert classifier.analyse("性价比最高，可是储物空间太少，手机都没地方放，排队等了好久才轮到我").sentiment == -1
    mixed = aspect_verdicts(classifier, "性价比最高，可是储物空间太少，手机都没地方放，排队等了好久才轮到我")
    assert mixed["PRD.VAL.VFM"] == 1
    assert mixed["SAL.STO.WAIT"] == -1
    assert aspect_verdicts(classifier, "发动机噪音也上来了") == {"PRD.NVH.NOISE": -1, "PRD.PWR.ENGINE": -1}


def test_a_no_need_word_flips_an_opinion_but_names_nothing_missing(classifier, rules_only):
    """不用/无需 negate what follows (不用担心 is no worry) but, unlike 没有/不能, say nothing is missing or
    impossible: 不用跑店里 (no need to go to the store) is no complaint (codeframe 1.8.4)."""
    assert aspect_verdicts(rules_only, "不用跑店里")["AFS.PRO.CONV"] == 0  # the rules read no complaint (it was -1) …
    assert aspect_verdicts(classifier, "不用跑店里，在线就能办，很方便") == {"AFS.PRO.CONV": 1}
    assert rules_only.analyse("不用担心").sentiment == 1
    assert aspect_verdicts(rules_only, "座椅不用调") == {"PRD.SEAT.COMF": 0}  # nothing to flip: no inability (座椅没有调节 is one)
    assert aspect_verdicts(rules_only, "不用导航") == {"PRD.INF.NAV": 0}  # before an aspect: no missing feature (没有导航 is one)
    assert aspect_verdicts(rules_only, "座椅没有调节") == {"PRD.SEAT.COMF": -1}
    assert aspect_verdicts(rules_only, "后排不能放倒") == {"PRD.SEAT.REAR": -1}
    assert aspect_verdicts(rules_only, "没有导航") == {"PRD.INF.NAV": -1}
    assert aspect_verdicts(rules_only, "没人回电") == {"XCH.CBK.CALLBACK": -1}


def test_a_keyword_that_names_a_thing_carries_no_opinion(rules_only):
    """A keyword's polarity is read from the opinion words inside it (刹车失灵 -> 失灵), character by
    character; in a name that reading is wrong: 音响 holds 响 (a noise), 语音识别 holds 别 (don't), 无钥匙进入
    holds 无 (without). A name listed in `lexicon.neutral` is a blocker: the longest match inside the keyword,
    it hides the shorter opinion words, so the keyword takes no polarity of its own and the opinion beside it
    decides (codeframe 1.8.5)."""
    assert aspect_verdicts(rules_only, "音响，座椅，空间") == {"PRD.INF.AUDIO": 0, "PRD.SEAT.COMF": 0, "PRD.SPC.CABIN": 0}
    assert aspect_verdicts(rules_only, "带无钥匙进入和无框车门") == {"PRD.CFG.KEY": 0, "PRD.EXT.DOOR": 0}
    assert aspect_verdicts(rules_only, "语音识别") == {"PRD.INF.VOICE": 0}
    assert aspect_verdicts(rules_only, "语音识别很准确") == {"PRD.INF.VOICE": 1}
    assert aspect_verdicts(rules_only, "音响效果很差") == {"PRD.INF.AUDIO": -1}  # the opinion beside a name still counts
    assert aspect_verdicts(rules_only, "刹车失灵")["PRD.BRK.FAIL"] == -1  # a keyword that names a problem keeps its polarity
    assert aspect_verdicts(rules_only, "投诉也没用")["AFS.CC.COMPL"] == -1  # wrong-way readings of a keyword stated in the lexicon
    assert aspect_verdicts(rules_only, "保养一分钱没花")["AFS.REP.COST"] == 1


def test_a_degree_complement_sizes_the_opinion_before_it(rules_only):
    """得可怕 / 得离谱 / 到爆 right after an opinion say how much of it, like 极 before it: 油耗低得可怕 is praise,
    贵得离谱 a complaint. Read as words of their own, 可怕 and 离谱 turned the praise into complaints
    (codeframe 1.8.6)."""
    assert aspect_verdicts(rules_only, "油耗低得可怕") == {"PRD.ECO.FUEL": 1}
    assert aspect_verdicts(rules_only, "加速快得吓人") == {"PRD.PWR.ACCEL": 1}
    assert aspect_verdicts(rules_only, "便宜得离谱") == {"PRC.PRICE.LEVEL": 1}
    assert aspect_verdicts(rules_only, "贵得离谱") == {"PRC.PRICE.LEVEL": -1}
    assert aspect_verdicts(rules_only, "吵得要命") == {"PRD.NVH.NOISE": -1}
    assert rules_only.analyse("好吃到爆").sentiment == 1
    assert rules_only.analyse("冷得可怕").sentiment == -1  # no opinion before it: it reads as the word it holds


def test_power_slang_is_a_size_that_the_aspect_scale_reads(rules_only):
    """猛 / 暴力 / 炸裂 are sizes, read through the aspect's scale like 大 or 高: praise of power (动力很暴力),
    a complaint of noise (噪音很猛); with no scale 暴力 keeps its own meaning (暴力分拣) (codeframe 1.8.6)."""
    assert aspect_verdicts(rules_only, "动力很暴力") == {"PRD.PWR.ACCEL": 1}
    assert aspect_verdicts(rules_only, "加速很猛") == {"PRD.PWR.ACCEL": 1}
    assert aspect_verdicts(rules_only, "噪音很猛") == {"PRD.NVH.NOISE": -1}
    assert rules_only.analyse("暴力分拣").sentiment == -1


def test_colloquial_praise_that_holds_a_negator_or_a_problem_word(rules_only):
    """挑不出毛病 (no flaw to find), 毛病没出过 (never had one), 不输合资 (no worse than the joint ventures) and
    吊打同级 (beats its class) are praise; they read as complaints or nothing (codeframe 1.8.7)."""
    for text in ("挑不出毛病", "开了三年一次毛病没出过", "不输合资", "吊打同级"):
        assert rules_only.analyse(text).sentiment == 1, text
    assert rules_only.analyse("毛病没修好").sentiment == -1  # a problem that stays is still one


def test_a_complaint_phrase_that_names_an_aspect_codes_it(rules_only):
    """隔音不好 was an opinion phrase only: as the longest match it hid the keyword 隔音 inside it, so
    这车隔音不好 coded nothing. It is a keyword of its leaf now (codeframe 1.8.8)."""
    assert aspect_verdicts(rules_only, "这车隔音不好") == {"PRD.NVH.NOISE": -1}
    assert aspect_verdicts(rules_only, "车门不隔音") == {"PRD.EXT.DOOR": -1, "PRD.NVH.NOISE": -1}
    assert rules_only.analyse("方向盘指哪打哪").sentiment == 1  # an idiom of precise steering


def test_car_style_words_that_general_lexicons_read_the_other_way(rules_only):
    """HowNet reads 霸气 (domineering) as a complaint; of a car's looks it is praise, as are 犀利, 硬派, 一绝 and
    X之王, and 乏力 (weak) is a complaint it did not know (codeframe 1.8.9)."""
    assert aspect_verdicts(rules_only, "外观很霸气") == {"PRD.EXT.STYLE": 1}
    assert aspect_verdicts(rules_only, "隔音一绝") == {"PRD.NVH.NOISE": 1}
    assert aspect_verdicts(rules_only, "性价比之王") == {"PRD.VAL.VFM": 1}
    assert aspect_verdicts(rules_only, "高速再加速乏力") == {"PRD.PWR.ACCEL": -1}


def test_a_denied_noun_phrase_denies_the_problem_it_ends_with(rules_only):
    """没有 denies the existence of the whole noun phrase after it, so the problem at its end is absent even
    when an attribute (明显的, 刺鼻的) or an existential verb and quantifier (出现过任何) stand between; those
    read as complaints (codeframe 1.9.0). A verb 没有 denies keeps the problem (没有解决问题), and so does a
    negated 没有 (不是没有问题)."""
    assert aspect_verdicts(rules_only, "没有明显的顿挫") == {"PRD.TRN.JERK": 1}
    assert aspect_verdicts(rules_only, "车内没有刺鼻的异味") == {"PRD.INT.SMELL": 1}
    assert aspect_verdicts(rules_only, "没有出现过任何异响") == {"PRD.NVH.RATTLE": 1}
    assert aspect_verdicts(rules_only, "从来没有遇到过这种毛病") == {"PRD.QLT.BROKEN": 1}
    assert rules_only.analyse("没有解决问题").sentiment == -1
    assert rules_only.analyse("不是没有问题").sentiment == -1
    assert aspect_verdicts(rules_only, "没有导航") == {"PRD.INF.NAV": -1}  # a missing feature is still one
