"""The demo world generator: a landing zone per docs/landing_zone.md and,
beside it, the truth it planted.

Four independent random streams keep the parts apart: master data, baseline
utterances, bad records and planted business events. A world generated with
``plants=False`` therefore has the same master data, baseline utterances and
bad records as its planted twin, only without the planted events.
Everything is streamed day by day; only small per-customer state is kept.
"""

from __future__ import annotations

import csv
import io
import json
import math
import random
import shutil
import sqlite3
from bisect import bisect
from datetime import date
from pathlib import Path

from tqdm import tqdm

from ingestion import FAMILIES
from ingestion.demo import WORLD_FILE, truth_dir
from ingestion.demo import reference as ref
from ingestion.demo.dirty import BAD_TIMESTAMPS, FILE_SOURCES, BadPlan, control_text, corrupt_json, future_day, plan_bad_records
from ingestion.demo.master import Customer, World, build_world, iso, write_master
from ingestion.demo.phrasebank import load_phrasebank
from ingestion.demo.plants import PlantedEvents, plan_events
from ingestion.demo.texts import Composer

GENERATOR_VERSION = "1.0.0"
UTTERANCES_PER_CUSTOMER_DAY = 0.1
CHANNEL_SHARE = {"call_center": 0.25, "private_domain": 0.25, "public_opinion": 0.25, "survey": 0.12, "store": 0.13}
# survey responses without a verbatim and visits without a note are not utterances: draw more records
RECORDS_PER_UTTERANCE = {"survey": 1 / 0.8, "store": 1 / 0.7}
WEEKDAY_FACTOR = {  # Monday .. Sunday, normalised to a mean of 1 below
    "call_center": (1.2, 1.05, 1.0, 1.0, 1.05, 0.85, 0.8),
    "private_domain": (1.05, 1.0, 1.0, 1.0, 1.0, 0.95, 0.95),
    "public_opinion": (0.9, 0.9, 0.95, 0.95, 1.0, 1.15, 1.2),
    "survey": (1.1, 1.05, 1.05, 1.05, 1.0, 0.85, 0.85),
    "store": (0.75, 0.7, 0.75, 0.8, 0.9, 1.5, 1.6),
}
HOUR_WEIGHTS = {
    "call_center": (0, 0, 0, 0, 0, 0, 1, 2, 6, 9, 10, 9, 6, 7, 9, 9, 8, 7, 5, 4, 3, 2, 1, 0.5),
    "private_domain": (1, 0.5, 0.3, 0.2, 0.2, 0.3, 1, 3, 5, 6, 7, 7, 6, 6, 6, 6, 6, 6, 6, 7, 8, 8, 6, 3),
    "public_opinion": (3, 2, 1, 0.5, 0.3, 0.3, 1, 2, 3, 4, 5, 6, 7, 5, 5, 5, 5, 5, 6, 8, 10, 11, 10, 6),
    "survey": (0.2, 0.1, 0, 0, 0, 0, 0.5, 1, 3, 5, 6, 6, 5, 5, 6, 6, 6, 5, 5, 6, 6, 4, 2, 1),
    "store": (0, 0, 0, 0, 0, 0, 0, 0, 3, 8, 10, 9, 6, 7, 9, 9, 8, 6, 3, 1, 0, 0, 0, 0),
}
LATE_ARRIVAL_P = 0.03
REUSING_KINDS = ("control_characters", "duplicate_within_file", "duplicate_across_files")  # no fresh record
CALL_COLUMNS = ("call_id", "started_at", "phone", "vin", "ticket_id", "queue", "agent_id", "duration_s",
                "asr_text", "agent_summary", "dealer_code")
CALL_REQUIRED = ("started_at", "phone", "asr_text")
EXTRA_FIELD = {"call_center": "caller_region", "private_domain": "sentiment_score", "public_opinion": "lang"}
JSON_TS = {"private_domain": "sent_at", "public_opinion": "published_at"}
JSON_REQUIRED = {"private_domain": ("channel", "sent_at", "text"), "public_opinion": ("platform", "handle", "published_at", "text")}
PRIVATE_CHANNELS = (("wecom", 35), ("app", 35), ("mini_program", 15), ("online_chat", 15))
TOUCHPOINTS = (("试驾", 14), ("购车", 10), ("交车", 12), ("保养", 25), ("维修", 14), ("APP", 12), ("售后回访", 13))
VISIT_TYPES = (("试驾", 15), ("交车", 8), ("保养", 35), ("维修", 25), ("看车", 17))
ID_PREFIX = {"call_center": "CL", "private_domain": "MSG", "public_opinion": "PO", "survey": "RSP", "store": "VS"}
FILE_NAME = {"call_center": "calls_{}.csv", "private_domain": "messages_{}.jsonl", "public_opinion": "posts_{}.jsonl"}
TRUTH_HEADERS = {
    "utterances.csv": ("source", "record_id", "customer_id", "occurred_at", "text"),
    "utterance_labels.csv": ("source", "record_id", "topic_l1", "topic_l2", "sentiment", "severity", "suggestion"),
    "bad_records.csv": ("source", "file", "line", "record_id", "kind"),
    "identity_links.csv": ("platform", "handle", "customer_id", "clues"),
    "identity_decoys.csv": ("platform", "handle", "looks_like_customer_id", "why"),
    "breakpoints.csv": ("customer_id", "kind", "first_source", "first_record_id", "second_source",
                        "second_record_id", "day"),
    "root_causes.csv": ("cause_id", "kind", "scope", "start_day", "effect", "description"),
    "spikes.csv": ("topic_l2", "start_day", "end_day", "factor"),
    "escalations.csv": ("customer_id", "private_record_ids", "public_record_id", "day"),
    "channel_leanings.csv": ("channel", "descriptor", "share"),
    "topics.csv": ("topic_l1", "topic_l2", "description", "example"),
}


def _cum(weights):
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out


class Record:
    """One landing record before serialisation, and its truth (None if it is no utterance)."""

    __slots__ = ("record_id", "payload", "truth")

    def __init__(self, record_id, payload, truth):
        self.record_id, self.payload, self.truth = record_id, payload, truth


