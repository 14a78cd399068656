"""Code utterances against the codeframe: leaves with evidence, aspect sentiment, severity, point type.

One Aho-Corasick automaton holds every term the codeframe and the sentiment lexicon know (leaf
keywords, opinion words, negators, degree adverbs, contrast and cue words). A text is matched
once; overlapping matches resolve leftmost-longest (刹车失灵 beats 刹车); short matches must
agree with jieba's word boundaries (门 is not a door inside 门店); the text is cut into clauses
at punctuation and contrast words, and each clause is scored by `sentiment.score_clause`.
Normalisation maps character for character, so offsets index the original text.
"""
from __future__ import annotations

import bisect
import gc
import re
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import ahocorasick
import numpy as np
import pandas as pd

from udfs.codeframe import sentiment
from udfs.codeframe.learned import MODEL_PATH, load_model
from udfs.codeframe.schema import Codeframe, load_codeframe
from udfs.codeframe.sentiment import Role
from udfs.codeframe.tokenizer import Tokenizer

UNCODED = "uncoded"
_MISSING = object()
METHOD = "rules:aho-corasick+jieba+hownet+ngram-lr"  # ngram-lr: learned.py, the overall sentiment (and aspects it confidently contradicts)
FRAME_COLUMNS = ["feedback_id", "codeframe_version", "code", "l1", "l2", "l3", "sentiment", "sentiment_score",
                 "severity", "need_layer", "point_type", "evidence", "start", "end", "method"]
SEVERITY_RANK = {"minor": 0, "major": 1, "critical": 2}
EVIDENCE_MAX_CHARS = 60
CLAUSE_BREAK = re.compile(r"[，,。.！!？?；;：:\n\r\t ~～…、|/（）()【】\[\]\"“”'‘’]+")
CLAUSE_SPLIT = re.compile(f"({CLAUSE_BREAK.pattern})")  # spans and the separators between them
SEGMENT = re.compile(r"[^，,。！!？?；;\s]+")  # jieba never joins words across these
SPAN_CACHE_GENERATION = 25_000  # span cache: two generations of at most this many entries each
SENTENCE_END = re.compile(r"[。!?！？;；\n]")
SUGGESTION_LEAN = 0.3
LEARNED_OVERRULES = 1.0  # |logit| from which the learned verdict overrules the rules on the aspects a text codes
OVERDO_WORDS = ("过于", "太过", "过分", "太过于", "过度")
ABSENCE_WORDS = ("没有", "没", "无", "没得", "木有", "米有", "缺少", "缺乏", "不带", "莫得")
EXISTENCE_NEGATOR_ENDINGS = ("没有", "没", "无")  # 从来没有, 并没有, 毫无: negators that deny a thing exists
POST_ABSENCE_WORDS = ("都没有", "也没有", "都没", "也没", "没有了", "都没了", "也没了",  # after what is missing
                      "没出过", "没有出过", "都没出过", "从没出过", "没犯过")  # 毛病没出过: it never happened
LONG_NUMBER = re.compile(r"\d{6,}")
ALMOST = re.compile(r"[\d一二两三四五六七八九十半俩仨几]|要|到|吐|饿|死|凉|冷|哭|疯|崩")  # 快三个小时 / 快饿死: "almost", not "fast"
# contrast only at a clause's start or after an opinion (都好就是贵); elsewhere they mean "exactly"/"only"
CLAUSE_INITIAL_CONTRAST = frozenset({"就是", "只是"})

# Traditional -> simplified for the characters customers type most; one character for one, so
# offsets still index the original text.
_TRADITIONAL_PAIRS = (
    "車车 機机 電电 剎刹 煞刹 聲声 響响 門门 燈灯 動动 個个 無无 發发 線线 題题 質质 說说 這这 們们 還还 沒没 與与 廠厂 "
    "費费 價价 貴贵 錢钱 鏡镜 統统 導导 續续 駛驶 駕驾 輛辆 輪轮 險险 體体 後后 邊边 開开 關关 應应 當当 會会 對对 時时 "
    "問问 並并 點点 過过 種种 實实 現现 從从 經经 話话 樣样 讓让 變变 換换 檔档 擋挡 調调 壞坏 養养 護护 務务 員员 銷销 "
    "賣卖 買买 訂订 單单 號号 碼码 優优 網网 頁页 計计 設设 準准 議议 較较 條条 處处 斷断 傳传 產产 給给 熱热 涼凉 氣气 "
    "聽听 見见 覺觉 歡欢 謝谢 漏漏 噪噪 異异 頓顿 級级 層层 內内 飾饰 顏颜 綫线 轉转 彎弯 懸悬 掛挂 減减 震震 椅椅 "
    "壓压 隔隔 穩稳 靜静 舊旧 們们 為为 麼么 嗎吗 啥啥 錯错 壞坏 爛烂 慢慢 卡卡 滿满 意意 歲岁 買买 專专 業业 態态 "
    "顧顾 問问 預预 約约 權权 積积 態态 獲获 據据 區区 際际 雖虽 總总 適适 舒舒 寬宽 窄窄 擠挤 騙骗 賠赔 償偿 庫库 "
    "帶带 溫温 腦脑 螢萤 幕幕 觸触 語语 音音 識识 別别 啟启 術术 鎖锁 盤盘 駁驳 擊击 礙碍 轟轰 嚴严 重重 愛爱 兒儿"
)
_TRADITIONAL = {ord(pair[0]): pair[1] for pair in _TRADITIONAL_PAIRS.split() if pair[0] != pair[1]}


def _normalisation_table() -> dict[int, str]:
    """Full-width -> half-width, Latin -> lower case, control characters -> space, traditional -> simplified."""
    table = {code: chr(code - 0xFEE0) for code in range(0xFF01, 0xFF5F)}
    table.update({0x3000: " ", 0xA0: " "})
    table.update({code: " " for code in list(range(0x00, 0x20)) + list(range(0x7F, 0xA0))})
    table.update(_TRADITIONAL)
    for code, char in list(table.items()):
        if "A" <= char <= "Z":
            table[code] = char.lower()
    table.update({code: chr(code + 32) for code in range(ord("A"), ord("Z") + 1)})
    return table


NORMALISE_MAP = _normalisation_table()
# The same table as a sequence over the Basic Multilingual Plane: str.translate indexes it instead of
# trying a dict lookup that fails for almost every Chinese character (about half the time per text);
# characters beyond it (emoji) raise IndexError inside translate and stay unchanged, as with the dict.
NORMALISE = [NORMALISE_MAP.get(code, code) for code in range(0x10000)]


# The table once more as code points over all of Unicode, for a whole batch at once (`normalise_many`).
NORMALISE_CODES = np.arange(0x110000, dtype=np.uint32)
NORMALISE_CODES[list(NORMALISE_MAP)] = [ord(char) for char in NORMALISE_MAP.values()]


def normalise(text: str) -> str:
    """Same length as `text`: every offset into the result is an offset into the original."""
    return text.translate(NORMALISE)


