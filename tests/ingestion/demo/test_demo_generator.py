"""The demo world generator honours docs/landing_zone.md and plants what its truth says."""

from __future__ import annotations

import csv
import hashlib
import json
import sqlite3
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlite_plans import query_plan

from ingestion.demo.generator import CALL_COLUMNS, generate_world

CUSTOMERS, DAYS, SEED = 200, 12, 7
PRIVATE_KEYS = {"message_id", "channel", "sent_at", "text", "wechat_unionid", "app_user_id", "customer_id",
                "session_id", "dealer_code"}
PUBLIC_KEYS = {"post_id", "platform", "handle", "published_at", "text", "nickname", "title", "likes", "reposts",
               "comments", "ip_city", "url"}
SURVEY_KEYS = {"response_id", "survey_id", "customer_id", "touchpoint", "nps", "csat", "verbatim", "submitted_at",
               "updated_at", "dealer_code"}
SQL_TABLES = {
    "crm/crm.sqlite": {
        "customers": ["customer_id", "name", "phone", "id_card", "gender", "birth_year", "city", "province", "tier",
                      "app_user_id", "wechat_unionid", "created_at", "updated_at"],
        "vehicles": ["vin", "customer_id", "model", "trim", "software_version", "plate", "purchase_date",
                     "dealer_code", "updated_at"],
        "service_tickets": ["ticket_id", "customer_id", "vin", "channel", "category", "status", "opened_at",
                            "closed_at", "updated_at"],
        "orders": ["order_id", "customer_id", "dealer_code", "model", "trim", "price", "channel", "status",
                   "ordered_at", "updated_at"],
        "products": ["model", "trim", "powertrain", "msrp", "launched_at", "updated_at"],
    },
    "store/dms.sqlite": {
        "dealers": ["dealer_code", "name", "city", "province", "region", "opened_at", "updated_at"],
        "store_visits": ["visit_id", "dealer_code", "customer_id", "phone", "vin", "visit_type", "visited_at",
                         "advisor_note", "rating", "updated_at"],
    },
    "ops/ops.sqlite": {
        "carriers": ["carrier_code", "name", "updated_at"],
        "shipments": ["shipment_id", "dealer_code", "region", "carrier_code", "part_category", "shipped_at",
                      "delivered_at", "damaged", "updated_at"],
    },
}
ALL_KINDS = {"malformed_csv_line", "invalid_json", "bad_encoding", "missing_required_field", "unparseable_timestamp",
             "future_timestamp", "oversized_text", "duplicate_within_file", "duplicate_across_files",
             "control_characters", "extra_column", "missing_required_column"}
REQUIRED = {"call_center": ("call_id", "started_at", "phone", "asr_text"),
            "private_domain": ("message_id", "channel", "sent_at", "text"),
            "public_opinion": ("post_id", "platform", "handle", "published_at", "text"),
            "survey": ("response_id", "customer_id", "touchpoint", "submitted_at", "updated_at")}
TS_KEY = {"call_center": "started_at", "private_domain": "sent_at", "public_opinion": "published_at",
          "survey": "submitted_at"}


def _world(root: Path, plants: bool = True) -> Path:
    generate_world(root / "landing", CUSTOMERS, DAYS, SEED, plants=plants, progress=False)
    return root


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    return _world(tmp_path_factory.mktemp("planted"))


@pytest.fixture(scope="module")
def control(tmp_path_factory) -> Path:
    return _world(tmp_path_factory.mktemp("control"), plants=False)