class WorldGenerator:
    """Holds the streams, the open files and the small cross-day state of one world."""

    def __init__(self, out: Path, world: World, seed: int, plants: bool):
        self.out, self.world, self.seed, self.plants = out, world, seed, plants
        self.truth_dir = truth_dir(out)
        self.bank = load_phrasebank()
        self.rng = random.Random(f"{seed}:utterances")
        self.bad_rng = random.Random(f"{seed}:bad-records")
        self.plant_rng = random.Random(f"{seed}:plants")
        self.ops_rng = random.Random(f"{seed}:ops")
        self.base = Composer(self.bank, world, self.rng)
        self.bad_composer = Composer(self.bank, world, self.bad_rng)
        self.plant_composer = Composer(self.bank, world, self.plant_rng)
        n = len(world.customers)
        self.expected = {s: n * UTTERANCES_PER_CUSTOMER_DAY * share * RECORDS_PER_UTTERANCE.get(s, 1)
                         for s, share in CHANNEL_SHARE.items()}
        self.bad_plan: BadPlan = plan_bad_records(self.expected, world.days, seed)
        self.events: PlantedEvents = plan_events(world, self.bank, self.plant_rng, self.expected) if plants \
            else PlantedEvents.empty()
        self.weekday = {ch: tuple(f * 7 / sum(fs) for f in fs) for ch, fs in WEEKDAY_FACTOR.items()}
        self.hour_cum = {ch: _cum(ws) for ch, ws in HOUR_WEIGHTS.items()}
        self.private_channels = ([c for c, _ in PRIVATE_CHANNELS], [w for _, w in PRIVATE_CHANNELS])
        self.touchpoints = ([t for t, _ in TOUCHPOINTS], [w for _, w in TOUCHPOINTS])
        self.visit_types = ([t for t, _ in VISIT_TYPES], [w for _, w in VISIT_TYPES])
        self.platforms = ([p[0] for p in ref.PLATFORMS], [p[1] for p in ref.PLATFORMS])
        self.platform_domain = {p[0]: p[2] for p in ref.PLATFORMS}
        self.dealer_by_code = {d.code: d for d in world.dealers}
        # cross-day state (small): identity clues, echo candidates, duplicates-across-files pool
        self.last_private: dict[int, tuple[int, str]] = {}
        self.link_clues: dict[tuple[str, str], tuple[str, set]] = {}
        self.bound: set[int] = set()
        self.baseline_posters: set[int] = set()
        self.decoys_posted: dict[tuple[str, str], tuple[str, str]] = {}
        self.previous_lines: dict[str, list[tuple[str, bytes]]] = {s: [] for s in FILE_SOURCES}
        self.carried: dict[str, list[str]] = {s: [] for s in FILE_SOURCES}
        self.leaning_counts: dict[str, dict[str, int]] = {ch: {} for ch in CHANNEL_SHARE}
        self.utterances_per_channel: dict[str, int] = {ch: 0 for ch in CHANNEL_SHARE}
        self.counts: dict[str, int] = {}
        self.building_bad_record = False
        self.bad_rows: list[tuple] = []
        self.survey_line = 0
        self.store_rowid = 0
        self.shipment_no = 0
        self.csv_buffer = io.StringIO()
        self.csv_writer = csv.writer(self.csv_buffer, lineterminator="\r\n")

    # -- helpers -----------------------------------------------------------
    def seconds(self, channel: str, rng: random.Random) -> int:
        cum = self.hour_cum[channel]
        hour = 0
        x = rng.random() * cum[-1]
        while cum[hour] <= x:
            hour += 1
        return hour * 3600 + int(rng.random() * 3600)

    def count_for(self, channel: str, d: int) -> int:
        world = self.world
        mu = self.expected[channel] * self.weekday[channel][world.day(d).weekday()]
        if d >= world.launch_day:
            mu *= 1 + 0.7 * math.exp(-(d - world.launch_day) / 3)
        return max(0, round(self.rng.gauss(mu, math.sqrt(mu) + 0.5)))

    def occurred_day(self, d: int, rng: random.Random) -> int:
        """Some records reach an export 1-3 days late; planted events keep their day so their order holds."""
        if rng is not self.plant_rng and d > 0 and rng.random() < LATE_ARRIVAL_P:
            return max(0, d - rng.randint(1, 3))
        return d

    def vehicle_of(self, c: Customer | None):
        return self.world.vehicles[c.vehicles[0]] if c and c.vehicles else None

    def record_id(self, source: str, d: int, seq: int) -> str:
        return f"{ID_PREFIX[source]}{self.world.day(d):%Y%m%d}{seq:06d}"

    def lean_count(self, channel: str, descriptor: str | None):
        if self.building_bad_record:
            return
        self.utterances_per_channel[channel] += 1
        if descriptor:
            counts = self.leaning_counts[channel]
            counts[descriptor] = counts.get(descriptor, 0) + 1

    # -- record builders (shared by baseline, bad records and plants) -------
    def call_record(self, comp: Composer, d: int, seq: int, c: Customer | None, topics=None, polarity=None,
                    extra="", closer=None) -> Record:
        rng = comp.rng
        vehicle = self.vehicle_of(c)
        topics = topics or comp.draw_topics(comp.topic_count())
        asr, summary, queue, labels, descriptor = comp.call(c, vehicle, topics, polarity, extra=extra)
        if closer:
            asr = asr.rsplit(" 客服：", 1)[0] + " " + closer
        od = self.occurred_day(d, rng)
        secs = self.seconds("call_center", rng)
        phone = c.phone if c else f"1{rng.choice('3578')}{rng.randrange(10 ** 9):09d}"
        ticket = c.tickets[0] if c and c.tickets and queue == "投诉" and rng.random() < 0.5 else ""
        dealer = (vehicle.dealer_code if vehicle else c.dealer_code) if c and rng.random() < 0.6 else ""
        rid = self.record_id("call_center", d, seq)
        ts = iso(self.world.day(od), secs)
        row = [rid, ts[:10] + " " + ts[11:19], phone, vehicle.vin if vehicle and rng.random() < 0.4 else "", ticket,
               queue, f"A{rng.randint(1001, 1400)}", str(60 + len(asr) // 3 + rng.randint(0, 300)), asr, summary, dealer]
        self.lean_count("call_center", descriptor)
        return Record(rid, row, (c.customer_id if c else "", ts, asr, labels))

    def message_record(self, comp: Composer, d: int, seq: int, c: Customer | None, channel=None, topics=None,
                       polarity=None, extra="") -> Record:
        rng = comp.rng
        channel = channel or rng.choices(*self.private_channels)[0]
        vehicle = self.vehicle_of(c)
        pool = "digital" if channel in ("app", "mini_program") and rng.random() < 0.4 else "baseline"
        topics = topics or comp.draw_topics(comp.topic_count(), pool)
        text, labels, descriptor = comp.chat(c, vehicle, topics, polarity, extra=extra)
        od = self.occurred_day(d, rng)
        ts = iso(self.world.day(od), self.seconds("private_domain", rng))
        rid = self.record_id("private_domain", d, seq)
        unionid = c.wechat_unionid if c and channel in ("wecom", "mini_program") else ""
        app_user = c.app_user_id if c and channel == "app" else ""
        customer_id = c.customer_id if c and (not unionid and not app_user or rng.random() < 0.2) else ""
        payload = {"message_id": rid, "channel": channel, "sent_at": ts, "text": text,
                   "wechat_unionid": unionid or None, "app_user_id": app_user or None, "customer_id": customer_id or None,
                   "session_id": f"SS{rng.randrange(10 ** 10):010d}",
                   "dealer_code": c.dealer_code if c and rng.random() < 0.3 else None}
        self.lean_count("private_domain", descriptor)
        if comp is self.base and c and c.handle and labels[0][2] < 0:
            self.last_private[c.index] = (d, labels[0][1])
        return Record(rid, payload, (c.customer_id if c else "", ts, text, labels))

    def post_record(self, comp: Composer, d: int, seq: int, author: tuple, c: Customer | None, topics=None,
                    polarity=None, extra="", ip_city=None, engagement=1.0) -> Record:
        rng = comp.rng
        platform, handle, nickname = author
        vehicle = self.vehicle_of(c)
        text, title, labels, descriptor = comp.post(platform, c, vehicle, topics, polarity, extra)
        od = self.occurred_day(d, rng)
        ts = iso(self.world.day(od), self.seconds("public_opinion", rng))
        rid = self.record_id("public_opinion", d, seq)
        likes = int(rng.paretovariate(1.2) * 3 * engagement) - 3
        payload = {"post_id": rid, "platform": platform, "handle": handle, "published_at": ts, "text": text,
                   "nickname": nickname, "title": title or None, "likes": max(0, likes),
                   "reposts": max(0, likes // rng.randint(3, 20)), "comments": max(0, likes // rng.randint(2, 8)),
                   "ip_city": ip_city, "url": f"https://{self.platform_domain[platform]}/p/{rid.lower()}"}
        self.lean_count("public_opinion", descriptor)
        return Record(rid, payload, (c.customer_id if c else "", ts, text, labels))

    def survey_record(self, comp: Composer, d: int, seq: int, c: Customer) -> Record:
        rng = comp.rng
        touchpoint = rng.choices(*self.touchpoints)[0]
        nps, csat, verbatim, labels, descriptor = comp.survey(c, self.vehicle_of(c), touchpoint)
        secs = self.seconds("survey", rng)
        submitted = iso(self.world.day(d), secs)
        if rng.random() < 0.1:
            up_day = min(self.world.days - 1, d + rng.randint(0, 2))
            updated = iso(self.world.day(up_day), rng.randint(secs if up_day == d else 0, 86399))
        else:
            updated = iso(self.world.day(d), min(86399, secs + rng.randint(0, 600)))
        rid = self.record_id("survey", d, seq)
        payload = {"response_id": rid, "survey_id": f"SV-{touchpoint}-{self.world.day(d):%Y%m}", "customer_id": c.customer_id,
                   "touchpoint": touchpoint, "nps": nps, "csat": csat, "verbatim": verbatim or None,
                   "submitted_at": submitted, "updated_at": updated, "dealer_code": c.dealer_code}
        if verbatim:
            self.lean_count("survey", descriptor)
        return Record(rid, payload, (c.customer_id, submitted, verbatim, labels) if verbatim else None)

    def visit_record(self, comp: Composer, d: int, seq: int, c: Customer | None, visit_type=None, topics=None,
                     polarity=None, extra="", with_note=None) -> Record:
        rng = comp.rng
        visit_type = visit_type or rng.choices(*self.visit_types)[0]
        vehicle = self.vehicle_of(c)
        if c is None and visit_type not in ("看车", "试驾"):
            visit_type = "看车"
        note, rating, labels, descriptor = comp.store_note(c, vehicle, visit_type, topics, polarity, extra)
        if with_note is None:
            with_note = rng.random() < 0.7
        secs = self.seconds("store", rng)
        visited = iso(self.world.day(d), secs)
        updated = iso(self.world.day(d), min(86399, secs + rng.randint(600, 4 * 3600)))
        dealer = (vehicle.dealer_code if vehicle else c.dealer_code) if c else \
            self.world.dealers[rng.randrange(len(self.world.dealers))].code
        rid = self.record_id("store", d, seq)
        phone = c.phone if c else (f"1{rng.choice('3578')}{rng.randrange(10 ** 9):09d}" if rng.random() < 0.6 else None)
        row = [rid, dealer, c.customer_id if c else None, phone,
               vehicle.vin if vehicle and visit_type in ("保养", "维修", "交车") else None, visit_type, visited,
               note if with_note else None, rating, updated]
        if with_note:
            self.lean_count("store", descriptor)
        return Record(rid, row, (c.customer_id if c else "", visited, note, labels) if with_note else None)

    # -- the baseline day ----------------------------------------------------
    def public_author(self, comp: Composer, d: int):
        """Who writes a public post: a stranger, a look-alike decoy or a customer with a public handle."""
        rng, world = comp.rng, self.world
        x = rng.random()
        if x < 0.55 or not world.handle_owners:
            s = world.strangers[int(rng.random() * len(world.strangers))]
            return (s[0], s[1], s[2]), None, "", s[3]
        if x < 0.61 and world.decoys:
            platform, handle, nickname, idx = world.decoys[int(rng.random() * len(world.decoys))]
            look = world.customers[idx]
            vehicle = self.vehicle_of(look)
            tail = f"{(int(look.phone[-4:]) + rng.randint(1, 9000)) % 10000:04d}"
            extra = rng.choice((f"我也是{look.city}的，开{vehicle.model[len(ref.BRAND):]}，手机尾号{tail}",
                                f"{look.city}{look.surname}先生，尾号{tail}，同款车同样的问题"))
            self.decoys_posted[(platform, handle)] = (look.customer_id,
                                                      "same surname and city, different phone tail")
            return (platform, handle, nickname), None, extra, look.city
        c = world.customers[world.handle_owners[bisect(world.handle_cum, rng.random() * world.handle_cum[-1])]]
        if c.created_day > d:
            s = world.strangers[int(rng.random() * len(world.strangers))]
            return (s[0], s[1], s[2]), None, "", s[3]
        return c.handle[:3], c, "", c.city if rng.random() < 0.85 else rng.choice(ref.CITIES)[0]

    def identity_extra(self, comp: Composer, c: Customer, d: int, first: bool) -> tuple[str, set, bool]:
        """Clue sentences a linked customer leaves in a public post; and whether to bind an account."""
        rng = comp.rng
        kinds = c.handle[3]
        vehicle = self.vehicle_of(c)
        parts, clues = [], set()
        if "name_pinyin" in kinds:
            clues.add("name_pinyin")
        for kind in kinds:
            if not (first or rng.random() < 0.6):
                continue
            if kind == "phone_tail":
                parts.append(rng.choice((f"本人手机尾号{c.phone[-4:]}", f"登记电话尾号{c.phone[-4:]}，客服可以查")))
            elif kind == "vin_fragment":
                parts.append(rng.choice((f"车架号后六位{vehicle.vin[-6:]}", f"VIN尾号{vehicle.vin[-8:]}")))
            elif kind == "city_model_dealer":
                dealer = self.dealer_by_code[vehicle.dealer_code].name
                parts.append(rng.choice((f"在{dealer}提的{vehicle.model}", f"{c.city}车主，{vehicle.model}，{dealer}买的",
                                         f"坐标{c.city}，{dealer}，{vehicle.model}")))
            else:
                continue
            clues.add(kind)
        bind = "bound_account" in kinds and c.index not in self.bound
        return "，".join(parts), clues, bind

    def baseline(self, d: int) -> dict[str, list[Record]]:
        """The day's ordinary records of every channel, from the baseline stream."""
        comp, rng, world = self.base, self.rng, self.world
        out: dict[str, list[Record]] = {s: [] for s in CHANNEL_SHARE}
        seq = {s: 0 for s in CHANNEL_SHARE}

        def nxt(source):
            seq[source] += 1
            return seq[source]

        for _ in range(self.count_for("call_center", d)):
            c = world.pick_customer(rng, d) if rng.random() < 0.85 else None
            out["call_center"].append(self.call_record(comp, d, nxt("call_center"), c))
        for _ in range(self.count_for("private_domain", d)):
            c = world.pick_customer(rng, d) if rng.random() < 0.9 else None
            channel = "online_chat" if c is None else None
            out["private_domain"].append(self.message_record(comp, d, nxt("private_domain"), c, channel))
        for _ in range(self.count_for("public_opinion", d)):
            author, c, extra, ip_city = self.public_author(comp, d)
            clues, topics, polarity, bind = set(), None, None, False
            if c is not None:
                first = c.index not in self.baseline_posters
                self.baseline_posters.add(c.index)
                extra, clues, bind = self.identity_extra(comp, c, d, first)
                echo = self.last_private.get(c.index)
                if echo and d - echo[0] <= 7 and rng.random() < 0.5:
                    topics, polarity = [self.bank.by_l2[echo[1]]], "neg"
                    extra = "之前私信和客服都反映过，到现在也没人解决" + ("，" + extra if extra else "")
                    clues.add("echo_post")
                    del self.last_private[c.index]
            rec = self.post_record(comp, d, nxt("public_opinion"), author, c, topics, polarity, extra, ip_city)
            out["public_opinion"].append(rec)
            if c is not None:
                key = (author[0], author[1])
                self.link_clues.setdefault(key, (c.customer_id, set()))[1].update(clues)
                if bind:
                    self.bound.add(c.index)
                    self.link_clues[key][1].add("bound_account")
                    extra = f"我{ref.PLATFORM_NAMES[author[0]]}账号是{author[1]}，帖子里说的就是我这台车"
                    channel = "app" if c.app_user_id else "wecom" if c.wechat_unionid else "online_chat"
                    out["private_domain"].append(self.message_record(comp, d, nxt("private_domain"), c, channel,
                                                                     extra=extra))
        for _ in range(self.count_for("survey", d)):
            out["survey"].append(self.survey_record(comp, d, nxt("survey"), world.pick_customer(rng, d)))
        for _ in range(self.count_for("store", d)):
            c = world.pick_customer(rng, d) if rng.random() < 0.85 else None
            out["store"].append(self.visit_record(comp, d, nxt("store"), c))
        # bad records take the ids right after the baseline, planted records the ones after those
        self.bad_seq = dict(seq)
        self.next_seq = {source: n + self.fresh_bad_count(source, d) for source, n in seq.items()}
        return out

    def fresh_bad_count(self, source: str, d: int) -> int:
        kinds = self.bad_plan.per_day.get((source, d), [])
        n = sum(k not in REUSING_KINDS for k in kinds)
        if source == "public_opinion" and d == self.bad_plan.missing_column_day:
            n += self.bad_plan.supplement_size
        return n

    # -- planted events ------------------------------------------------------
    def planted(self, d: int) -> dict[str, list[Record]]:
        """Records of the planted events due on day d, from the plants' stream."""
        out: dict[str, list[Record]] = {s: [] for s in CHANNEL_SHARE}
        comp, rng, world, ev = self.plant_composer, self.plant_rng, self.world, self.events
        for item in ev.per_day.get(d, []):
            c = world.customers[item.customer] if item.customer is not None else None
            topics = [self.bank.by_l2[t] for t in item.topics]
            if item.kind == "bp_first":
                rec = self.breakpoint_first(comp, d, c, ev.breakpoints[item.event])
                ev.breakpoints[item.event]["first"] = rec.record_id
            elif item.kind == "bp_second":
                bp = ev.breakpoints[item.event]
                rec = self.breakpoint_second(comp, d, c, bp)
                bp["second"] = rec.record_id
            elif item.kind == "esc_public":
                esc = ev.escalations[item.event]
                extra = f"找了客服{item.step}次，工单{c.tickets[0]}到现在还没结果，只能发到网上了"
                kinds_extra, clues, _ = self.identity_extra(comp, c, d, True)
                clues.add("echo_post")
                if kinds_extra:
                    extra += "，" + kinds_extra
                rec = self.post_record(comp, d, self.take_seq("public_opinion"), c.handle[:3], c, topics, "neg",
                                       extra, c.city, engagement=20)
                self.link_clues.setdefault(c.handle[:2], (c.customer_id, set()))[1].update(clues)
                esc["public"] = rec.record_id
            else:
                extra = ""
                if item.kind == "esc_private":
                    extra = "第一次反映这个问题" if item.step == 0 else \
                        rng.choice((f"这是我第{item.step + 1}次反映了，还是没解决", f"上次说会处理，工单{c.tickets[0]}一直没动静"))
                elif item.kind == "software" and rng.random() < 0.4:
                    extra = f"好像是升级到{self.vehicle_of(c).software_version}以后开始的"
                rec = self.planted_complaint(comp, d, item.channel, c, topics, extra)
                if item.kind == "esc_private":
                    ev.escalations[item.event]["private"].append(rec.record_id)
            out[self.source_of(rec)].append(rec)
        return out

    def source_of(self, rec: Record) -> str:
        for source, prefix in ID_PREFIX.items():
            if rec.record_id.startswith(prefix) and rec.record_id[len(prefix)].isdigit():
                return source
        raise ValueError(rec.record_id)

    def take_seq(self, source: str) -> int:
        self.next_seq[source] += 1
        return self.next_seq[source]

    def planted_complaint(self, comp, d, channel, c, topics, extra) -> Record:
        if channel == "call_center":
            return self.call_record(comp, d, self.take_seq(channel), c, topics, "neg", extra)
        if channel == "private_domain":
            return self.message_record(comp, d, self.take_seq(channel), c, None, topics, "neg", extra)
        if channel == "store":
            return self.visit_record(comp, d, self.take_seq(channel), c, "维修", topics, "neg", extra, with_note=True)
        clues: set = set()
        if c is not None and c.handle:
            author, ip_city = c.handle[:3], c.city
            clue_text, clues, _ = self.identity_extra(comp, c, d, False)
            extra = "，".join(p for p in (extra, clue_text) if p)
        else:
            s = self.world.strangers[comp.rng.randrange(len(self.world.strangers))]
            author, ip_city, c = (s[0], s[1], s[2]), s[3], None
        rec = self.post_record(comp, d, self.take_seq("public_opinion"), author, c, topics, "neg", extra, ip_city)
        if c is not None:
            self.link_clues.setdefault(author[:2], (c.customer_id, set()))[1].update(clues)
        return rec

    def breakpoint_first(self, comp, d, c, bp) -> Record:
        vehicle = self.vehicle_of(c)
        dealer = self.dealer_by_code[vehicle.dealer_code].name
        kind = bp["kind"]
        if kind == "booking_not_visible":
            return self.message_record(comp, d, self.take_seq("private_domain"), c, "app", [self.bank.by_l2["保养"]], "neu",
                                       f"我在APP上预约了{self.world.day(min(self.world.days - 1, d + 2)):%m月%d日}上午十点{dealer}的保养")
        if kind == "quote_not_honoured":
            return self.message_record(comp, d, self.take_seq("private_domain"), c, "online_chat",
                                       [self.bank.by_l2["报价优惠"]], "neu",
                                       f"线上顾问给我报的落地价是{comp.rng.randint(9, 25)}.{comp.rng.randint(0, 9)}万，周末去{dealer}签合同")
        if kind == "return_refused":
            return self.message_record(comp, d, self.take_seq("private_domain"), c, "mini_program",
                                       [self.bank.by_l2["小程序"]], "neg", f"小程序买的脚垫尺寸不对，准备拿到{dealer}退掉")
        closer = "客服：非常抱歉，我这边给您建一个工单，24小时内会有专人给您回电。"
        topic = self.bank.by_l2[comp.rng.choice(("维修质量", "配件等待", "噪音异响", "车机卡顿"))]
        return self.call_record(comp, d, self.take_seq("call_center"), c, [topic], "neg", closer=closer)

    def breakpoint_second(self, comp, d, c, bp) -> Record:
        kind = bp["kind"]
        if kind == "booking_not_visible":
            return self.visit_record(comp, d, self.take_seq("store"), c, "保养", [self.bank.by_l2["预约不同步"]], "neg",
                                     "客户出示了APP预约截图，系统里没有记录，只能重新排队", with_note=True)
        if kind == "quote_not_honoured":
            return self.visit_record(comp, d, self.take_seq("store"), c, "看车", [self.bank.by_l2["线上报价不认"]], "neg",
                                     "客户拿着线上报价截图要求按线上价格签约，销售经理未同意", with_note=True)
        if kind == "return_refused":
            return self.visit_record(comp, d, self.take_seq("store"), c, "看车", [self.bank.by_l2["线上退货被拒"]], "neg",
                                     "门店按规定无法受理线上订单退货，已告知客户联系线上客服", with_note=True)
        topic = [self.bank.by_l2["回电未兑现"]]
        if bp["second_source"] == "public_opinion":
            extra, clues, _ = self.identity_extra(comp, c, d, True)
            rec = self.post_record(comp, d, self.take_seq("public_opinion"), c.handle[:3], c, topic, "neg", extra, c.city,
                                   engagement=5)
            self.link_clues.setdefault(c.handle[:2], (c.customer_id, set()))[1].update(clues)
            return rec
        return self.call_record(comp, d, self.take_seq("call_center"), c, topic, "neg")

    # -- bad records -----------------------------------------------------------
    def fresh_bad(self, source: str, d: int) -> Record:
        """A plausible record from the bad-record stream, about to be corrupted."""
        self.building_bad_record = True
        comp, rng = self.bad_composer, self.bad_rng
        c = self.world.pick_customer(rng, d)
        self.bad_seq[source] += 1
        seq = self.bad_seq[source]
        if source == "call_center":
            rec = self.call_record(comp, d, seq, c)
        elif source == "private_domain":
            rec = self.message_record(comp, d, seq, c)
        elif source == "public_opinion":
            s = self.world.strangers[rng.randrange(len(self.world.strangers))]
            rec = self.post_record(comp, d, seq, (s[0], s[1], s[2]), None, ip_city=s[3])
        elif source == "survey":
            rec = self.survey_record(comp, d, seq, c)
        else:
            rec = self.visit_record(comp, d, seq, c, with_note=True)
        self.building_bad_record = False
        return rec

    def extra_value(self, source: str, record_id: str):
        h = sum(map(ord, record_id))
        if source == "call_center":
            return ref.REGIONS[h % len(ref.REGIONS)]
        if source == "private_domain":
            return round((h % 200) / 100 - 1, 2)
        return "zh-CN"

    def csv_line(self, row) -> str:
        self.csv_buffer.seek(0)
        self.csv_buffer.truncate()
        self.csv_writer.writerow(row)
        return self.csv_buffer.getvalue()

    def serialize(self, source: str, payload, extra_col: bool) -> bytes:
        if source == "call_center":
            row = payload + [self.extra_value(source, payload[0])] if extra_col else payload
            return self.csv_line(row).encode("gb18030")
        if extra_col:
            payload = {**payload, EXTRA_FIELD[source]: self.extra_value(source, payload[next(iter(payload))])}
        return (json.dumps(payload, ensure_ascii=False) + "\n").encode("utf-8")

    def corrupt_csv(self, kind: str, rec: Record, export: date, extra_col: bool, allow_unclosed: bool) -> tuple[bytes, bool]:
        """A bad call-centre line; the flag says it is an unclosed quote that must end the file."""
        rng = self.bad_rng
        row = list(rec.payload) + ([self.extra_value("call_center", rec.record_id)] if extra_col else [])
        if kind == "malformed_csv_line":
            if allow_unclosed and rng.random() < 0.3:
                text = row[8].replace('"', "")
                return (self.csv_line(row[:8]).rstrip("\r\n") + ',"' + text[: len(text) // 2] + "\r\n").encode("gb18030"), True
            extra = f",{rng.choice(('转接', '挂断', '回拨'))},{rng.randint(1, 99)}"
            return (self.csv_line(row).rstrip("\r\n") + extra + "\r\n").encode("gb18030"), False
        if kind == "bad_encoding":
            line = self.csv_line(row)
            cut = line.find(row[8][:6])
            return line[:cut].encode("gb18030") + b"\xff" + line[cut:].encode("utf-8"), False
        if kind == "missing_required_field":
            row[CALL_COLUMNS.index(rng.choice(CALL_REQUIRED))] = ""
        elif kind == "unparseable_timestamp":
            row[1] = rng.choice(BAD_TIMESTAMPS)
        elif kind == "future_timestamp":
            row[1] = f"{future_day(rng, export).isoformat()} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00"
        else:
            raise ValueError(kind)
        return self.csv_line(row).encode("gb18030"), False

    def with_control_chars(self, source: str, payload):
        if source == "call_center":
            row = list(payload)
            row[8] = control_text(self.bad_rng, row[8])
            return row
        return {**payload, "text": control_text(self.bad_rng, payload["text"])}

    # -- writing a day ---------------------------------------------------------
    def write_file_source(self, d: int, source: str, base: list[Record], planted: list[Record]) -> None:
        """One export file with its bad records planted at recorded physical lines."""
        rng, export = self.bad_rng, self.world.day(d)
        name = FILE_NAME[source].format(export.isoformat())
        extra_col = d == self.bad_plan.extra_column_day[source]
        # kinds that reuse a good line wait for a day that has one
        kinds = self.carried[source] + self.bad_plan.per_day.get((source, d), [])
        kinds.sort(key=lambda k: k != "control_characters")
        self.carried[source] = []
        # entry: [payload, kind, record_id, raw bytes, planted]
        entries = [[r.payload, None, r.record_id, None, False] for r in base]
        tail = []
        for kind in kinds:
            if kind == "control_characters":
                goods = [e for e in entries if e[1] is None]
                if goods:
                    e = goods[rng.randrange(len(goods))]
                    e[0], e[1] = self.with_control_chars(source, e[0]), kind
                else:
                    self.carried[source].append(kind)
            elif kind == "duplicate_within_file":
                goods = [i for i, e in enumerate(entries) if e[1] is None]
                if goods:
                    i = goods[rng.randrange(len(goods))]
                    entries.insert(rng.randint(i + 1, len(entries)), [entries[i][0], kind, entries[i][2], None, False])
                else:
                    self.carried[source].append(kind)
            elif kind == "duplicate_across_files":
                pool = self.previous_lines[source]
                if pool and not extra_col:
                    rid, raw = pool[rng.randrange(len(pool))]
                    entries.insert(rng.randint(0, len(entries)), [None, kind, rid, raw, False])
                else:
                    self.carried[source].append(kind)
            else:
                rec = self.fresh_bad(source, d)
                if source == "call_center":
                    raw, unclosed = self.corrupt_csv(kind, rec, export, extra_col, not tail)
                else:
                    payload = rec.payload
                    if extra_col:
                        payload = {**payload, EXTRA_FIELD[source]: self.extra_value(source, rec.record_id)}
                    raw, unclosed = corrupt_json(rng, kind, payload, JSON_TS[source], JSON_REQUIRED[source], export), False
                entry = [None, kind, rec.record_id, raw, False]
                if unclosed:
                    tail.append(entry)
                else:
                    entries.insert(rng.randint(0, len(entries)), entry)
        entries.extend([r.payload, None, r.record_id, None, True] for r in planted)
        entries.extend(tail)

        offset = 2 if source == "call_center" else 1
        chunks, pool_candidates = [], []
        if source == "call_center":
            header = list(CALL_COLUMNS) + ([EXTRA_FIELD[source]] if extra_col else [])
            chunks.append(self.csv_line(header).encode("gb18030"))
        for idx, (payload, kind, rid, raw, is_planted) in enumerate(entries):
            if raw is None:
                raw = self.serialize(source, payload, extra_col)
                if kind is None and not is_planted:
                    pool_candidates.append((rid, raw))
            chunks.append(raw)
            if kind:
                self.bad_rows.append((source, name, idx + offset, rid, kind))
        if extra_col:
            self.bad_rows.append((source, name, 1, "", "extra_column"))
        elif pool_candidates:
            self.previous_lines[source] = rng.sample(pool_candidates, min(5, len(pool_candidates)))
        (self.out / source / name).write_bytes(b"".join(chunks))
        self.counts[f"{source}/{name}"] = len(entries)
        if source == "public_opinion" and d == self.bad_plan.missing_column_day:
            self.write_supplement(d)

    def write_supplement(self, d: int) -> None:
        """A small supplementary export whose records all lack the required `handle` key."""
        name = f"posts_{self.world.day(d).isoformat()}_supplement.jsonl"
        lines = []
        for i in range(self.bad_plan.supplement_size):
            rec = self.fresh_bad("public_opinion", d)
            payload = {k: v for k, v in rec.payload.items() if k != "handle"}
            lines.append((json.dumps(payload, ensure_ascii=False) + "\n").encode("utf-8"))
            self.bad_rows.append(("public_opinion", name, i + 1, rec.record_id, "missing_required_column"))
        (self.out / "public_opinion" / name).write_bytes(b"".join(lines))
        self.counts[f"public_opinion/{name}"] = len(lines)

    def write_survey(self, d: int, records: list[Record], planted: list[Record], handle) -> None:
        """Append the day's responses; bad ones go among the baseline so both worlds draw alike."""
        rng = self.bad_rng
        entries = [(r.payload, None, r.record_id) for r in records]
        for kind in self.bad_plan.per_day.get(("survey", d), []):
            rec = self.fresh_bad("survey", d)
            payload = dict(rec.payload)
            if kind == "missing_required_field":
                key = rng.choice(("customer_id", "touchpoint"))
                if rng.random() < 0.5:
                    del payload[key]
                else:
                    payload[key] = None
            elif kind == "unparseable_timestamp":
                payload["submitted_at"] = rng.choice(BAD_TIMESTAMPS)
            else:
                payload["submitted_at"] = iso(future_day(rng, self.world.day(d)), rng.randrange(86400))
            entries.insert(rng.randint(0, len(entries)), (payload, kind, rec.record_id))
        entries.extend((r.payload, None, r.record_id) for r in planted)
        for payload, kind, rid in entries:
            self.survey_line += 1
            handle.write((json.dumps(payload, ensure_ascii=False) + "\n").encode("utf-8"))
            if kind:
                self.bad_rows.append(("survey", "/api/v1/responses", self.survey_line, rid, kind))

    def write_store(self, d: int, records: list[Record], planted: list[Record], con: sqlite3.Connection) -> None:
        rng = self.bad_rng
        rows = [(r.payload, None) for r in records]
        for kind in self.bad_plan.per_day.get(("store", d), []):
            row = list(self.fresh_bad("store", d).payload)
            row[6] = None
            rows.insert(rng.randint(0, len(rows)), (row, kind))
        rows.extend((r.payload, None) for r in planted)
        for payload, kind in rows:
            self.store_rowid += 1
            if kind:
                self.bad_rows.append(("store", "store_visits", self.store_rowid, payload[0], kind))
        con.executemany("INSERT INTO store_visits VALUES (?,?,?,?,?,?,?,?,?,?)", [r for r, _ in rows])

    def write_shipments(self, d: int, con: sqlite3.Connection) -> None:
        """Parts shipments; the same draws with or without plants, only the switch changes outcomes."""
        rng, world, ev = self.ops_rng, self.world, self.events
        rows = []
        for _ in range(max(3, round(len(world.dealers) * 0.4))):
            dealer = world.dealers[rng.randrange(len(world.dealers))]
            part = ref.PART_CATEGORIES[rng.randrange(len(ref.PART_CATEGORIES))]
            u_damage, secs, transit = rng.random(), rng.randint(7 * 3600, 19 * 3600), rng.randint(1, 3)
            switched = ev.switch_region == dealer.region and d >= ev.switch_day
            carrier = ref.NEW_CARRIER[0] if switched else world.region_carrier[dealer.region]
            damaged = int(u_damage < (0.15 if switched else 0.02))
            shipped = iso(world.day(d), secs)
            delivered = iso(world.day(d + transit), secs) if d + transit < world.days else None
            self.shipment_no += 1
            rows.append((f"SH{self.shipment_no:08d}", dealer.code, dealer.region, carrier, part, shipped, delivered,
                         damaged, delivered or shipped))
        con.executemany("INSERT INTO shipments VALUES (?,?,?,?,?,?,?,?,?)", rows)
        self.counts["ops.shipments"] = self.shipment_no

    def write_truth_records(self, source: str, records: list[Record]) -> None:
        for rec in records:
            if rec.truth is None:
                continue
            cid, ts, text, labels = rec.truth
            self.utterance_writer.writerow((source, rec.record_id, cid, ts, text))
            seen = set()
            for label in labels:
                if label[1] not in seen:
                    seen.add(label[1])
                    self.label_writer.writerow((source, rec.record_id) + tuple(label))
            self.n_utterances += 1
            self.n_labels += len(seen)

    # -- the whole world -------------------------------------------------------
    def run(self, progress: bool) -> dict:
        out, world = self.out, self.world
        truth = self.truth_dir
        utt_file = open(truth / "utterances.csv", "w", encoding="utf-8", newline="")
        label_file = open(truth / "utterance_labels.csv", "w", encoding="utf-8", newline="")
        self.utterance_writer, self.label_writer = csv.writer(utt_file), csv.writer(label_file)
        self.utterance_writer.writerow(TRUTH_HEADERS["utterances.csv"])
        self.label_writer.writerow(TRUTH_HEADERS["utterance_labels.csv"])
        self.n_utterances = self.n_labels = 0
        survey_handle = open(out / "survey" / "responses.jsonl", "wb")
        dms = sqlite3.connect(out / "store" / "dms.sqlite")
        ops = sqlite3.connect(out / "ops" / "ops.sqlite")
        try:
            for d in tqdm(range(world.days), desc="generating days", unit="day", disable=not progress):
                base = self.baseline(d)
                planted = self.planted(d) if self.plants else {s: [] for s in CHANNEL_SHARE}
                for source in FILE_SOURCES:
                    self.write_file_source(d, source, base[source], planted[source])
                self.write_survey(d, base["survey"], planted["survey"], survey_handle)
                self.write_store(d, base["store"], planted["store"], dms)
                self.write_shipments(d, ops)
                for source in CHANNEL_SHARE:
                    self.write_truth_records(source, base[source])
                    self.write_truth_records(source, planted[source])
                dms.commit()
                ops.commit()
        finally:
            utt_file.close()
            label_file.close()
            survey_handle.close()
            dms.close()
            ops.close()
        self.counts["survey/responses.jsonl"] = self.survey_line
        self.counts["store.store_visits"] = self.store_rowid
        return self.finish()

    def finish(self) -> dict:
        """Write the small truth files and world.json; return the summary."""
        world, ev, truth = self.world, self.events, self.truth_dir
        day_iso = lambda d: world.day(d).isoformat()

        def write(name, rows):
            with open(truth / name, "w", encoding="utf-8", newline="") as f:
                w = csv.writer(f)
                w.writerow(TRUTH_HEADERS[name])
                w.writerows(rows)
            return len(rows)

        truth_counts = {"utterances.csv": self.n_utterances, "utterance_labels.csv": self.n_labels}
        truth_counts["topics.csv"] = write("topics.csv", [(t.l1, t.l2, t.description, t.example) for t in self.bank.topics])
        truth_counts["bad_records.csv"] = write("bad_records.csv", self.bad_rows)
        truth_counts["identity_links.csv"] = write("identity_links.csv", [
            (platform, handle, cid, ";".join(sorted(clues))) for (platform, handle), (cid, clues) in sorted(self.link_clues.items())])
        truth_counts["identity_decoys.csv"] = write("identity_decoys.csv", [
            (platform, handle, cid, why) for (platform, handle), (cid, why) in sorted(self.decoys_posted.items())])
        truth_counts["breakpoints.csv"] = write("breakpoints.csv", [
            (world.customers[b["customer"]].customer_id, b["kind"], b["first_source"], b["first"], b["second_source"],
             b["second"], day_iso(b["day"])) for b in ev.breakpoints if "first" in b and "second" in b])
        truth_counts["root_causes.csv"] = write("root_causes.csv", [
            (cid, kind, scope, day_iso(start), effect, desc) for cid, kind, scope, start, effect, desc in ev.root_causes])
        truth_counts["spikes.csv"] = write("spikes.csv", [
            (l2, day_iso(s), day_iso(e), factor) for l2, s, e, factor in ev.spikes])
        truth_counts["escalations.csv"] = write("escalations.csv", [
            (world.customers[e["customer"]].customer_id, ";".join(e["private"]), e["public"], day_iso(e["day"]))
            for e in ev.escalations if e["public"] and e["private"]])
        leanings = []
        for channel, counts in self.leaning_counts.items():
            total = max(1, self.utterances_per_channel[channel])
            for descriptor in self.bank.style["descriptor_topics"]:
                leanings.append((channel, descriptor, round(counts.get(descriptor, 0) / total, 4)))
        truth_counts["channel_leanings.csv"] = write("channel_leanings.csv", leanings)
        summary = {
            "seed": self.seed, "customers": len(world.customers), "days": world.days,
            "start_date": world.start.isoformat(), "end_date": world.day(world.days - 1).isoformat(),
            "plants": self.plants, "generator_version": GENERATOR_VERSION,
            "utterances": self.n_utterances, "row_counts": dict(sorted(self.counts.items())), "truth": truth_counts,
        }
        # Last, and whole or not at all: its presence tells `voc demo` the world is finished.
        unfinished = truth / f"{WORLD_FILE}.partial"
        unfinished.write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        unfinished.replace(truth / WORLD_FILE)
        return summary


def generate_world(out: Path, customers: int, days: int, seed: int, plants: bool = True,
                   end_date: date = date(2026, 3, 31), progress: bool = True) -> dict:
    """Write the landing zone into `out` and the planted truth into `truth_dir(out)`.

    Same arguments give byte-identical files. Returns a summary with row counts
    per landing file/table and truth file (also written to truth/world.json).
    """
    if customers < 1 or days < 1:
        raise ValueError("customers and days must be at least 1")
    out = Path(out)
    truth = truth_dir(out)
    for sub in FAMILIES:
        shutil.rmtree(out / sub, ignore_errors=True)
        (out / sub).mkdir(parents=True)
    shutil.rmtree(truth, ignore_errors=True)
    truth.mkdir(parents=True)
    world = build_world(customers, days, seed, end_date)
    master_counts = write_master(world, out)
    generator = WorldGenerator(out, world, seed, plants)
    generator.counts.update(master_counts)
    return generator.run(progress)