def normalise_many(texts: list[str]) -> list[str]:
    """`normalise` of each text, the batch mapped as one array of code points: str.translate looks every
    character up in Python objects one by one (~7 % of a worker's time), this ~4x faster."""
    joined = "".join(texts)
    codes = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    mapped = NORMALISE_CODES[codes].tobytes().decode("utf-32-le", "surrogatepass")
    out, start = [], 0
    for text in texts:
        end = start + len(text)
        out.append(mapped[start:end])
        start = end
    return out


@dataclass(slots=True)
class CodeHit:
    """One code on one utterance (or the `uncoded` row)."""

    code: str
    l1: str | None
    l2: str | None
    l3: str | None
    sentiment: int
    sentiment_score: float
    severity: str | None
    need_layer: str | None
    point_type: str
    evidence: str
    start: int | None
    end: int | None


@dataclass(slots=True)
class Analysis:
    hits: list[CodeHit]
    sentiment: int
    sentiment_score: float


class Classifier:
    """Built once from the codeframe YAML; `analyse` is pure, so results are deterministic."""

    def __init__(self, codeframe_path: str | Path | None = None, cache_dir: str | Path | None = None,
                 sentiment_model: str | Path | None = MODEL_PATH):
        """sentiment_model: weights of the learned sentiment layer (`learned.py`); None: rules only."""
        self.codeframe: Codeframe = load_codeframe(codeframe_path)
        self.sentiment_model = load_model(sentiment_model)
        self.version = self.codeframe.version
        self.leaves = list(self.codeframe.leaves.values())
        self.lexicon = sentiment.build_lexicon(self.codeframe.lexicon)
        self._scales = [{"higher_better": 1, "lower_better": -1}.get(leaf.scale, 0) for leaf in self.leaves]
        self._exclusions = [tuple(word.lower() for word in leaf.exclusions) for leaf in self.leaves]
        self._names = [(self.codeframe.l1[leaf.l1].zh, self.codeframe.l2[leaf.parent].zh, leaf.zh)
                       for leaf in self.leaves]
        self._hit_names = {leaf.id: names + (leaf.need_layer,) for leaf, names in zip(self.leaves, self._names)}
        roles = self._roles()
        self._roles_by_index = list(roles.values())
        self._needs_boundary = [len(term) <= 2 or term.isascii() for term in roles]
        # blockers (信用, 说好): they stop shorter matches and never tile a word (信用卡 holds no 卡)
        self._inert = [not (role.carries_opinion() or role.contrast or role.rhetorical or role.suggestion or role.unmet
                            or role.critical or role.major or role.verdict or role.conditional or role.only)
                       for role in roles.values()]
        self._automaton = ahocorasick.Automaton()
        self._span_cache: dict[tuple, tuple] = {}  # the current generation (see `_cached_span_entry`)
        self._span_cache_old: dict[tuple, tuple] = {}
        self._negator_pieces: dict[str, bool] = {}  # see `_reads_negation`
        for index, term in enumerate(roles):
            if SEGMENT.fullmatch(term):  # a term spanning punctuation can never sit inside one segment
                self._automaton.add_word(term, (len(term), index))
        self._automaton.make_automaton()
        rules = self.codeframe.rules
        self._mask = re.compile("|".join(f"(?:{p})" for p in rules["non_customer"]), re.S) if rules["non_customer"] else None
        patterns = rules["non_customer"]
        leading = [_leading_strings(pattern) for pattern in patterns]
        required = [_required_literals(pattern) for pattern in patterns]
        # A mask that does not open on known strings (a 4s店 name after any 2-12 characters, 已... after any
        # sentence end) is tried at every position of every text: it joins the mask only for texts that
        # hold one of its required literals, without which it cannot match.
        self._mask_gates = [(index, _any_of(required[index])) for index in range(len(patterns))
                            if leading[index] is None and required[index]]
        self._mask_variants: dict[tuple[bool, ...], re.Pattern] = {}
        # most texts contain none of the literals the masks need: one cheap scan skips the big regex
        self._mask_hint = _any_of(s for found in required for s in found) if required and all(required) else None
        # Python's re has no first-character shortcut for the joined mask (its branches are groups), so it
        # tried every branch at every position (customer_voice took 11-12 µs of a text's ~70). Where no gated
        # mask can apply, the masks that open on known strings are tried only where one of those strings starts.
        gated = {index for index, _ in self._mask_gates}
        ungated = [index for index in range(len(patterns)) if index not in gated]
        self._mask_openers = (_any_of(s for index in ungated for s in leading[index])
                              if ungated and all(leading[index] for index in ungated) else None)
        self._mask_ungated = re.compile("|".join(f"(?:{patterns[i]})" for i in ungated), re.S) if ungated else None
        self._mask_gated_any = _any_of(s for index in gated for s in required[index]) if gated else None
        self._not_critical = (re.compile("|".join(f"(?:{p})" for p in rules["not_critical"]))
                              if rules["not_critical"] else None)
        leaf_index = {leaf.id: i for i, leaf in enumerate(self.leaves)}
        self._critical_patterns = [(leaf_index[leaf], re.compile(pattern)) for leaf, pattern in rules["critical_patterns"]]
        self._critical_any = (re.compile("|".join(f"(?:{pattern})" for _, pattern in rules["critical_patterns"]))
                              if rules["critical_patterns"] else None)  # one scan; most texts have no match
        hints = [_required_literals(pattern) for _, pattern in rules["critical_patterns"]]
        self._critical_hint = _any_of(h for hint in hints for h in hint) if hints and all(hints) else self._critical_any
        # as the masks: the joined patterns are tried only where one of them can open (25 µs a scan otherwise)
        openers = [_leading_strings(pattern) for _, pattern in rules["critical_patterns"]]
        self._critical_openers = _any_of(s for found in openers for s in found) if openers and all(openers) else None
        self.tokenizer = Tokenizer(user_words=(kw for leaf in self.leaves for kw in leaf.keywords),
                                   cache_dir=cache_dir, head_nouns=rules["head_nouns"])

    def _roles(self) -> dict[str, Role]:
        """Merge what every term means, then give problem keywords (漏水, 刹车失灵) their own polarity."""
        lex, cf = self.lexicon, self.codeframe
        roles: dict[str, Role] = {}

        def role(term: str) -> Role:
            return roles.setdefault(term.lower(), Role())

        for term in lex.blockers:
            role(term)
        for term, value in lex.polarity.items():
            role(term).polarity = value
        for term in lex.negators:
            role(term).negator = True
        for term in lex.no_need:
            role(term).no_need = True
        for term, weight in lex.degree.items():
            role(term).degree = weight
        for term in lex.excess:
            role(term).excess = True
        for term in POST_ABSENCE_WORDS:
            target = role(term)
            target.absent_after = True
            if not target.polarity:  # elsewhere as 没有: 也没有导航
                target.negator = target.absence = True
        for term in OVERDO_WORDS:
            if term in lex.degree:
                role(term).overdo = True
        for term in ABSENCE_WORDS:
            if term in lex.negators:
                role(term).absence = True
        for term, target in roles.items():
            target.denies_existence = target.negator and (target.absence or term.endswith(EXISTENCE_NEGATOR_ENDINGS))
        for term, direction in lex.magnitude.items():
            role(term).magnitude = direction
            if len(term) > 1 and any(term.startswith(word) and term != word for word in lex.excess):
                role(term).excess = True  # 太小 / 偏高: the excess is inside the word
        for term in lex.contrast:
            role(term).contrast = True
        for term in lex.rhetorical:
            role(term).rhetorical = True
        for term, weight in (lex.verdict or {}).items():
            role(term).verdict = weight
        for term in lex.restrictive:
            role(term).restrictive = True
        for term in lex.inferior:
            role(term).inferior = True
            if not role(term).polarity:
                role(term).polarity = -1.0  # 比不上 alone: worse than something
        for term in lex.conditional:
            role(term).conditional = True
        for term in lex.only:
            role(term).only = True
        for term in lex.equative:
            role(term).equative = True
        for term in lex.complement:
            role(term).complement = True
        for term in cf.point_type.get("suggestion_cues", ()):
            role(term).suggestion = True
        for term in cf.point_type.get("unmet_need_cues", ()):
            role(term).unmet = True
        for term in cf.severity.get("critical_cues", ()):
            role(term).critical = True
        for term in cf.severity.get("major_cues", ()):
            role(term).major = True
        opinion_only = _OpinionScorer(roles)
        keyword_leaves: dict[str, list[int]] = {}
        for index, leaf in enumerate(self.leaves):
            for keyword in leaf.keywords:
                keyword_leaves.setdefault(keyword.lower(), []).append(index)
        for keyword, indexes in keyword_leaves.items():
            target = role(keyword)
            target.leaves = tuple(indexes)
            if not target.polarity:
                scale = next((self._scales[i] for i in indexes if self._scales[i]), 0)
                target.polarity = opinion_only.polarity(keyword, scale)
            if not target.polarity and any(self.leaves[i].severity == "critical" for i in indexes):
                target.polarity = -1.0  # 方向盘锁死, 暴冲: naming a safety failure is a complaint
            target.specific = bool(target.polarity)
        rules = self.codeframe.rules
        for keyword in rules["needs_opinion"]:
            if keyword.lower() in keyword_leaves:
                roles[keyword.lower()].needs_opinion = True
                roles[keyword.lower()].generic = True
        for keyword in rules["generic"]:
            if keyword.lower() in keyword_leaves:
                roles[keyword.lower()].generic = True
        for keyword in rules["summary"]:
            if keyword.lower() in keyword_leaves:
                roles[keyword.lower()].summary = True
                roles[keyword.lower()].generic = True
        return roles

    def _text_and_voice(self, text, normalised: str | None = None) -> tuple[str, str]:
        """The text as a string (missing values empty) and its normalised customer voice, offsets aligned.
        `normalised`: the string's `normalise`, when the caller has it already."""
        text = _as_string(text)
        return text, self.customer_voice(text.translate(NORMALISE) if normalised is None else normalised)

    def customer_voice(self, norm: str) -> str:
        """Blank (same length) what the customer did not say: agent turns, advisor boilerplate, hashtags."""
        if self._mask is None:
            return norm
        if self._mask_openers is not None and (self._mask_gated_any is None or not self._mask_gated_any.search(norm)):
            return _blank_where_opened(self._mask_ungated, self._mask_openers, norm)
        if self._mask_hint is not None and not self._mask_hint.search(norm):
            return norm
        return self._mask_for(norm).sub(_blank, norm)

    def _mask_for(self, norm: str) -> re.Pattern:
        """The mask without the gated patterns none of whose literals `norm` holds: the same matches."""
        if not self._mask_gates:
            return self._mask
        present = tuple(gate.search(norm) is not None for _, gate in self._mask_gates)
        mask = self._mask_variants.get(present)
        if mask is None:
            left_out = {index for (index, _), found in zip(self._mask_gates, present) if not found}
            mask = self._mask_variants[present] = re.compile("|".join(
                f"(?:{pattern})" for index, pattern in enumerate(self.codeframe.rules["non_customer"])
                if index not in left_out), re.S)
        return mask

    # -- analysis -------------------------------------------------------------------------------
    def analyse(self, text) -> Analysis:
        return self.expand(self.analyse_compact(text))

    def expand(self, item: tuple) -> Analysis:
        """A compact analysis (see `analyse_compact`) as an Analysis of CodeHits."""
        names = self._hit_names
        empty = (None, None, None, None)
        hits = []
        for code, polarity, score, severity, point, evidence, start, end in item[2]:
            l1, l2, l3, need = names.get(code, empty)
            hits.append(CodeHit(code, l1, l2, l3, polarity, score, severity, need, point, evidence, start, end))
        return Analysis(hits, item[0], item[1])

    def analyse_compact(self, text, normalised: str | None = None) -> tuple:
        """(sentiment, sentiment_score, ((code, sentiment, score, severity, point_type, evidence, start, end), ...)):
        the analysis as plain tuples, cheap to build and to pickle between processes. `normalised`: see
        `_text_and_voice`."""
        score, hits, suggestion, ngram_sum, positions, wish_only, norm = self._analyse_rules(text, normalised)
        model = self.sentiment_model
        if model is not None:
            learned = model.score(score, ngram_sum, positions, aspect_coded=bool(hits))
            if wish_only and 0 <= learned <= LEARNED_OVERRULES:
                # a wish and no opinion (希望座椅能再软一点): the n-grams of the wished-for praise are no verdict
                # on what the customer has; only a confident learned verdict overrules the wish's lean
                learned = score
            if learned > -1.0 and hits and any(hit[3] == "critical" for hit in hits.values()):
                learned = -1.0  # a safety failure keeps the utterance negative
            if hits and (learned > LEARNED_OVERRULES or learned < -LEARNED_OVERRULES):
                self._aspects_follow_learned(norm, hits, learned)
            score = learned
        if not hits:
            if not _WORD.search(norm):
                score = 0.0  # digits, punctuation, emoji: no word to hold an opinion (the n-grams of 12345 lean negative)
            return sentiment.label(score), sentiment.squash(score), (self._uncoded(score, suggestion),)
        ordered = tuple(sorted(hits.values(), key=_hit_order)) if len(hits) > 1 else tuple(hits.values())
        return sentiment.label(score), sentiment.squash(score), ordered

    def _analyse_rules(self, text, normalised: str | None = None) -> tuple:
        """(rule score, {leaf index: compact hit}, any suggestion, Σ n-gram weights, n-gram positions, whether
        the score is only a wish's lean: no opinion, a suggestion cue, the normalised customer voice)."""
        text, norm = self._text_and_voice(text, normalised)
        clauses, scored, ngram_sum, positions = self._scored_clauses(norm)
        if not clauses:
            score = _fallback_score(norm) if norm and not norm.isspace() else 0.0
            hits_only: dict[int, tuple] = {}
            if self._critical_any is not None and self._critical_hint.search(norm) and self._names_critical(norm):
                self._critical_phrases(text, norm, hits_only)
                score = min(score, -1.0) if hits_only else score
            return score, hits_only, False, ngram_sum, positions, False, norm
        hits: dict[int, tuple] = {}
        summaries: dict[int, tuple] = {}
        previous_end = -1  # end of the last clause that coded a specific (non-generic) aspect
        weighted = []
        any_suggestion = False
        last = len(clauses) - 1
        list_verdicts = None  # computed on the first clause that needs one
        for position, clause in enumerate(clauses):
            result = scored[position]
            total = result.total * result.weight
            if total:  # overall_score skips clauses without opinion
                weighted.append((total, clause[4], clause[5]))
            if result.suggestion:
                any_suggestion = True
            if not result.aspect_scores:
                continue
            # a contrast (但是, 不过) opens a new subject: its generic words do not speak about the last aspect
            inherits = (previous_end >= 0 and not clause[4]
                        and not SENTENCE_END.search(norm, previous_end, clause[1]))
            # `动力方面，还是很强的`: an aspect clause without opinion borrows the next opinion-only clause's
            # verdict; `外观、内饰都很漂亮`: items listed with 、 share the verdict that closes the list
            borrowed = 0.0
            if not result.unit_values and position < last:
                following = scored[position + 1]
                if not any(unit[2].leaves for unit in clauses[position + 1][0]):
                    borrowed = following.total
                else:
                    if list_verdicts is None:
                        list_verdicts = self._list_verdicts(norm, clauses, scored)
                    borrowed = list_verdicts[position]
            # the clause's coding, cached with its span: it depends only on its units, the borrowed
            # verdict, `inherits` and (for safety words) the few characters around it
            key = (borrowed, inherits)
            if clause[7]:
                key += (norm[max(0, clause[1] - 6):clause[1]], norm[clause[2]:clause[2] + 2])
            part_cache = clause[6]
            coding = part_cache.get(key, _MISSING)
            if coding is _MISSING:
                coding = part_cache[key] = self._code_clause(norm, clause, result, borrowed, inherits)
            if coding is None:
                continue
            specific, entries = coding
            clause_start = clause[1]
            for leaf_index, code, polarity, score, severity, point, rel_start, rel_end, summary in entries:
                start, end = clause_start + rel_start, clause_start + rel_end
                hit = (code, polarity, score, severity, point, text[start:end], start, end)
                target = summaries if summary else hits
                previous = target.get(leaf_index)
                if previous is None or _stronger(hit, previous):
                    target[leaf_index] = hit
            if specific:
                previous_end = clause[2]
        if summaries and not hits:
            hits.update(summaries)
        if self._critical_any is not None and self._critical_hint.search(norm) and self._names_critical(norm):
            self._critical_phrases(text, norm, hits)
        score = sentiment.overall_score(weighted)
        if -0.05 <= score <= 0.05:
            score += _fallback_score(norm)
        wish_only = any_suggestion and -0.05 <= score <= 0.05
        if wish_only:
            score -= SUGGESTION_LEAN  # 希望早餐有所改善: a wish names something that falls short
        return score, hits, any_suggestion, ngram_sum, positions, wish_only, norm

    def analyse_many(self, texts) -> list[Analysis]:
        """Identical texts are analysed once (feeds repeat templates, greetings, 好评)."""
        seen: dict[str, Analysis] = {}
        out = []
        with no_cyclic_gc():
            for text in texts:
                key = text if isinstance(text, str) else repr(text)
                analysis = seen.get(key)
                if analysis is None:
                    analysis = seen[key] = self.expand(self.analyse_compact(text))
                out.append(analysis)
        return out

    def analyse_many_compact(self, texts) -> list[tuple]:
        """`analyse_compact` of each text; identical texts once."""
        seen: dict[str, tuple] = {}
        out = []
        analyse = self.analyse_compact
        texts = list(texts)
        strings = [_as_string(text) for text in texts]
        with no_cyclic_gc():
            for text, string, normalised in zip(texts, strings, normalise_many(strings), strict=True):
                key = text if isinstance(text, str) else repr(text)
                item = seen.get(key)
                if item is None:
                    item = seen[key] = analyse(string, normalised)
                out.append(item)
        return out

    def classify_frame(self, df: pd.DataFrame, text_col: str = "text", id_col: str = "feedback_id") -> pd.DataFrame:
        """One row per utterance x code, one `uncoded` row where nothing applies (columns: FRAME_COLUMNS)."""
        return analyses_to_frame(df[id_col].tolist(), self.analyse_many(df[text_col].tolist()), self.version)

    def _scored_clauses(self, norm: str) -> tuple[list, list, float, int]:
        """Clauses with their scores, computed per span between punctuation
        and cached per span text: feedback repeats its phrases, so most spans of a large batch have been
        seen before. A span's clauses and scores depend only on its own text and whether a question mark
        closes it. Also the learned layer's Σ n-gram weights and n-gram positions over all spans.

        A clause is [units, start, end, is_question, after_contrast, before_contrast, coding cache,
        has_critical, span offset]: start/end index `norm`, the units' offsets are relative to the span
        (add the span offset; only `_code_clause` needs them, on a coding-cache miss)."""
        cache = self._span_cache
        clauses: list = []
        scored: list = []
        ngram_sum = 0.0
        positions = 0
        pieces = CLAUSE_SPLIT.split(norm)  # span, separator, span, ..., span (first/last may be empty)
        last = len(pieces) - 1
        start = 0
        for index in range(0, last + 1, 2):
            span = pieces[index]
            if span:
                question = index < last and "?" in pieces[index + 1]
                entry = cache.get((span, question))
                if entry is None:
                    entry = self._cached_span_entry(span, question)
                    cache = self._span_cache  # a new generation may have started
                leading_contrast, parts, span_sum, span_positions = entry
                ngram_sum += span_sum
                positions += span_positions
                if leading_contrast and clauses:
                    clauses[-1][5] = True  # 外观漂亮，但是油耗高: the earlier clause yields
                for units, rel_start, rel_end, after, before, result, part_cache, has_critical in parts:
                    clauses.append([units, rel_start + start, rel_end + start, question, after, before, part_cache,
                                    has_critical, start])
                    scored.append(result)
                start += len(span)
            if index < last:
                start += len(pieces[index + 1])
        return clauses, scored, ngram_sum, positions

    def model_spans(self, text) -> list[str]:
        """The spans the learned layer reads (normalised, non-customer text blanked, long digit runs
        masked), exactly as `analyse_compact` cuts them: the training script's view of a text."""
        return [LONG_NUMBER.sub(_zeros, span) for span in CLAUSE_BREAK.split(self._text_and_voice(text)[1]) if span]

    def _cached_span_entry(self, span: str, question: bool) -> tuple:
        """The span's entry on a miss in the current cache generation: from the previous generation
        (moved forward), looked up again with long digit runs masked, else built.

        Two generations of SPAN_CACHE_GENERATION entries each: when the current one is full it becomes
        the previous one and a new one starts, so a flood of one-off spans (ids, numbers) cannot wipe
        out the phrases a feed keeps repeating, which move forward the next time they are seen."""
        cache = self._span_cache
        if LONG_NUMBER.search(span):
            # order, phone and VIN numbers make spans unique; no term spans six digits, so the span
            # means the same with its long digit runs masked (offsets unchanged)
            span = LONG_NUMBER.sub(_zeros, span)
            entry = cache.get((span, question))
            if entry is not None:
                return entry
        key = (span, question)
        entry = self._span_cache_old.get(key)
        if entry is None:
            entry = self._span_entry(span, question)
        if len(cache) >= SPAN_CACHE_GENERATION:
            self._span_cache_old = cache
            cache = self._span_cache = {}
        cache[key] = entry
        return entry

    def _span_entry(self, span: str, question: bool) -> tuple:
        span_sum, span_positions = (self.sentiment_model.span_sum(span) if self.sentiment_model is not None
                                    else (0.0, 0))
        units = self._segment_units(span)
        if not units:
            return False, (), span_sum, span_positions
        clauses = self._clauses(span, units, question)
        leading = bool(clauses) and clauses[0] == "lead"
        if leading:
            clauses = clauses[1:]
        parts = []
        for clause_units, rel_start, rel_end, _, after, before in clauses:
            scales = [self._scale_of(unit[2]) if unit[2].leaves else 0 for unit in clause_units]
            parts.append((clause_units, rel_start, rel_end, after, before,
                          sentiment.score_clause(clause_units, scales, question, span), {},
                          any(unit[2].critical for unit in clause_units)))
        return leading, tuple(parts), span_sum, span_positions

    def _scale_of(self, role: Role) -> int:
        for index in role.leaves:
            if self._scales[index]:
                return self._scales[index]
        return 0

    def _segment_units(self, norm: str) -> list[tuple[int, int, Role]]:
        """Matched terms: leftmost-longest among those that agree with jieba's word boundaries, then
        words that matched terms tile exactly (太大 = 太 + 大; 大家 holds no 大)."""
        matches = [(end - length + 1, end + 1, index) for end, (length, index) in self._automaton.iter(norm)]
        if not matches:
            return []
        loose = []
        needs_boundary = self._needs_boundary
        if any(needs_boundary[index] for _, _, index in matches):
            boundaries = self.tokenizer.boundaries(norm)
            boundary_set = set(boundaries)
            aligned = []
            for match in matches:
                if not needs_boundary[match[2]] or (match[0] in boundary_set and match[1] in boundary_set):
                    aligned.append(match)
                else:
                    loose.append(match)
            matches = aligned
        chosen = _leftmost_longest(matches)
        if loose:
            chosen = sorted(chosen + _tile_words(loose, chosen, boundaries, self._inert))
        roles = self._roles_by_index
        return [(start, end, roles[index]) for start, end, index in chosen
                if not (end - start == 1 and norm[start] == "快" and ALMOST.match(norm, end))]

    def _clauses(self, span: str, units, question: bool) -> list:
        """(units, start, end, is_question, after_contrast, before_contrast) per clause of one span; a
        leading "lead" marker when the span opens with a contrast word (the clause before it yields)."""
        clauses: list = []
        current: list = []
        current_start, after_contrast = 0, False
        for unit in units:
            role = unit[2]
            if role.contrast and (not current or span[unit[0]:unit[1]] not in CLAUSE_INITIAL_CONTRAST
                                  or any(earlier[2].polarity for earlier in current)):
                if current:
                    clauses.append([current, current_start, unit[0], question, after_contrast, True])
                    current, current_start = [], unit[0]
                elif clauses and clauses[-1] != "lead":
                    clauses[-1][5] = True
                elif not clauses:
                    clauses.append("lead")
                after_contrast = True
                continue
            current.append(unit)
        if current:
            clauses.append([current, current_start, len(span), question, after_contrast, False])
        return clauses

    @staticmethod
    def _list_verdicts(norm: str, clauses: list, scored: list) -> list[float]:
        """Per clause, the verdict of the first opinionated clause joined to it by 、 alone, else 0. One
        pass from the right: a scan forward from each clause made a long list quadratic."""
        verdicts = [0.0] * len(clauses)
        for position in range(len(clauses) - 2, -1, -1):
            following = position + 1
            if norm[clauses[position][2]:clauses[following][1]].strip() == "、":
                verdicts[position] = (scored[following].total if scored[following].unit_values
                                      else verdicts[following])
        return verdicts

    def _code_clause(self, norm, clause, result, borrowed: float, inherits: bool):
        """(specific, entries) or None. `specific`: the clause coded a non-generic aspect. `inherits`: the
        previous clause of the same sentence coded one, so generic words here (敷衍, 休息区坐满了人) speak
        about it. Entries: (leaf index, code, sentiment, score, severity, point type, evidence start and
        end relative to the clause, is a summary verdict)."""
        clause_units, clause_start, clause_end, offset = clause[0], clause[1], clause[2], clause[8]
        if offset:
            clause_units = [(start + offset, end + offset, role) for start, end, role in clause_units]
        clause_text = norm[clause_start:clause_end]
        critical = major = None  # computed on the first negative hit only
        has_opinion = bool(result.unit_values) or result.suggestion or result.unmet or bool(borrowed)
        candidates = []
        excluded: dict[int, bool] = {}  # per leaf: one search of the clause, not one per evidence span
        for index, (_, _, role) in enumerate(clause_units):
            if not role.leaves or (role.needs_opinion and not has_opinion):
                continue
            for leaf_index in role.leaves:
                exclusions = self._exclusions[leaf_index]
                if exclusions:
                    if leaf_index not in excluded:
                        excluded[leaf_index] = any(word in clause_text for word in exclusions)
                    if excluded[leaf_index]:
                        continue
                candidates.append((index, leaf_index, role))
                break  # one evidence span supports one leaf
        if not candidates:
            return None
        specific = any(not role.generic for _, _, role in candidates)
        if not specific and inherits:
            return None
        candidates = _most_specific(candidates, clause_units, self.leaves)
        entries = []
        for index, leaf_index, role in candidates:
            start, end = clause_units[index][0], clause_units[index][1]
            score = result.aspect_scores.get(index, 0.0) or borrowed
            polarity = sentiment.label(score)
            leaf = self.leaves[leaf_index]
            severity = "minor"
            if polarity < 0:
                if critical is None:
                    critical = (any(unit[2].critical for unit in clause_units)
                                and not self._negated_critical(norm, clause_units))
                    major = any(unit[2].major for unit in clause_units)
                severity = leaf.severity
                if critical:
                    severity = "critical"
                elif major and severity == "minor":
                    severity = "major"
            if result.suggestion or result.unmet:
                point = "itch"
            elif polarity < 0:
                point = "pain"
            elif polarity > 0 and leaf.need_layer == "attractive":
                point = "delight"
            else:
                point = "none"
            evidence_start, evidence_end = _evidence_span(norm, clause_start, clause_end, start, end)
            entries.append((leaf_index, leaf.id, polarity, sentiment.squash(score), severity, point,
                            evidence_start - clause_start, evidence_end - clause_start, role.summary))
        return specific, tuple(entries)

    def _aspects_follow_learned(self, norm: str, hits: dict[int, tuple], learned: float) -> None:
        """A confident learned verdict is what the text says of the aspects it codes: where it contradicts
        the rules' sentiment of an aspect or the rules found none, the aspect takes the learned one (an
        idiom the rules misread, an opinion word they lack, a praise word lent to the wrong aspect of a
        complaint: 发动机噪音也上来了). A safety failure and a wish (itch) keep theirs, and so does a
        negated verdict (没有异响): character n-grams cannot read negation, the rules can. In a text whose
        aspects the rules read both ways (性价比最高，可是储物空间太少), the text's verdict is not every aspect's:
        an aspect keeps its own where the learned weights of its own span lean against the text's."""
        polarity = 1 if learned > 0 else -1
        verdicts = {hit[1] for hit in hits.values()}
        mixed = 1 in verdicts and -1 in verdicts
        for leaf_index, hit in hits.items():
            if hit[1] == polarity or hit[3] == "critical" or hit[4] == "itch":
                continue
            if hit[1] and self._reads_negation(norm, hit[6], hit[7]):
                continue
            if mixed and self._span_lean(norm, hit[6], hit[7]) * polarity < 0:
                continue
            leaf = self.leaves[leaf_index]
            severity = leaf.severity if polarity < 0 else "minor"
            point = "pain" if polarity < 0 else "delight" if leaf.need_layer == "attractive" else "none"
            hits[leaf_index] = (hit[0], polarity, sentiment.squash(learned), severity, point) + hit[5:]

    def _span_lean(self, norm: str, start: int, end: int) -> float:
        """The learned n-gram weights (Σ, as in the utterance's logit) of the spans between punctuation that
        the evidence [start, end) lies in. Asked only for an aspect of a mixed text that a confident learned
        verdict contradicts. Each span's sum comes from its span-cache entry, as `_scored_clauses` reads it."""
        total = 0.0
        span_start = 0
        for separator in CLAUSE_BREAK.finditer(norm):
            if span_start >= end:
                return total
            if separator.start() > start:
                total += self._span_entry_of(norm[span_start:separator.start()], "?" in separator.group())[2]
            span_start = separator.end()
        if span_start < end:
            total += self._span_entry_of(norm[span_start:], False)[2]
        return total

    def _span_entry_of(self, span: str, question: bool) -> tuple:
        return self._span_cache.get((span, question)) or self._cached_span_entry(span, question)

    def _reads_negation(self, norm: str, start: int, end: int) -> bool:
        """Whether the rules read a negator in an aspect's evidence or the span after it, which may have
        lent it its verdict (座椅方面，并不难受). Only an aspect that contradicts a confident learned verdict
        asks; the answer per piece of text is kept (a dict emptied when full, like a span cache generation),
        since feedback repeats its phrases and matching them again cost ~10 % of the CPU per text."""
        separators = CLAUSE_BREAK.finditer(norm, end)
        next(separators, None)
        following = next(separators, None)
        region = norm[start:following.start() if following else len(norm)]
        known = self._negator_pieces
        for piece in CLAUSE_BREAK.split(region):
            if not piece:
                continue
            negated = known.get(piece)
            if negated is None:
                if len(known) >= SPAN_CACHE_GENERATION:
                    known.clear()
                negated = known[piece] = any(unit[2].negator for unit in self._segment_units(piece))
            if negated:
                return True
        return False

    def _negated_critical(self, norm: str, clause_units) -> bool:
        """没有自燃 / 不会起火 / 从来没熄火过: a denied safety failure is not critical."""
        for position, unit in enumerate(clause_units):
            if unit[2].critical:
                before = clause_units[position - 1] if position else None
                if before is not None and before[2].negator and unit[0] - before[1] <= 2:
                    continue
                if self._not_critical is not None and self._not_critical.search(norm, max(0, unit[0] - 6), unit[1] + 2):
                    continue
                return False
        return True

    def _names_critical(self, norm: str) -> bool:
        """Whether any critical pattern matches `norm`."""
        if self._critical_openers is None:
            return self._critical_any.search(norm) is not None
        return next(_opened_matches(self._critical_any, self._critical_openers, norm), None) is not None

    def _critical_phrases(self, text: str, norm: str, hits: dict[int, tuple]) -> None:
        """Safety failures phrased freely (气囊一个都没弹出来, 刹车突然踩不下去) code their leaf as critical."""
        for leaf_index, pattern in self._critical_patterns:
            for match in pattern.finditer(norm):
                start, end = match.span()
                if self._not_critical is not None and self._not_critical.search(norm, max(0, start - 6), end):
                    continue
                # the clause names a safety failure: the part it mentions on the way (方向盘, 电池包, 百公里) adds no code
                for other in [index for index, hit in hits.items() if hit[3] != "critical" and index != leaf_index
                              and hit[6] is not None and hit[6] < end and hit[7] > start]:
                    del hits[other]
                previous = hits.get(leaf_index)
                if previous is not None and previous[3] == "critical":
                    break
                evidence_start, evidence_end = _evidence_span(text, start, end, start, end)
                hits[leaf_index] = (self.leaves[leaf_index].id, -1, min(-0.762, previous[2] if previous else 0),
                                    "critical", "pain", text[evidence_start:evidence_end], evidence_start, evidence_end)
                break

    def _uncoded(self, score: float, suggestion: bool) -> tuple:
        polarity = sentiment.label(score)
        point = "itch" if suggestion else "pain" if polarity < 0 else "none"
        return (UNCODED, polarity, sentiment.squash(score), None, point, "", None, None)


