"""Planned business events of a planted world: root causes, spikes, journey
breakpoints and escalations. Planned up front from the plants' own stream;
the generator turns each planned item into records on its day.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from ingestion.demo import reference as ref
from ingestion.demo.master import World
from ingestion.demo.phrasebank import PhraseBank

MEAN_TOPICS_PER_UTTERANCE = 1.6
ESCALATION_TOPICS = ("换挡顿挫", "漏水生锈", "维修质量", "噪音异响", "车机卡顿", "续航充电")
BREAKPOINT_KINDS = ("booking_not_visible", "quote_not_honoured", "return_refused", "callback_missed")


@dataclass
class PlantItem:
    """One planted record: who, which channel, about what, and which event it belongs to."""
    kind: str                 # damage / software / spike / bp_first / bp_second / esc_private / esc_public
    customer: int | None
    channel: str
    topics: tuple[str, ...]
    event: int = -1           # index into breakpoints / escalations
    step: int = 0


@dataclass
class PlantedEvents:
    per_day: dict[int, list[PlantItem]] = field(default_factory=dict)
    root_causes: list[tuple] = field(default_factory=list)
    spikes: list[tuple] = field(default_factory=list)
    breakpoints: list[dict] = field(default_factory=list)
    escalations: list[dict] = field(default_factory=list)
    switch_region: str | None = None
    switch_day: int | None = None

    @classmethod
    def empty(cls) -> "PlantedEvents":
        return cls()

    def add(self, day: int, item: PlantItem) -> None:
        self.per_day.setdefault(day, []).append(item)


def _poisson(rng: random.Random, mu: float) -> int:
    """Knuth's method for small means, a normal approximation above."""
    if mu > 30:
        return max(0, round(rng.gauss(mu, math.sqrt(mu))))
    limit, k, p = math.exp(-mu), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def plan_events(world: World, bank: PhraseBank, rng: random.Random, expected: dict[str, float]) -> PlantedEvents:
    """Choose the planted events and the records that carry them."""
    ev = PlantedEvents()
    days, people = world.days, world.customers
    daily_utterances = sum(expected.values())
    by_region: dict[str, list[int]] = {}
    for c in people:
        if c.vehicles and c.created_day < 0:
            by_region.setdefault(c.region, []).append(c.index)

    # root cause 1: one region's parts switch to a new carrier; damage complaints jump there
    region = max(("西南", "华中", "华北"), key=lambda r: len(by_region.get(r, [])))
    switch_day = max(1, int(days * 0.4)) if days > 2 else 0
    ev.switch_region, ev.switch_day = region, switch_day
    region_owners = by_region.get(region, [])  # none in a world of a handful of customers: nothing to plant
    region_share = len(region_owners) / max(1, len(people))
    base_damage = daily_utterances * bank.baseline_share("运输损坏") * MEAN_TOPICS_PER_UTTERANCE * region_share
    if region_owners:
        ev.root_causes.append(("RC1", "carrier_switch", region, switch_day, "运输损坏",
                               f"从第{switch_day}天起，{region}区域配件改由{ref.NEW_CARRIER[1]}({ref.NEW_CARRIER[0]})承运，"
                               "到店配件破损率和运输损坏投诉明显上升"))
    for d in range(switch_day, days if region_owners else switch_day):
        for _ in range(_poisson(rng, max(1.0, 2.5 * base_damage))):
            cidx = rng.choice(region_owners)
            channel = rng.choices(("store", "call_center", "private_domain", "public_opinion"), (35, 30, 20, 15))[0]
            if channel == "public_opinion" and people[cidx].handle is None:
                channel = "call_center"
            ev.add(d, PlantItem("damage", cidx, channel, ("运输损坏",) if rng.random() < 0.6 else ("运输损坏", "配件等待")))

    # root cause 2: one model's transmission software concentrates 顿挫
    owners = [v.customer for v in world.vehicles if v.model == f"{ref.BRAND}{ref.DEFECT_MODEL}"
              and v.software_version == ref.DEFECT_VERSION and people[v.customer].created_day <= world.ota_day]
    if owners:
        ev.root_causes.append(("RC2", "software_version", f"{ref.BRAND}{ref.DEFECT_MODEL} {ref.DEFECT_VERSION}",
                               world.ota_day, "换挡顿挫",
                               f"第{world.ota_day}天起推送的变速箱软件{ref.DEFECT_VERSION}使{ref.BRAND}{ref.DEFECT_MODEL}"
                               "低速换挡顿挫投诉集中出现"))
        for d in range(world.ota_day, days):
            for _ in range(_poisson(rng, max(1.0, 0.012 * len(owners)))):
                cidx = rng.choice(owners)
                channel = rng.choices(("call_center", "private_domain", "store", "public_opinion"), (35, 25, 20, 20))[0]
                if channel == "public_opinion" and people[cidx].handle is None:
                    channel = "private_domain"
                ev.add(d, PlantItem("software", cidx, channel, ("换挡顿挫",)))

    # spikes: a topic's daily volume multiplied for a few days
    spikes = [("APP闪退", max(0, int(days * 0.6)), 4, 4.0)]
    if days >= 20:
        spikes.append(("车机卡顿", int(days * 0.3), 3, 3.0))
    for l2, start, length, factor in spikes:
        end = min(days - 1, start + length - 1)
        ev.spikes.append((l2, start, end, factor))
        base = daily_utterances * bank.baseline_share(l2) * MEAN_TOPICS_PER_UTTERANCE
        for d in range(start, end + 1):
            for _ in range(_poisson(rng, max(2.0, (factor - 1) * base))):
                channel = rng.choices(("private_domain", "public_opinion", "call_center"), (60, 25, 15))[0]
                cidx = None if channel == "public_opinion" else world.pick_customer(rng, d).index
                ev.add(d, PlantItem("spike", cidx, channel, (l2,)))

    # journey breakpoints at channel hand-offs
    eligible = [c.index for c in people if c.vehicles and c.created_day < 0]
    public_eligible = [h for h in world.handle_owners if people[h].created_day < 0]
    n_breakpoints = max(4, len(people) // 250) if eligible else 0  # none without an owner from day one
    for i in range(n_breakpoints):
        kind = BREAKPOINT_KINDS[i % len(BREAKPOINT_KINDS)]
        cidx = rng.choice(eligible)
        if kind == "callback_missed" and public_eligible and rng.random() < 0.8:
            cidx = rng.choice(public_eligible)
        first_day = rng.randint(0, max(0, days - 4))
        second_day = min(days - 1, first_day + rng.randint(1, 3))
        first_channel = "call_center" if kind == "callback_missed" else "private_domain"
        second_channel = ("public_opinion" if people[cidx].handle else "call_center") if kind == "callback_missed" \
            else "store"
        ev.breakpoints.append({"customer": cidx, "kind": kind, "first_source": first_channel,
                               "second_source": second_channel, "day": second_day})
        ev.add(first_day, PlantItem("bp_first", cidx, first_channel, (), i))
        ev.add(second_day, PlantItem("bp_second", cidx, second_channel, (), i))

    # escalations: repeated unresolved private complaints, then a public post
    for i, cidx in enumerate(world.escalation_candidates):
        topic = rng.choice(ESCALATION_TOPICS)
        d = rng.randint(0, max(0, days - 12))
        steps = rng.randint(2, 4)
        private_days = []
        for _ in range(steps):
            private_days.append(min(days - 1, d))
            d += rng.randint(1, 3)
        public_day = min(days - 1, private_days[-1] + rng.randint(2, 5))
        ev.escalations.append({"customer": cidx, "topic": topic, "private": [], "public": None, "day": public_day})
        for step, pd in enumerate(private_days):
            ev.add(pd, PlantItem("esc_private", cidx, rng.choice(("private_domain", "call_center")), (topic,), i, step))
        ev.add(public_day, PlantItem("esc_public", cidx, "public_opinion", (topic,), i, steps))
    return ev
