"""Compose channel-styled utterances from topic phrases, with their gold labels.

Every choice comes from one random stream handed in by the caller, so the
baseline, the planted events and the bad records each keep their own stream.
"""

from __future__ import annotations

import random
from bisect import bisect
from itertools import accumulate

from ingestion.demo import reference as ref
from ingestion.demo.master import Customer, Vehicle, World
from ingestion.demo.phrasebank import PhraseBank, Topic

Label = tuple  # (topic_l1, topic_l2, sentiment, severity, suggestion)

POLARITY_MIX = {
    "call_center": {"neg": 74, "neu": 16, "pos": 3, "sug": 7},
    "private_domain": {"neg": 50, "neu": 20, "pos": 15, "sug": 15},
    "public_opinion": {"neg": 50, "neu": 10, "pos": 30, "sug": 10},
    "store": {"neg": 40, "neu": 20, "pos": 30, "sug": 10},
    "survey_promoter": {"pos": 80, "sug": 15, "neu": 5},
    "survey_passive": {"neu": 35, "sug": 30, "neg": 20, "pos": 15},
    "survey_detractor": {"neg": 85, "sug": 10, "neu": 5},
    "complaint_site": {"neg": 95, "sug": 5},
    "ecommerce": {"pos": 65, "neg": 25, "neu": 10},
}
TOPIC_COUNT_CUM = tuple(accumulate((55, 32, 13)))   # 1, 2 or 3 topics per utterance
DIGITAL_L1 = "数字化"
SENTENCE_END = set("。！？!?…~]")


def sentence(text: str) -> str:
    """End a text with a full stop unless it already ends in punctuation or an emoji-like mark."""
    return text if text and text[-1] in SENTENCE_END else text + "。"


def _cum(mix: dict) -> tuple[tuple, tuple]:
    return tuple(mix), tuple(accumulate(mix.values()))


class SlotValues(dict):
    """Slot values drawn only when a phrase asks for them."""

    def __init__(self, composer: "Composer", customer: Customer | None, vehicle: Vehicle | None):
        super().__init__()
        self.composer, self.customer, self.vehicle = composer, customer, vehicle

    def __missing__(self, key: str) -> str:
        rng, world = self.composer.rng, self.composer.world
        if key == "model":
            full = self.vehicle.model if self.vehicle else f"{ref.BRAND}{rng.choice(self.composer.model_codes)}"
            value = full if rng.random() < 0.4 else full[len(ref.BRAND):]
        elif key == "dealer":
            code = self.vehicle.dealer_code if self.vehicle else (self.customer.dealer_code if self.customer else None)
            value = self.composer.dealer_names[code] if code else world.dealers[rng.randrange(len(world.dealers))].name
        elif key == "city":
            value = self.customer.city if self.customer else rng.choice(ref.CITIES)[0]
        elif key == "brand":
            value = ref.BRAND
        elif key == "n":
            value = str(rng.randint(2, 9))
        elif key == "km":
            value = rng.choice((f"{rng.randint(1, 9)}万", f"{rng.randint(2, 9)}000", f"{rng.randint(1, 3)}万{rng.randint(1, 9)}"))
        elif key == "price":
            value = f"{rng.randint(8, 26)}.{rng.randint(0, 9)}"
        elif key == "days":
            value = str(rng.randint(7, 60))
        elif key == "hours":
            value = str(rng.randint(2, 5))
        elif key == "sw":
            value = self.vehicle.software_version if self.vehicle else ref.DEFECT_VERSION
        elif key == "agent":
            value = f"{rng.randint(1000, 9999)}"
        else:
            raise KeyError(key)
        self[key] = value
        return value