class _OpinionScorer:
    """Polarity of a keyword from the opinion words inside it (刹车失灵 -> 失灵 -> negative)."""

    def __init__(self, roles: dict[str, Role]):
        self._automaton = ahocorasick.Automaton()
        for term, role in roles.items():
            if role.polarity or role.negator or role.degree or role.magnitude or not role.carries_opinion():
                self._automaton.add_word(term, (len(term), role))
        self._automaton.make_automaton()

    def polarity(self, keyword: str, scale: int) -> float:
        """A negated action inside a keyword (没人回电, 到店不认, 打不着火) is a complaint."""
        units = _leftmost_longest([(end - length + 1, end + 1, role)
                                   for end, (length, role) in self._automaton.iter(keyword)])
        if not units:
            return 0.0
        last_start, last_end, last_role = units[-1]
        if last_role.magnitude and scale and not last_role.polarity:  # 油耗高: a trailing magnitude word
            units[-1] = (last_start, last_end, Role(polarity=last_role.magnitude * scale))
        total = sentiment.score_clause(units, [0] * len(units), False).total
        # a no-need word (不用跑店里) negates no action: such a keyword is no complaint
        if not total and any(role.names_missing() for _, _, role in units):
            return -1.0
        return float(sentiment.label(total))


# An amount of time. Each alternative starts only where its run of digits or numerals starts: a run
# matched from every position inside it made a long string of digits quadratic (100k digits: 329 s).
_WORD = re.compile(r"[^\W\d_]")  # a letter of any script: a Chinese character, a Latin letter …
_AMOUNT = r"(?:(?<!\d)\d+|(?<![一两二三四五六七八九十半])[一两二三四五六七八九十半]+)"