def read_truth(root: Path, name: str) -> list[dict]:
    with open(root / "truth" / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def file_hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def physical_lines(path: Path) -> list[bytes]:
    return [line.rstrip(b"\r") for line in path.read_bytes().split(b"\n")[:-1]]


def parses(raw: bytes) -> bool:
    try:
        json.loads(raw.decode("utf-8"))
        return True
    except (UnicodeDecodeError, json.JSONDecodeError):
        return False


def parse_local(value: str) -> datetime:
    return datetime.fromisoformat(value.replace(" ", "T") if "T" not in value else value)


def test_same_seed_gives_byte_identical_files(world, tmp_path):
    again = _world(tmp_path)
    assert file_hashes(again) == file_hashes(world)


def test_landing_layout_columns_and_encodings(world):
    landing = world / "landing"
    start = date(2026, 3, 31) - timedelta(days=DAYS - 1)
    days = [(start + timedelta(days=i)).isoformat() for i in range(DAYS)]
    for day in days:
        assert (landing / "call_center" / f"calls_{day}.csv").exists()
        assert (landing / "private_domain" / f"messages_{day}.jsonl").exists()
        assert (landing / "public_opinion" / f"posts_{day}.jsonl").exists()
    bad_lines = {(r["file"], int(r["line"])) for r in read_truth(world, "bad_records.csv")}
    for path in sorted((landing / "call_center").glob("*.csv")):
        lines = physical_lines(path)
        header = lines[0].decode("gb18030").rstrip("\r").split(",")
        assert header[: len(CALL_COLUMNS)] == list(CALL_COLUMNS)
        for n, raw in enumerate(lines[1:], start=2):
            if (path.name, n) not in bad_lines:
                row = next(csv.reader([raw.decode("gb18030")]))
                assert len(row) == len(header)
    for family, keys in (("private_domain", PRIVATE_KEYS), ("public_opinion", PUBLIC_KEYS)):
        for path in sorted((landing / family).glob("*.jsonl")):
            for n, raw in enumerate(physical_lines(path), start=1):
                if (path.name, n) not in bad_lines:
                    record = json.loads(raw.decode("utf-8"))
                    assert keys <= set(record), (path.name, n)
    for raw in physical_lines(landing / "survey" / "responses.jsonl"):
        assert set(json.loads(raw)) <= SURVEY_KEYS
    for db, tables in SQL_TABLES.items():
        con = sqlite3.connect(landing / db)
        for table, columns in tables.items():
            assert [c[1] for c in con.execute(f"PRAGMA table_info({table})")] == columns
            assert con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] > 0
        con.close()


def test_sql_updated_at_lies_inside_world_or_before_it(world):
    start = (date(2026, 3, 31) - timedelta(days=DAYS - 1)).isoformat()
    con = sqlite3.connect(world / "landing" / "crm" / "crm.sqlite")
    for created, updated in con.execute("SELECT created_at, updated_at FROM customers"):
        assert updated >= created
        assert (created[:10] >= start) == (updated[:10] >= start) or created[:10] < start
        assert updated[:10] <= "2026-03-31"
    con = sqlite3.connect(world / "landing" / "store" / "dms.sqlite")
    for visited, updated in con.execute("SELECT visited_at, updated_at FROM store_visits WHERE visited_at IS NOT NULL"):
        assert start <= visited[:10] <= updated[:10] <= "2026-03-31"