class Composer:
    """Builds the text of one utterance per channel and returns its gold labels."""

    def __init__(self, bank: PhraseBank, world: World, rng: random.Random):
        self.bank, self.world, self.rng = bank, world, rng
        self.style = bank.style
        self.model_codes = tuple(m[0] for m in ref.MODELS)
        self.dealer_names = {d.code: d.name for d in world.dealers}
        self.polarity = {k: _cum(v) for k, v in POLARITY_MIX.items()}
        self.pools = {}
        for kind in ("touchpoint_topics", "visit_topics"):
            for key, l2s in self.style[kind].items():
                topics = tuple(bank.by_l2[l2] for l2 in l2s)
                self.pools[key] = (topics, tuple(accumulate(max(t.weight, 0.3) for t in topics)))
        digital = tuple(t for t in bank.baseline if t.l1 == DIGITAL_L1)
        self.pools["digital"] = (digital, tuple(accumulate(t.weight for t in digital)))
        self.pools["baseline"] = (bank.baseline, bank.baseline_cum)
        self.typos = tuple(tuple(p) for p in self.style["typos"])
        self.connectors = tuple(self.style["connectors"])
        self.connectors_negative = tuple(self.style["connectors_negative"])
        self.connectors_contrast = tuple(self.style["connectors_contrast"])
        self.section_of = self.style["public"]["section_of"]
        self.leanings = {ch: tuple((d, p, bank.by_l2[self.style["descriptor_topics"][d]],
                                    "neg" if self.style["descriptor_sentiment"][d] < 0 else "pos")
                                   for d, p in mix.items())
                         for ch, mix in self.style["leanings"].items()}

    # -- small draws -------------------------------------------------------
    def pick(self, seq):
        return seq[int(self.rng.random() * len(seq))]

    def polarity_for(self, mix: str) -> str:
        names, cum = self.polarity[mix]
        return names[bisect(cum, self.rng.random() * cum[-1])]

    def draw_topics(self, k: int, pool: str = "baseline") -> list[Topic]:
        topics, cum = self.pools[pool]
        chosen: list[Topic] = []
        for _ in range(k * 3):
            t = topics[bisect(cum, self.rng.random() * cum[-1])]
            if t not in chosen:
                chosen.append(t)
                if len(chosen) == k:
                    break
        return chosen

    def topic_count(self) -> int:
        return bisect(TOPIC_COUNT_CUM, self.rng.random() * TOPIC_COUNT_CUM[-1]) + 1

    def fill(self, text: str, slots: SlotValues) -> str:
        return text.format_map(slots) if "{" in text else text

    def phrase(self, topic: Topic, polarity: str, slots: SlotValues) -> tuple[str, Label]:
        p = self.pick(topic.group(polarity))
        text = p.text.format_map(slots) if p.has_slots else p.text
        return text, (topic.l1, topic.l2, p.sentiment, p.severity, p.suggestion)

    def body(self, topics: list[Topic], mix: str, slots: SlotValues, polarity: str | None = None) -> tuple[str, list[Label]]:
        """Join one phrase per topic with colloquial connectors (run-on sentences)."""
        parts, labels = [], []
        for t in topics:
            text, label = self.phrase(t, polarity or self.polarity_for(mix), slots)
            parts.append(text)
            labels.append(label)
        out = parts[0]
        for i in range(1, len(parts)):
            before, now = labels[i - 1][2], labels[i][2]
            if before != now and before * now <= 0 and self.rng.random() < 0.7:
                pool = self.connectors_contrast
            elif before < 0 and now < 0 and self.rng.random() < 0.4:
                pool = self.connectors_negative
            else:
                pool = self.connectors
            out += self.pick(pool) + parts[i]
        return out, labels

    def lean(self, channel: str, slots: SlotValues) -> tuple[str, Label | None, str | None]:
        """Maybe add the channel's descriptor leaning (store: 等待/混乱, online: 高效/方便)."""
        for descriptor, prob, topic, polarity in self.leanings[channel]:
            if self.rng.random() < prob:
                text, label = self.phrase(topic, polarity, slots)
                return text, label, descriptor
        return "", None, None

    def noise(self, text: str, typo_p: float, emoji_p: float, sentiment: int) -> str:
        rng = self.rng
        if rng.random() < typo_p:
            right, wrong = self.pick(self.typos)
            text = text.replace(right, wrong, 1)
        if rng.random() < emoji_p:
            pool = self.style["negative_emoji"] if sentiment < 0 else \
                self.style["positive_emoji"] if sentiment > 0 else self.style["emoji"]
            text += self.pick(pool) * (1 + (rng.random() < 0.3) + (rng.random() < 0.1))
        return text

    # -- PII ---------------------------------------------------------------
    def pii(self, customer: Customer | None, vehicle: Vehicle | None, spoken: bool = False) -> str:
        """A sentence carrying personal data, as customers type or say it."""
        rng = self.rng
        phone = customer.phone if customer else f"1{rng.choice('3589')}{rng.randrange(10 ** 9):09d}"
        kind = rng.random()
        if kind < 0.45:
            fmt = rng.random()
            shown = phone if fmt < 0.5 else f"{phone[:3]} {phone[3:7]} {phone[7:]}" if fmt < 0.8 else f"{phone[:3]}-{phone[3:7]}-{phone[7:]}"
            return self.pick(("我电话{}", "手机号{}，有事打我", "联系方式：{}", "回电打{}就行")).format(shown)
        if kind < 0.65 and vehicle:
            return self.pick(("车架号{}", "VIN是{}", "我的车架号：{}")).format(vehicle.vin)
        if kind < 0.85 and vehicle:
            plate = vehicle.plate if rng.random() < 0.6 else vehicle.plate.replace("·", "")
            return self.pick(("车牌{}", "我车牌号是{}", "车是{}那台")).format(plate)
        if customer:
            if spoken or rng.random() < 0.5:
                return self.pick(("我叫{}", "我是车主{}", "登记的名字是{}")).format(customer.name)
            return f"身份证号{customer.id_card}"
        return f"电话{phone}"

    # -- channels ----------------------------------------------------------
    def call(self, customer, vehicle, topics, polarity=None, pii_p=0.3, extra=""):
        """ASR transcript (no emoji, spoken fillers, ASR slips), agent summary and queue."""
        rng, st = self.rng, self.style["call"]
        slots = SlotValues(self, customer, vehicle)
        text, labels = self.body(topics, "call_center", slots, polarity)
        lean_text, lean_label, descriptor = self.lean("call_center", slots)
        if lean_label:
            text += "，" + lean_text
            labels.append(lean_label)
        if rng.random() < 0.5:
            text = text.replace("，", f"，{self.pick(st['fillers'])}", 1)
        if rng.random() < 0.35:
            text = text.replace("，", " ")
        if extra:
            text += "，" + extra
        if rng.random() < pii_p:
            text += "，" + self.pii(customer, vehicle, spoken=True)
        text = self.noise(text, 0.25, 0.0, 0)
        severities = {l[3] for l in labels}
        l2s = {l[1] for l in labels}
        if l2s & {"道路救援", "高速熄火", "自燃"}:
            queue = "救援"
        elif "critical" in severities or "major" in severities or min(l[2] for l in labels) < 0 and rng.random() < 0.6:
            queue = "投诉"
        else:
            queue = "咨询"
        greeting = self.fill(self.pick(st["agent_greeting"]), slots)
        opener = self.fill(self.pick(st["customer_openers"]), slots)
        closer = st["agent_closers"][3] if queue == "救援" else self.pick(st["agent_closers"][:3] + st["agent_closers"][4:])
        asr = f"{greeting} {opener}{sentence(text)}{self.pick(st['agent_lines'])} {self.pick(st['customer_acks'])} {closer}"
        topics_desc = "、".join(t.description.split("、")[0] for t in topics)
        mood = "激动" if queue == "投诉" and rng.random() < 0.5 else "平稳"
        summary = self.pick(st["summary"]).format(topics=topics_desc, mood=mood) + self.pick(st["summary_actions"])
        return asr, summary, queue, labels, descriptor

    def chat(self, customer, vehicle, topics, polarity=None, pii_p=0.08, extra=""):
        rng, st = self.rng, self.style["chat"]
        slots = SlotValues(self, customer, vehicle)
        text, labels = self.body(topics, "private_domain", slots, polarity)
        lean_text, lean_label, descriptor = self.lean("private_domain", slots)
        if lean_label:
            text += "，" + lean_text
            labels.append(lean_label)
        if extra:
            text += "，" + extra
        if rng.random() < pii_p:
            text += "，" + self.pii(customer, vehicle)
        text = self.pick(st["openers"]) + text + self.pick(st["closers"])
        return self.noise(text, 0.12, 0.35, labels[0][2]), labels, descriptor

    def post(self, platform, customer, vehicle, topics=None, polarity=None, extra=""):
        """Public post text and title per platform style (hashtags, long reviews, complaints)."""
        rng, st = self.rng, self.style["public"]
        slots = SlotValues(self, customer, vehicle)
        mix = platform if platform in ("complaint_site", "ecommerce") else "public_opinion"
        if topics is None:
            k = rng.randint(3, 6) if platform == "autohome" else rng.randint(2, 4) if platform == "complaint_site" \
                else self.topic_count()
            topics = self.draw_topics(k)
        title = ""
        if platform == "autohome":
            text, labels = self._long_review(topics, slots, polarity)
        else:
            text, labels = self.body(topics, mix, slots, polarity)
        lean_text, lean_label, descriptor = self.lean("public_opinion", slots)
        if lean_label:
            text = sentence(text) + lean_text
            labels.append(lean_label)
        if extra:
            text = sentence(text) + extra
        sentiment = min(l[2] for l in labels)
        if platform == "complaint_site":
            text = self.fill(self.pick(st["complaint_prefix"]), slots) + sentence(text) + "诉求：" + \
                self.pick(("要求厂家彻底解决", "要求退车", "要求赔偿", "要求给个说法"))
        elif platform == "ecommerce":
            text = self.pick(st["ecommerce"]) + text
        else:
            openers = st["openers_negative"] if sentiment < 0 and rng.random() < 0.5 else st["openers"]
            text = self.fill(self.pick(openers), slots) + text
            closer = self.pick(st["closers"]) if rng.random() < 0.5 else ""
            if closer:
                text = sentence(text) + closer
        if platform in ("weibo", "douyin", "xiaohongshu"):
            tags = " ".join(self.fill(t, slots) for t in rng.sample(st["hashtags"], rng.randint(1, 3)))
            text = f"{tags} {text}" if platform == "weibo" else f"{text} {tags}"
        if platform in ("xiaohongshu", "autohome", "dongchedi", "complaint_site"):
            group = "titles_neg" if sentiment < 0 else "titles_pos" if sentiment > 0 else "titles_neu"
            title = self.fill(self.pick(st[group]), slots)
        emoji_p = {"weibo": 0.5, "douyin": 0.7, "xiaohongshu": 0.8, "dongchedi": 0.2}.get(platform, 0.05)
        return self.noise(text, 0.1, emoji_p, sentiment), title, labels, descriptor

    def _long_review(self, topics, slots, polarity):
        rng, st = self.rng, self.style["public"]
        parts = [self.fill(self.pick(st["story"]), slots) for _ in range(rng.randint(1, 3))]
        labels = []
        for t in topics:
            text, label = self.phrase(t, polarity or self.polarity_for("public_opinion"), slots)
            joined = "".join(parts)
            head = "【最满意】" if label[2] > 0 and "【最满意】" not in joined else \
                "【最不满意】" if label[2] < 0 and "【最不满意】" not in joined else self.section_of.get(t.l2, "")
            parts.append(head + sentence(text))
            labels.append(label)
        return "\n".join(parts), labels

    def survey(self, customer, vehicle, touchpoint):
        """NPS, CSAT and a verbatim (empty for about a fifth of responses)."""
        rng, st = self.rng, self.style["survey"]
        nps = rng.choices(range(11), (3, 2, 2, 3, 3, 5, 6, 12, 18, 22, 24))[0]
        mix = "survey_promoter" if nps >= 9 else "survey_passive" if nps >= 7 else "survey_detractor"
        csat = max(1, min(5, round(nps / 2.2 + rng.random() * 0.8)))
        if rng.random() < 0.2:
            return nps, csat, "", [], None
        slots = SlotValues(self, customer, vehicle)
        topics = self.draw_topics(1 if rng.random() < 0.7 else 2, touchpoint)
        text, labels = self.body(topics, mix, slots)
        lean_text, lean_label, descriptor = self.lean("survey", slots)
        if lean_label:
            text += "，" + lean_text
            labels.append(lean_label)
        text = self.pick(st["openers"]) + text + self.pick(st["closers"])
        return nps, csat, self.noise(text, 0.08, 0.1, labels[0][2]), labels, descriptor

    def store_note(self, customer, vehicle, visit_type, topics=None, polarity=None, extra=""):
        """Advisor note in the third person, plus a 1-5 rating."""
        rng, st = self.rng, self.style["store"]
        slots = SlotValues(self, customer, vehicle)
        if topics is None:
            topics = self.draw_topics(1 if rng.random() < 0.6 else 2, visit_type)
        text, labels = self.body(topics, "store", slots, polarity)
        lean_text, lean_label, descriptor = self.lean("store", slots)
        if lean_label:
            text += "，" + lean_text
            labels.append(lean_label)
        if extra:
            text += "，" + extra
        if rng.random() < 0.15:
            text += "，" + self.pii(customer, vehicle)
        note = self.pick(st["openers"]) + sentence(text) + self.pick(st["closers"])
        mean = sum(l[2] for l in labels) / len(labels)
        rating = max(1, min(5, round(3.4 + 1.4 * mean + rng.random() - 0.5)))
        return note, rating, labels, descriptor