# When the lexicon leaves an opinionated text at zero: patterns that carry a verdict in any domain.
_FALLBACK = [(re.compile(pattern), weight) for pattern, weight in (
    (r"好(?![几多久像些在友不处歹像似比])[吃喝看用听玩开坐停睡住闻]", 0.4),  # 好吃 好用 好停: "good to X"
    (r"难(?![道怪得免过题处说以])[吃喝看用听受开坐停睡住闻找修]", -0.4),  # 难吃 难用 难找: "hard to X"
    (r"太[\u4e00-\u9fff]{1,2}了", -0.3),  # 太X了: an excess
    (r"[\u4e00-\u9fff]死(?:了|人)", -0.3),  # 烦死了, 热死人
    (_AMOUNT + r"(?:个)?(?:多)?(?:分钟|小时|钟头|天)[^，,。!?]{0,4}(?:才|还没|都没)", -0.4),
    (r"(?:没|未|不)(?:有)?(?:送|给|到|做|放|回|处理|解决|退|加|熟|拿|带|配|装|按)", -0.3),  # 没送到, 不给退
    (r"(?:等|送|用|花|排|到)了?(?:快|近|将近|足足|整整)?" + _AMOUNT + r"(?:个)?(?:多|半)?(?:小时|钟头)", -0.5),
    (_AMOUNT + r"(?:个)?(?:多|半)?(?:小时|钟头)(?:后|以后|之后)?(?:才)?(?:到|送到|送来)", -0.4),
    (r"(?:都|也|连)[^，,。!?\s]{0,3}没(?:有)?|没有[^，,。!?\s]{0,4}(?:呢|啊)", -0.3),  # 筷子都没有: something missing
    (r"结果(?:是|送来|来了|给|却)", -0.3),  # 写了微辣，结果是超辣: the result contradicts the order
    (r"说好的[^，,。!?]{0,10}呢", -0.5),
    (r"有(?:点|些)(?:儿)?[\u4e00-\u9fff]", -0.2),
    (r"(?:太|过于|过分)(?!好|棒|爽|赞|香|美|帅|值|舒服|方便|喜欢|漂亮|给力|满意|省|感谢|开心|高兴|快乐)[\u4e00-\u9fff]", -0.3),  # 有点老, 有点夹生: hedging before an unknown word
    (r"[?]{1}.{0,3}$|[!?]{2,}", -0.2),  # a closing question or !!/?! in feedback is mostly a complaint
)]