def test_every_sql_table_reads_its_changes_through_an_index(world):
    """Ingestion reads `updated_at > last value` from every SQL table each day: the source has an index for it."""
    for database in ("crm/crm.sqlite", "store/dms.sqlite", "ops/ops.sqlite"):
        con = sqlite3.connect(world / "landing" / database)
        tables = [name for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        assert tables, database
        for table in tables:
            plan = query_plan(con, f"SELECT * FROM {table} WHERE updated_at > ? AND updated_at <= ?", ["2026-03-30", "2026-03-31"])
            assert f"USING INDEX {table}_updated_at" in plan, (database, table, plan)


def is_bad(source: str, kind: str, raw: bytes, earlier: list[bytes], header_width: int, export_day: str) -> bool:
    """Independent check that a physical line really is bad in the way its kind says."""
    if kind == "bad_encoding":
        try:
            raw.decode("gb18030" if source == "call_center" else "utf-8")
            return False
        except UnicodeDecodeError:
            return True
    if kind == "duplicate_within_file":
        return raw in earlier
    text = raw.decode("gb18030" if source == "call_center" else "utf-8")
    if source == "call_center":
        rows = list(csv.reader([text]))
        if kind == "malformed_csv_line":
            return text.count('"') % 2 == 1 or len(rows[0]) != header_width
        record = dict(zip(CALL_COLUMNS, rows[0]))
    else:
        if kind == "invalid_json":
            try:
                json.loads(text)
                return False
            except json.JSONDecodeError:
                return True
        record = json.loads(text)
    if kind == "missing_required_field":
        return any(not record.get(k) for k in REQUIRED[source])
    if kind == "missing_required_column":
        return "handle" not in record
    if kind in ("unparseable_timestamp", "future_timestamp"):
        try:
            ts = parse_local(record[TS_KEY[source]])
        except ValueError:
            return kind == "unparseable_timestamp"
        limit = date.fromisoformat(export_day) + timedelta(days=1)
        return kind == "future_timestamp" and ts.date() > limit
    if kind == "oversized_text":
        return len(record["text"].encode("utf-8")) >= 100 * 1024
    if kind == "control_characters":
        field = record["asr_text"] if source == "call_center" else record["text"]
        return any(ord(ch) < 32 or ord(ch) == 127 for ch in field)
    raise AssertionError(kind)


def test_every_bad_record_points_at_a_bad_line(world):
    landing = world / "landing"
    rows = read_truth(world, "bad_records.csv")
    assert {r["kind"] for r in rows} == ALL_KINDS
    by_source = {r["source"]: set() for r in rows}
    for r in rows:
        by_source[r["source"]].add(r["kind"])
    assert by_source["survey"] == {"missing_required_field", "unparseable_timestamp", "future_timestamp"}
    assert by_source["store"] == {"missing_required_field"}
    for source in ("call_center", "private_domain", "public_opinion"):
        assert {"bad_encoding", "missing_required_field", "duplicate_within_file", "duplicate_across_files",
                "control_characters", "extra_column", "future_timestamp", "unparseable_timestamp"} <= by_source[source]
    survey_lines = physical_lines(landing / "survey" / "responses.jsonl")
    store = sqlite3.connect(landing / "store" / "dms.sqlite")
    for r in rows:
        source, kind, line = r["source"], r["kind"], int(r["line"])
        if source == "survey":
            record = json.loads(survey_lines[line - 1])
            assert record["response_id"] == r["record_id"]
            assert is_bad("survey", kind, survey_lines[line - 1], [], 0, record["updated_at"][:10]), r
            continue
        if source == "store":
            visit_id, visited = store.execute("SELECT visit_id, visited_at FROM store_visits WHERE rowid = ?",
                                              (line,)).fetchone()
            assert visit_id == r["record_id"] and visited is None
            continue
        path = landing / source / r["file"]
        lines = physical_lines(path)
        raw = lines[line - 1]
        if kind == "extra_column":
            assert line == 1
            if source == "call_center":
                assert len(lines[0].split(b",")) == len(CALL_COLUMNS) + 1
            else:
                keys = PRIVATE_KEYS if source == "private_domain" else PUBLIC_KEYS
                assert all(len(set(json.loads(l)) - keys) == 1 for l in lines if parses(l) and keys <= set(json.loads(l)))
            continue
        assert r["record_id"].encode() in raw, r
        export_day = r["file"].split("_")[1][:10]
        width = len(lines[0].split(b","))
        if kind == "duplicate_across_files":
            earlier = [l for p in sorted(path.parent.iterdir()) if p.name < path.name for l in physical_lines(p)]
            assert raw in earlier, r
            continue
        assert is_bad(source, kind, raw, lines[: line - 1], width, export_day), r


def test_bad_records_are_the_same_without_plants(world, control):
    key = lambda rows: sorted((r["source"], r["record_id"], r["kind"]) for r in rows)
    assert key(read_truth(world, "bad_records.csv")) == key(read_truth(control, "bad_records.csv"))


def test_no_plants_world_has_no_planted_events_and_same_master_data(world, control):
    for name in ("breakpoints.csv", "root_causes.csv", "spikes.csv", "escalations.csv"):
        assert read_truth(control, name) == []
        assert read_truth(world, name) != []
    for db, tables in (("crm/crm.sqlite", ("customers", "vehicles", "service_tickets", "orders", "products")),
                       ("store/dms.sqlite", ("dealers",)), ("ops/ops.sqlite", ("carriers",))):
        a, b = sqlite3.connect(world / "landing" / db), sqlite3.connect(control / "landing" / db)
        for table in tables:
            assert a.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall() == \
                b.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall(), table
    control_labels = {r["topic_l2"] for r in read_truth(control, "utterance_labels.csv")}
    assert not control_labels & {"预约不同步", "线上报价不认", "线上退货被拒", "回电未兑现"}


def test_root_causes_show_in_operational_data(world, control):
    causes = {r["kind"]: r for r in read_truth(world, "root_causes.csv")}
    switch = causes["carrier_switch"]
    ops = sqlite3.connect(world / "landing" / "ops" / "ops.sqlite")
    after = ops.execute("SELECT count(DISTINCT carrier_code), avg(damaged) FROM shipments WHERE region = ? "
                        "AND shipped_at >= ?", (switch["scope"], switch["start_day"])).fetchone()
    assert after[0] == 1
    new_carrier = ops.execute("SELECT carrier_code FROM shipments WHERE region = ? AND shipped_at >= ? LIMIT 1",
                              (switch["scope"], switch["start_day"])).fetchone()[0]
    before = ops.execute("SELECT count(*) FROM shipments WHERE carrier_code = ? AND shipped_at < ?",
                         (new_carrier, switch["start_day"])).fetchone()[0]
    assert before == 0
    control_ops = sqlite3.connect(control / "landing" / "ops" / "ops.sqlite")
    assert control_ops.execute("SELECT count(*) FROM shipments WHERE carrier_code = ?", (new_carrier,)).fetchone()[0] == 0
    model, version = causes["software_version"]["scope"].split(" ")
    crm = sqlite3.connect(world / "landing" / "crm" / "crm.sqlite")
    assert crm.execute("SELECT count(*) FROM vehicles WHERE model = ? AND software_version = ?",
                       (model, version)).fetchone()[0] > 0


def test_truth_labels_use_topic_vocabulary_and_records_exist(world):
    topics = {(r["topic_l1"], r["topic_l2"]) for r in read_truth(world, "topics.csv")}
    labels = read_truth(world, "utterance_labels.csv")
    assert {(r["topic_l1"], r["topic_l2"]) for r in labels} <= topics
    assert {r["sentiment"] for r in labels} <= {"-1", "0", "1"}
    assert {r["severity"] for r in labels} <= {"critical", "major", "minor"}
    utterances = read_truth(world, "utterances.csv")
    ids = [(r["source"], r["record_id"]) for r in utterances]
    assert len(ids) == len(set(ids))
    assert {(r["source"], r["record_id"]) for r in labels} == set(ids)
    landing_text = b"".join(p.read_bytes() for p in (world / "landing" / "private_domain").glob("*.jsonl"))
    for r in utterances:
        if r["source"] == "private_domain":
            assert r["record_id"].encode() in landing_text


def test_identity_clues_appear_in_public_text(world):
    landing = world / "landing"
    posts = [json.loads(l) for p in sorted((landing / "public_opinion").glob("posts_*.jsonl"))
             for l in physical_lines(p) if parses(l)]
    texts: dict[tuple, str] = {}
    for p in posts:
        if p.get("handle") and p.get("text") and p.get("platform"):
            texts[(p["platform"], p["handle"])] = texts.get((p["platform"], p["handle"]), "") + p["text"]
    crm = sqlite3.connect(landing / "crm" / "crm.sqlite")
    messages = b"".join(p.read_bytes() for p in (landing / "private_domain").glob("*.jsonl")).decode("utf-8", "replace")
    links = read_truth(world, "identity_links.csv")
    assert links
    for link in links:
        text = texts[(link["platform"], link["handle"])]
        phone, city = crm.execute("SELECT phone, city FROM customers WHERE customer_id = ?",
                                  (link["customer_id"],)).fetchone()
        vins = [v for (v,) in crm.execute("SELECT vin FROM vehicles WHERE customer_id = ?", (link["customer_id"],))]
        for clue in filter(None, link["clues"].split(";")):
            if clue == "phone_tail":
                assert f"尾号{phone[-4:]}" in text
            elif clue == "vin_fragment":
                assert any(v[-6:] in text for v in vins)
            elif clue == "city_model_dealer":
                assert city in text
            elif clue == "bound_account":
                assert link["handle"] in messages
            elif clue == "name_pinyin":
                assert any(ch.isascii() and ch.isalpha() for ch in link["handle"])
    for decoy in read_truth(world, "identity_decoys.csv"):
        assert (decoy["platform"], decoy["handle"]) not in {(l["platform"], l["handle"]) for l in links}


def test_planted_events_point_at_real_records(world):
    utterances = {(r["source"], r["record_id"]): r for r in read_truth(world, "utterances.csv")}
    for bp in read_truth(world, "breakpoints.csv"):
        first = utterances[(bp["first_source"], bp["first_record_id"])]
        second = utterances[(bp["second_source"], bp["second_record_id"])]
        assert first["customer_id"] == second["customer_id"] == bp["customer_id"]
        assert first["occurred_at"] < second["occurred_at"]
    for esc in read_truth(world, "escalations.csv"):
        public = utterances[("public_opinion", esc["public_record_id"])]
        assert public["customer_id"] == esc["customer_id"]
        assert len(esc["private_record_ids"].split(";")) >= 2
    leanings = {(r["channel"], r["descriptor"]): float(r["share"]) for r in read_truth(world, "channel_leanings.csv")}
    assert leanings[("store", "等待")] > leanings[("private_domain", "等待")]
    assert leanings[("private_domain", "方便")] > leanings[("store", "方便")]


@pytest.mark.parametrize(("seed", "breakpoints"), [(1, 4), (7, 0)])
def test_a_world_of_one_customer_generates_and_plants_only_what_it_can(tmp_path, seed, breakpoints):
    """One customer and no vehicle in the carrier-switch region (seed 1), or no vehicle from day one at all
    (seed 7): these raised KeyError / IndexError. The world is written, and its truth names no event it could
    not plant: no carrier switch without an owner in the region, no breakpoint without an owner."""
    summary = generate_world(tmp_path / "landing", customers=1, days=3, seed=seed, progress=False)
    assert summary["customers"] == 1 and (tmp_path / "truth" / "world.json").exists()

    def truth_rows(name: str) -> list[dict]:
        with open(tmp_path / "truth" / name, encoding="utf-8") as handle:
            return list(csv.DictReader(handle))

    assert truth_rows("root_causes.csv") == []
    assert len(truth_rows("breakpoints.csv")) == breakpoints
