"""Master data of the demo world: dealers, products, customers, vehicles,
tickets, orders, carriers; and their SQLite tables as the contract defines them.

Drawn from its own random stream, so that it is identical with and without
planted business events.
"""

from __future__ import annotations

import random
import sqlite3
from bisect import bisect
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import accumulate
from pathlib import Path

from ingestion.demo import reference as ref

VIN_VALUES = {**{str(d): d for d in range(10)}, **dict(zip("ABCDEFGH", range(1, 9))),
              **dict(zip("JKLMN", range(1, 6))), "P": 7, "R": 9, **dict(zip("STUVWXYZ", range(2, 10)))}
VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
VIN_ALPHABET = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
PLATE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"


def iso(day: date, seconds: int) -> str:
    """ISO-8601 local time with the +08:00 offset, from a date and seconds after midnight."""
    h, rem = divmod(seconds, 3600)
    return f"{day.isoformat()}T{h:02d}:{rem // 60:02d}:{rem % 60:02d}+08:00"


def vin_with_check_digit(body16: str) -> str:
    """Insert the ISO 3779 check digit at position 9, as real VINs carry it."""
    vin = body16[:8] + "0" + body16[8:]
    total = sum(VIN_VALUES[c] * w for c, w in zip(vin, VIN_WEIGHTS))
    check = "X" if total % 11 == 10 else str(total % 11)
    return vin[:8] + check + vin[9:]


def id_card(area: str, birth: date, seq: int) -> str:
    """18-digit resident ID with a valid ISO 7064 check character."""
    body = f"{area}{birth:%Y%m%d}{seq:03d}"
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, ID_WEIGHTS)) % 11]


@dataclass(slots=True)
class Dealer:
    code: str
    name: str
    city: str
    province: str
    region: str
    opened_at: str


@dataclass(slots=True)
class Vehicle:
    vin: str
    customer: int
    model: str
    trim: str
    software_version: str
    plate: str
    purchase_date: date
    dealer_code: str
    updated_at: str


@dataclass(slots=True)
class Customer:
    index: int
    customer_id: str
    name: str
    surname: str
    surname_py: str
    given_py: str
    phone: str
    id_card: str
    gender: str
    birth_year: int
    city: str
    province: str
    region: str
    tier: str
    app_user_id: str
    wechat_unionid: str
    created_day: int           # world day index; negative = before the world
    created_at: str
    updated_at: str
    dealer_code: str
    vehicles: list[int] = field(default_factory=list)
    tickets: list[str] = field(default_factory=list)
    handle: tuple | None = None          # (platform, handle, nickname, clue kinds)


@dataclass
class World:
    start: date
    days: int
    dealers: list[Dealer]
    dealers_by_city: dict[str, list[int]]
    customers: list[Customer]
    vehicles: list[Vehicle]
    activity_cum: list[float]            # cumulative talkativeness over customers
    handle_owners: list[int]
    handle_cum: list[float]
    decoys: list[tuple]                  # (platform, handle, nickname, looks_like customer index)
    strangers: list[tuple]               # (platform, handle, nickname, city)
    escalation_candidates: list[int]
    launch_day: int
    ota_day: int
    products: list[tuple]
    tickets: list[tuple]
    orders: list[tuple]
    carriers: list[tuple]
    region_carrier: dict[str, str]

    def day(self, index: int) -> date:
        return self.start + timedelta(days=index)

    def pick_customer(self, rng: random.Random, day: int) -> Customer:
        """A talkative-weighted customer who already exists on that day."""
        for _ in range(4):
            c = self.customers[bisect(self.activity_cum, rng.random() * self.activity_cum[-1])]
            if c.created_day <= day:
                return c
        return c


def _weighted(rng: random.Random, items, weights):
    return rng.choices(items, weights)[0]