def _fallback_score(norm: str) -> float:
    return sum(weight * len(pattern.findall(norm)) for pattern, weight in _FALLBACK)


SELECT_MODE = "multi"


def _most_specific(candidates, clause_units, leaves):
    """Most specific leaf wins within a clause: a generic touchpoint noun (客服, APP, 价格) yields to any
    other aspect; a keyword naming a problem or praise (顿挫, 漏水) beats a neutral one; then the
    longest keyword. One clause supports one leaf."""
    if any(not role.generic for _, _, role in candidates):
        candidates = [c for c in candidates if not c[2].generic]
    if SELECT_MODE == "one":
        def rank(c):
            unit = clause_units[c[0]]
            return (c[2].specific, unit[1] - unit[0], -unit[0])
        return [max(candidates, key=rank)]
    if any(role.specific for _, _, role in candidates):
        parents = {leaves[i].parent for _, i, role in candidates if role.specific}
        candidates = [c for c in candidates if c[2].specific or leaves[c[1]].parent not in parents]
    return candidates


MAX_SPELLED = 256  # the most strings a required-literal set spells out


def _any_of(strings) -> re.Pattern:
    """A regex finding any of `strings` (longest first), which Python's re scans by first character."""
    return re.compile("|".join(re.escape(string) for string in sorted(set(strings), key=lambda s: (-len(s), s))))


def _required_literals(pattern: str):
    """Strings one of which every match of `pattern` contains (the longest such set found), or None
    when the pattern's structure does not guarantee any."""
    from re import _constants as sre
    from re import _parser as sre_parse

    def better(a, b):
        if b is None:
            return a
        if a is None:
            return b
        return a if (min(map(len, a)), -len(a)) > (min(map(len, b)), -len(b)) else b

    def sequence(items):
        # `runs`: the strings the items since the last inexact one spell out exactly (a literal, or a
        # branch of literals: 已(?:安排|告知) requires 已安排 or 已告知, not only 安排 or 告知)
        best, runs = None, {""}
        for op, av in items:
            spelled = exact(op, av)
            if spelled is not None and len(runs) * len(spelled) <= MAX_SPELLED:
                runs = {run + string for run in runs for string in spelled}
                continue
            if all(runs):
                best = better(best, runs)
            runs = {""}
            best = better(best, element(op, av))
        return better(best, runs) if all(runs) else best

    def exact(op, av):
        """The strings an element always matches exactly one of, or None."""
        if op is sre.LITERAL:
            return {chr(av)}
        if op is sre.IN and all(o is sre.LITERAL for o, _ in av):
            return {chr(a) for _, a in av}
        if op is sre.SUBPATTERN and not av[1] and not av[2]:
            return exact_sequence(av[-1])
        if op is sre.BRANCH:
            out = set()
            for branch in av[1]:
                found = exact_sequence(branch)
                if found is None:
                    return None
                out |= found
            return out if len(out) <= MAX_SPELLED else None
        return None

    def exact_sequence(items):
        out = {""}
        for op, av in items:
            spelled = exact(op, av)
            if spelled is None or len(out) * len(spelled) > MAX_SPELLED:
                return None
            out = {string + more for string in out for more in spelled}
        return out

    def element(op, av):
        if op is sre.SUBPATTERN:
            return sequence(av[-1])
        if op is sre.IN and all(o is sre.LITERAL for o, _ in av):
            return {chr(a) for _, a in av}
        if op is sre.BRANCH:
            out = set()
            for branch in av[1]:
                found = sequence(branch)
                if not found:
                    return None
                out |= found
            return out
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT) and av[0] >= 1:
            return sequence(av[2])
        return None

    try:
        found = sequence(sre_parse.parse(pattern))
    except Exception:  # an unusual pattern: no shortcut
        return None
    return found if found and all(found) else None