def build_world(customers: int, days: int, seed: int, end_date: date) -> World:
    """Draw the whole master data set from the seed's master stream."""
    rng = random.Random(f"{seed}:master")
    start = end_date - timedelta(days=days - 1)
    history_start = start - timedelta(days=4 * 365)
    city_weights = [c[5] for c in ref.CITIES]

    n_dealers = max(len(ref.CITIES), min(600, customers // 300))
    dealers, dealers_by_city = [], {}
    for i in range(n_dealers):
        city = ref.CITIES[i] if i < len(ref.CITIES) else _weighted(rng, ref.CITIES, city_weights)
        area = ref.DEALER_AREAS[len(dealers_by_city.get(city[0], [])) % len(ref.DEALER_AREAS)]
        opened = history_start - timedelta(days=rng.randint(0, 2000))
        dealers.append(Dealer(f"DL{i + 1:04d}", f"{city[0]}{area}{ref.BRAND}4S店", city[0], city[1], city[2],
                              iso(opened, 9 * 3600)))
        dealers_by_city.setdefault(city[0], []).append(i)

    launch_day = max(0, int(days * 0.45))
    ota_day = max(0, int(days * 0.25))
    products = []
    for model, trims, powertrain, msrps, _versions in ref.MODELS:
        launched = start + timedelta(days=launch_day) if model == ref.LAUNCH_MODEL else \
            history_start + timedelta(days=rng.randint(0, 900))
        for trim, msrp in zip(trims, msrps):
            products.append((f"{ref.BRAND}{model}", trim, powertrain, msrp, iso(launched, 10 * 3600),
                             iso(launched, 10 * 3600)))
    model_index = {m[0]: m for m in ref.MODELS}

    phones, people, vehicles = set(), [], []
    tiers, tier_w = zip(*ref.TIERS)
    surnames = ref.SURNAMES
    surname_cum = list(accumulate(s[2] for s in surnames))
    for i in range(customers):
        s = surnames[bisect(surname_cum, rng.random() * surname_cum[-1])]
        given = [ref.GIVEN_CHARS[rng.randrange(len(ref.GIVEN_CHARS))] for _ in range(1 if rng.random() < 0.3 else 2)]
        city = _weighted(rng, ref.CITIES, city_weights)
        while True:
            phone = f"1{rng.choice('3456789')}{rng.randrange(10 ** 9):09d}"
            if phone not in phones:
                phones.add(phone)
                break
        birth = date(rng.randint(1965, 2002), rng.randint(1, 12), rng.randint(1, 28))
        gender = "男" if rng.random() < 0.62 else "女"
        created_day = rng.randint(0, days - 1) if rng.random() < 0.06 else -rng.randint(1, 4 * 365)
        created = start + timedelta(days=created_day)
        created_at = iso(created, rng.randint(8 * 3600, 21 * 3600))
        updated_day = rng.randint(created_day, days - 1) if created_day >= 0 else rng.randint(created_day, -1)
        updated_at = iso(start + timedelta(days=updated_day), rng.randint(8 * 3600, 22 * 3600))
        if updated_at < created_at:
            updated_at = created_at
        city_dealers = dealers_by_city.get(city[0]) or [rng.randrange(n_dealers)]
        dealer = dealers[city_dealers[rng.randrange(len(city_dealers))]]
        people.append(Customer(
            i, f"C{i + 1:07d}", s[0] + "".join(g[0] for g in given), s[0], s[1], "".join(g[1] for g in given),
            phone, id_card(city[4], birth, rng.randrange(1000)), gender, birth.year, city[0], city[1], city[2],
            _weighted(rng, tiers, tier_w),
            f"U{rng.randrange(10 ** 9):09d}" if rng.random() < 0.7 else "",
            f"o{''.join(rng.choices('abcdefghijklmnopqrstuvwxyz0123456789_-', k=27))}" if rng.random() < 0.6 else "",
            created_day, created_at, updated_at, dealer.code))
        n_cars = 0 if rng.random() < 0.1 else (2 if rng.random() < 0.08 else 1)
        for _ in range(n_cars):
            model = _weighted(rng, ref.MODELS, ref.MODEL_WEIGHTS)
            if model[0] == ref.LAUNCH_MODEL and created_day < launch_day:
                model = model_index["X6"]
            trim = rng.choice(model[1])
            if created_day >= 0:
                purchase = created
            else:
                purchase = start + timedelta(days=rng.randint(created_day, -1))
            version = model[4][0]
            vehicle_updated = iso(purchase, 15 * 3600)
            if len(model[4]) > 1 and rng.random() < 0.45:
                version = model[4][-1]
                if model[0] == ref.DEFECT_MODEL and created_day < ota_day:
                    vehicle_updated = iso(start + timedelta(days=ota_day), rng.randint(1, 6) * 3600)
            year_code = "NPRSTV"[min(5, max(0, purchase.year - 2022))]
            body = f"LSX{model[0]}{rng.choice(VIN_ALPHABET)}{rng.choice(VIN_ALPHABET)}{rng.choice(VIN_ALPHABET)}" \
                   f"{year_code}A{rng.randrange(10 ** 6):06d}"
            prefix = city[3]
            tail = "".join(rng.choice(PLATE_ALPHABET) for _ in range(4))
            plate = f"{prefix}·{'D' if model[2] == '纯电' else 'F'}{tail}" if model[2] != "燃油" \
                else f"{prefix}·{rng.choice('ABCDEFGHJKLMN')}{tail}"
            if model[2] != "燃油":
                plate += str(rng.randrange(10))
            vehicles.append(Vehicle(vin_with_check_digit(body), i, f"{ref.BRAND}{model[0]}", trim, version, plate,
                                    purchase, dealer.code, vehicle_updated))
            people[-1].vehicles.append(len(vehicles) - 1)

    activity = [rng.paretovariate(1.6) for _ in range(customers)]
    activity_cum = list(accumulate(activity))

    handle_owners = [c.index for c in people if c.vehicles and rng.random() < 0.09]
    platforms = [p[0] for p in ref.PLATFORMS if p[0] != "ecommerce"]
    platform_w = [p[1] for p in ref.PLATFORMS if p[0] != "ecommerce"]
    clue_kinds = ("phone_tail", "vin_fragment", "name_pinyin", "city_model_dealer", "bound_account")
    for idx in handle_owners:
        c = people[idx]
        platform = _weighted(rng, platforms, platform_w)
        clues = tuple(sorted(set(rng.sample(clue_kinds, 2 if rng.random() < 0.35 else 1))))
        if "name_pinyin" in clues:
            handle = rng.choice((f"{c.surname_py}{c.given_py}{c.birth_year % 100:02d}",
                                 f"{c.given_py}_{c.surname_py}", f"{c.surname_py}{c.given_py}_{c.city}"))
            nickname = rng.choice((f"{c.given_py.capitalize()} {c.surname_py.capitalize()}",
                                   f"{c.surname_py}{c.given_py}", f"{c.surname_py.upper()}{c.given_py[:1].upper()}"))
        else:
            handle = f"{platform[:2]}_{rng.randrange(10 ** 9):09d}"
            nickname = rng.choice(ref.NICK_HEADS) + rng.choice(ref.NICK_TAILS) + str(rng.randrange(100))
        c.handle = (platform, handle, nickname, clues)
    handle_cum = list(accumulate(activity[i] for i in handle_owners)) or [0.0]

    decoys = []
    for idx in rng.sample(handle_owners, min(len(handle_owners), max(2, len(handle_owners) // 8))):
        c = people[idx]
        platform = _weighted(rng, platforms, platform_w)
        handle = rng.choice((f"{c.surname_py}_{c.city}_{rng.randrange(100)}", f"{c.surname_py}{rng.choice('xyzq')}{rng.randrange(1000)}"))
        nickname = rng.choice((f"{c.city}老{c.surname}", f"{c.surname}先生在{c.city}", f"{c.city}{c.surname}姐"))
        decoys.append((platform, handle, nickname, idx))

    strangers = []
    for _ in range(max(60, customers // 2)):
        platform = _weighted(rng, [p[0] for p in ref.PLATFORMS], [p[1] for p in ref.PLATFORMS])
        city = _weighted(rng, ref.CITIES, city_weights)[0]
        strangers.append((platform, f"{platform[:2]}_{rng.randrange(10 ** 9):09d}",
                          rng.choice(ref.NICK_HEADS) + rng.choice(ref.NICK_TAILS), city))

    escalation_pool = [i for i in handle_owners if people[i].created_day < 0]
    escalation_candidates = rng.sample(escalation_pool, min(len(escalation_pool), max(2, customers // 1000)))

    tickets, ticket_no = [], 0
    categories = ("质量投诉", "服务投诉", "咨询", "救援", "维修", "保养预约")
    for c in people:
        n = 1 if rng.random() < 0.15 else 0
        if c.index in escalation_candidates:
            n = 1
        for _ in range(n):
            ticket_no += 1
            tid = f"TK{ticket_no:08d}"
            vin = vehicles[c.vehicles[0]].vin if c.vehicles else ""
            escalated = c.index in escalation_candidates
            if escalated or c.created_day >= 0 or rng.random() < 0.3:
                opened_day = rng.randint(max(c.created_day, 0), max(c.created_day, 0, days // 3)) if escalated \
                    else rng.randint(max(c.created_day, 0), days - 1)
                opened_at = iso(start + timedelta(days=opened_day), rng.randint(8 * 3600, 20 * 3600))
                closed = (not escalated) and rng.random() < 0.6 and opened_day < days - 1
                closed_at = iso(start + timedelta(days=rng.randint(opened_day + 1, days - 1)), 17 * 3600) if closed else ""
            else:
                opened_day = rng.randint(max(c.created_day, -700), -1)
                opened_at = iso(start + timedelta(days=opened_day), rng.randint(8 * 3600, 20 * 3600))
                closed_at = iso(start + timedelta(days=min(-1, opened_day + rng.randint(1, 10))), 18 * 3600)
                closed = True
            category = "质量投诉" if escalated else rng.choice(categories)
            tickets.append((tid, c.customer_id, vin, rng.choice(("call_center", "app", "store", "wecom")), category,
                            "closed" if closed else "open", opened_at, closed_at or None, closed_at or opened_at))
            c.tickets.append(tid)

    orders = []
    for n, v in enumerate(vehicles, 1):
        c = people[v.customer]
        ordered = v.purchase_date - timedelta(days=rng.randint(7, 45))
        if c.created_day >= 0:
            ordered = max(ordered, start + timedelta(days=c.created_day))
        msrp = next(p[3] for p in products if p[0] == v.model and p[1] == v.trim)
        price = round(msrp * 10000 - rng.randrange(0, 15) * 1000, 2)
        updated = iso(v.purchase_date, 16 * 3600)
        status = "delivered" if v.purchase_date < start + timedelta(days=days - 3) or rng.random() < 0.5 else "pending"
        orders.append((f"OD{n:08d}", c.customer_id, v.dealer_code, v.model, v.trim, price,
                       "online" if rng.random() < 0.35 else "store", status, iso(ordered, rng.randint(9, 20) * 3600), updated))

    carriers = [(code, name, iso(history_start, 9 * 3600)) for code, name in (*ref.CARRIERS, ref.NEW_CARRIER)]
    region_carrier = {r: ref.CARRIERS[i % len(ref.CARRIERS)][0] for i, r in enumerate(ref.REGIONS)}

    return World(start, days, dealers, dealers_by_city, people, vehicles, activity_cum, handle_owners, handle_cum,
                 decoys, strangers, escalation_candidates, launch_day, ota_day, products, tickets, orders, carriers,
                 region_carrier)


def cursor_indexes(*tables: str) -> str:
    """An index on each table's change timestamp, as a source system has for the incremental reads
    (`updated_at > last value`) that ingestion makes every day: without it each read scans the table."""
    return "".join(f"CREATE INDEX {table}_updated_at ON {table}(updated_at);\n" for table in tables)


# The source systems' tables, as the demo's SQL sources (and the tests' small landing zone) create them.
CRM_TABLES = """
    CREATE TABLE customers(customer_id TEXT PRIMARY KEY, name TEXT, phone TEXT, id_card TEXT, gender TEXT,
        birth_year INTEGER, city TEXT, province TEXT, tier TEXT, app_user_id TEXT, wechat_unionid TEXT,
        created_at TEXT, updated_at TEXT);
    CREATE TABLE vehicles(vin TEXT PRIMARY KEY, customer_id TEXT, model TEXT, trim TEXT, software_version TEXT,
        plate TEXT, purchase_date TEXT, dealer_code TEXT, updated_at TEXT);
    CREATE TABLE service_tickets(ticket_id TEXT PRIMARY KEY, customer_id TEXT, vin TEXT, channel TEXT,
        category TEXT, status TEXT, opened_at TEXT, closed_at TEXT, updated_at TEXT);
    CREATE TABLE orders(order_id TEXT PRIMARY KEY, customer_id TEXT, dealer_code TEXT, model TEXT, trim TEXT,
        price REAL, channel TEXT, status TEXT, ordered_at TEXT, updated_at TEXT);
    CREATE TABLE products(model TEXT, trim TEXT, powertrain TEXT, msrp REAL, launched_at TEXT, updated_at TEXT,
        PRIMARY KEY (model, trim));
""" + cursor_indexes("customers", "vehicles", "service_tickets", "orders", "products")
DMS_TABLES = """
    CREATE TABLE dealers(dealer_code TEXT PRIMARY KEY, name TEXT, city TEXT, province TEXT, region TEXT,
        opened_at TEXT, updated_at TEXT);
    CREATE TABLE store_visits(visit_id TEXT PRIMARY KEY, dealer_code TEXT, customer_id TEXT, phone TEXT, vin TEXT,
        visit_type TEXT, visited_at TEXT, advisor_note TEXT, rating INTEGER, updated_at TEXT);
""" + cursor_indexes("dealers", "store_visits")
OPS_TABLES = """
    CREATE TABLE carriers(carrier_code TEXT PRIMARY KEY, name TEXT, updated_at TEXT);
    CREATE TABLE shipments(shipment_id TEXT PRIMARY KEY, dealer_code TEXT, region TEXT, carrier_code TEXT,
        part_category TEXT, shipped_at TEXT, delivered_at TEXT, damaged INTEGER, updated_at TEXT);
""" + cursor_indexes("carriers", "shipments")


def write_master(world: World, out: Path) -> dict[str, int]:
    """Write crm.sqlite, the dealers of dms.sqlite and the carriers of ops.sqlite."""
    counts = {}
    crm = sqlite3.connect(out / "crm" / "crm.sqlite")
    crm.executescript(CRM_TABLES)
    crm.executemany("INSERT INTO customers VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", (
        (c.customer_id, c.name, c.phone, c.id_card, c.gender, c.birth_year, c.city, c.province, c.tier,
         c.app_user_id or None, c.wechat_unionid or None, c.created_at, c.updated_at) for c in world.customers))
    crm.executemany("INSERT INTO vehicles VALUES (?,?,?,?,?,?,?,?,?)", (
        (v.vin, world.customers[v.customer].customer_id, v.model, v.trim, v.software_version, v.plate,
         v.purchase_date.isoformat(), v.dealer_code, v.updated_at) for v in world.vehicles))
    crm.executemany("INSERT INTO service_tickets VALUES (?,?,?,?,?,?,?,?,?)", world.tickets)
    crm.executemany("INSERT INTO orders VALUES (?,?,?,?,?,?,?,?,?,?)", world.orders)
    crm.executemany("INSERT INTO products VALUES (?,?,?,?,?,?)", world.products)
    crm.commit()
    crm.close()
    counts.update({"crm.customers": len(world.customers), "crm.vehicles": len(world.vehicles),
                   "crm.service_tickets": len(world.tickets), "crm.orders": len(world.orders),
                   "crm.products": len(world.products)})

    dms = sqlite3.connect(out / "store" / "dms.sqlite")
    dms.executescript(DMS_TABLES)
    dms.executemany("INSERT INTO dealers VALUES (?,?,?,?,?,?,?)", (
        (d.code, d.name, d.city, d.province, d.region, d.opened_at, d.opened_at) for d in world.dealers))
    dms.commit()
    dms.close()
    counts["store.dealers"] = len(world.dealers)

    ops = sqlite3.connect(out / "ops" / "ops.sqlite")
    ops.executescript(OPS_TABLES)
    ops.executemany("INSERT INTO carriers VALUES (?,?,?)", world.carriers)
    ops.commit()
    ops.close()
    counts["ops.carriers"] = len(world.carriers)
    return counts