def _leading_strings(pattern: str) -> set[str] | None:
    """Non-empty strings one of which every match of `pattern` starts with, or None when its start is not
    such a known literal (a class, an anchor or an inline flag first, or an optional part followed by one)."""
    from re import _constants as sre
    from re import _parser as sre_parse

    def leading(items) -> set[str] | None:
        if not items:
            return None
        op, av = items[0]
        if op in (sre.MAX_REPEAT, sre.MIN_REPEAT):  # (?:转向)?助力: 转向 or, skipped, 助力
            repeated = leading(list(av[2]))
            if av[0] >= 1 or not repeated:
                return repeated
            rest = leading(items[1:])
            return repeated | rest if rest else None
        if op is sre.LITERAL:
            run = ""
            for item_op, item_av in items:
                if item_op is not sre.LITERAL:
                    break
                run += chr(item_av)
            return {run}
        if op is sre.IN and all(o is sre.LITERAL for o, _ in av):
            return {chr(a) for _, a in av}
        if op is sre.SUBPATTERN and not av[1] and not av[2]:
            return leading(list(av[-1]))
        if op is sre.BRANCH:
            found: set[str] = set()
            for branch in av[1]:
                strings = leading(list(branch))
                if not strings:
                    return None
                found |= strings
            return found
        return None

    try:
        parsed = sre_parse.parse(pattern)
    except Exception:  # an unusual pattern: no shortcut
        return None
    if parsed.state.flags & (re.IGNORECASE | re.VERBOSE):
        return None
    found = leading(list(parsed))
    return found if found and all(found) else None


@contextmanager
def no_cyclic_gc():
    """Pause the cyclic garbage collector during a batch: analysing a text allocates many small tuples
    and lists (freed by reference counting; the analysis builds no cycles), which would otherwise
    trigger collections that walk the whole span cache again and again (~10-15% of the batch time).
    Restored afterwards, also when the collector was already off."""
    enabled = gc.isenabled()
    if enabled:
        gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _blank(match) -> str:
    return " " * (match.end() - match.start())


def _opened_matches(pattern: re.Pattern, openers: re.Pattern, text: str):
    """The matches `pattern.finditer(text)` gives, for a pattern whose every match is non-empty and starts
    where `openers` finds one of its strings: the pattern is tried only there, leftmost first, and the scan
    goes on after each match."""
    found = openers.search(text)
    while found is not None:
        start = found.start()
        match = pattern.match(text, start)
        if match is None:
            found = openers.search(text, start + 1)
            continue
        yield match
        found = openers.search(text, match.end())


def _blank_where_opened(mask: re.Pattern, openers: re.Pattern, text: str) -> str:
    """`mask.sub(_blank, text)`, the mask tried only where `openers` finds one of its strings."""
    pieces, last = [], 0
    for match in _opened_matches(mask, openers, text):
        start, end = match.span()
        pieces.append(text[last:start])
        pieces.append(" " * (end - start))
        last = end
    if not pieces:
        return text
    pieces.append(text[last:])
    return "".join(pieces)


def _zeros(match) -> str:
    return "0" * (match.end() - match.start())


def _hit_order(hit: tuple):
    return hit[6], hit[0]


def _as_string(text) -> str:
    """Missing values empty, anything else its string form."""
    return text if isinstance(text, str) else ("" if text is None or _is_missing(text) else str(text))


def _is_missing(value) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _leftmost_longest(matches: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    chosen, last_end = [], 0
    for start, end, index in sorted(matches, key=lambda m: (m[0], -m[1])):
        if start >= last_end:
            chosen.append((start, end, index))
            last_end = end
    return chosen


def _tile_words(loose, chosen, boundaries: list[int], inert=None) -> list[tuple[int, int, int]]:
    """Short matches inside a jieba word count only when together they cover that word exactly."""
    by_word: dict[tuple[int, int], list] = {}
    for match in loose:
        left = boundaries[bisect.bisect_right(boundaries, match[0]) - 1]
        right = boundaries[min(bisect.bisect_left(boundaries, match[1]), len(boundaries) - 1)]
        by_word.setdefault((left, right), []).append(match)
    # chosen is leftmost-longest: disjoint and sorted, so only the last match starting before a
    # word's right edge can overlap it (a scan of all of them made long texts quadratic).
    taken_starts = [start for start, _, _ in chosen]
    tiles = []
    for (left, right), candidates in by_word.items():
        before = bisect.bisect_left(taken_starts, right) - 1
        if before >= 0 and chosen[before][1] > left:
            continue
        longest_at: dict[int, tuple] = {}
        for match in candidates:
            if match[1] <= right and (match[0] not in longest_at or match[1] > longest_at[match[0]][1]):
                longest_at[match[0]] = match
        position, word_tiles = left, []
        while position < right and position in longest_at:
            word_tiles.append(longest_at[position])
            position = longest_at[position][1]
        if position == right and not (inert and any(inert[tile[2]] for tile in word_tiles)):
            tiles.extend(word_tiles)
    return tiles


def _evidence_span(text: str, clause_start: int, clause_end: int, start: int, end: int) -> tuple[int, int]:
    if clause_end - clause_start > EVIDENCE_MAX_CHARS:
        half = (EVIDENCE_MAX_CHARS - (end - start)) // 2
        clause_start, clause_end = max(clause_start, start - half), min(clause_end, end + half)
    while clause_start < start and text[clause_start].isspace():
        clause_start += 1
    while clause_end > end and text[clause_end - 1].isspace():
        clause_end -= 1
    return clause_start, clause_end


def _stronger(hit: tuple, previous: tuple) -> bool:
    """Keep the most severe, then the most negative, then the first mention of a code (compact hits)."""
    rank, previous_rank = SEVERITY_RANK[hit[3]], SEVERITY_RANK[previous[3]]
    if rank != previous_rank:
        return rank > previous_rank
    return hit[2] < previous[2] and hit[1] < 0


def analyses_to_frame(ids: list, analyses: list[Analysis], version: str) -> pd.DataFrame:
    columns: dict[str, list] = {name: [] for name in FRAME_COLUMNS}
    for feedback_id, analysis in zip(ids, analyses, strict=True):
        for hit in analysis.hits:
            columns["feedback_id"].append(feedback_id)
            columns["code"].append(hit.code)
            columns["l1"].append(hit.l1)
            columns["l2"].append(hit.l2)
            columns["l3"].append(hit.l3)
            columns["sentiment"].append(hit.sentiment)
            columns["sentiment_score"].append(hit.sentiment_score)
            columns["severity"].append(hit.severity)
            columns["need_layer"].append(hit.need_layer)
            columns["point_type"].append(hit.point_type)
            columns["evidence"].append(hit.evidence)
            columns["start"].append(hit.start)
            columns["end"].append(hit.end)
    rows = len(columns["code"])
    columns["codeframe_version"] = [version] * rows
    columns["method"] = [METHOD] * rows
    frame = pd.DataFrame(columns, columns=FRAME_COLUMNS)
    frame["sentiment"] = frame["sentiment"].astype("int8")
    frame["sentiment_score"] = frame["sentiment_score"].astype("float64")
    frame["start"] = frame["start"].astype("Int64")
    frame["end"] = frame["end"].astype("Int64")
    return frame


def get_classifier(codeframe_path: str | None = None) -> Classifier:
    """One classifier per codeframe file and process. The cache is keyed on the path alone: an lru_cache on
    this function keyed get_classifier() and get_classifier(None) apart and built the default one twice."""
    return _classifier_for(codeframe_path or None)


@lru_cache(maxsize=4)
def _classifier_for(codeframe_path: str | None) -> Classifier:
    return Classifier(codeframe_path)


def classify_frame(df: pd.DataFrame, text_col: str = "text", id_col: str = "feedback_id",
                   codeframe_path: str | Path | None = None) -> pd.DataFrame:
    """Code a DataFrame of utterances; see Classifier.classify_frame."""
    return get_classifier(str(codeframe_path) if codeframe_path else None).classify_frame(df, text_col, id_col)
