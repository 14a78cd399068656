"""A tiny landing zone written per docs/landing_zone.md: a few good records and every bad kind.

Used until (and beside) the demo generator; the survey API is served from ``survey_records``.

``build_landing`` returns the quarantine rows a correct ingestion must produce, keyed like
truth/bad_records.csv: (source, file, line, reason).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from ingestion.demo.master import CRM_TABLES, DMS_TABLES, OPS_TABLES

PHONE = "13812345678"
ID_CARD = "11010519491231002X"
BIG_TEXT = "很长的文字" * 7_000  # 105 kB of UTF-8

CALL_HEADER = "call_id,started_at,phone,vin,ticket_id,queue,agent_id,duration_s,asr_text,agent_summary,dealer_code"


def _csv_line(*values: str) -> str:
    return ",".join(values)


def write_call_center(root: Path) -> list[tuple]:
    folder = root / "call_center"
    folder.mkdir(parents=True, exist_ok=True)
    day10 = [
        CALL_HEADER,
        _csv_line("C1", "2026-03-10 09:00:00", PHONE, "LVIN0001", "T1", "投诉", "A1", "120", "车机卡顿，开了OTA也没用", "客户投诉车机", "D001"),
        _csv_line("C2", "2026-03-10 10:00:00", "139-0000-1111", "", "", "咨询", "A2", "60", '"问一下保养\x07价格,多少钱"', "保养咨询", "D002"),
        _csv_line("C1", "2026-03-10 09:30:00", PHONE, "LVIN0001", "T1", "投诉", "A1", "130", "车机卡顿，还是不行", "再次投诉", "D001"),
        _csv_line("C4", "2026-03-10 11:00:00", PHONE, "", "", "咨询", "A1", "10", '"没有结束的引号', "x", "D001"),
        None,  # bad encoding, written as bytes below
        _csv_line("C6", "2026-03-10 12:00:00", "", "", "", "咨询", "A1", "10", "没有电话", "x", "D001"),
        _csv_line("C7", "昨天下午", PHONE, "", "", "咨询", "A1", "10", "时间坏了", "x", "D001"),
        _csv_line("C8", "2026-03-20 12:00:00", PHONE, "", "", "咨询", "A1", "10", "未来的电话", "x", "D001"),
        _csv_line("C9", "2026-03-10 12:00:00", PHONE),
    ]
    lines = [line.encode("gb18030") if line is not None else b"C5,2026-03-10 12:00:00," + PHONE.encode() + b",,,\xff\xfe,A1,10,bad,x,D001" for line in day10]
    (folder / "calls_2026-03-10.csv").write_bytes(b"\r\n".join(lines) + b"\r\n")
    day11 = [
        CALL_HEADER + ",sentiment_tag",
        _csv_line("C3", "2026-03-11 08:00:00", "+86 137 0000 2222", "", "", "救援", "A3", "300", "车子抛锚了需要救援", "救援", "D003", "neg"),
        _csv_line("C2", "2026-03-10 10:00:00", "139-0000-1111", "", "", "咨询", "A2", "60", "问一下保养价格", "保养咨询（更正）", "D002", ""),
    ]
    (folder / "calls_2026-03-11.csv").write_bytes(("\n".join(day11) + "\n").encode("gb18030"))
    return [
        ("call_center", "calls_2026-03-10.csv", 5, "malformed_line"),
        ("call_center", "calls_2026-03-10.csv", 6, "invalid_encoding"),
        ("call_center", "calls_2026-03-10.csv", 7, "missing_required_field"),
        ("call_center", "calls_2026-03-10.csv", 8, "unparseable_timestamp"),
        ("call_center", "calls_2026-03-10.csv", 9, "future_timestamp"),
        ("call_center", "calls_2026-03-10.csv", 10, "malformed_line"),
    ]


def _jsonl(path: Path, rows: list) -> None:
    chunks = []
    for row in rows:
        chunks.append(row if isinstance(row, bytes) else json.dumps(row, ensure_ascii=False).encode("utf-8"))
    path.write_bytes(b"\n".join(chunks) + b"\n")


def write_private_domain(root: Path) -> list[tuple]:
    folder = root / "private_domain"
    folder.mkdir(parents=True, exist_ok=True)
    good = {"message_id": "M1", "channel": "app", "sent_at": "2026-03-10T09:00:00+08:00", "text": "APP预约保养看不到", "app_user_id": "U1"}
    _jsonl(
        folder / "messages_2026-03-10.jsonl",
        [
            good,
            {"message_id": "M2", "channel": "wecom", "sent_at": "2026-03-10T10:00:00+08:00", "text": "交车仪式\u0007很棒\u001b", "wechat_unionid": "W2"},
            b'{"message_id": "M3", "channel": "app", "sent_at": ',
            '{"message_id": "M4", "channel": "app", "sent_at": "2026-03-10T10:00:00+08:00", "text": "坏编码'.encode("utf-8") + b"\xff\xfe\"}",
            {"message_id": "M5", "channel": "app", "sent_at": "2026-03-10T10:00:00+08:00"},
            {"message_id": "M6", "channel": "app", "sent_at": "下午三点", "text": "时间坏了"},
            {"message_id": "M7", "channel": "app", "sent_at": "2026-04-01T10:00:00+08:00", "text": "未来"},
            {"message_id": "M8", "channel": "app", "sent_at": "2026-03-10T11:00:00+08:00", "text": BIG_TEXT},
            {**good, "sent_at": "2026-03-10T09:05:00+08:00", "text": "APP预约保养看不到（重复）"},
        ],
    )
    _jsonl(
        folder / "messages_2026-03-11.jsonl",
        [{"message_id": "M9", "channel": "online_chat", "sent_at": "2026-03-11T09:00:00+08:00", "text": "在线客服回复很快", "customer_id": "CU1"}],
    )
    name = "messages_2026-03-10.jsonl"
    return [
        ("private_domain", name, 3, "invalid_json"),
        ("private_domain", name, 4, "invalid_encoding"),
        ("private_domain", name, 5, "missing_required_field"),
        ("private_domain", name, 6, "unparseable_timestamp"),
        ("private_domain", name, 7, "future_timestamp"),
        ("private_domain", name, 8, "oversized_text"),
    ]


def write_public_opinion(root: Path) -> list[tuple]:
    folder = root / "public_opinion"
    folder.mkdir(parents=True, exist_ok=True)
    post = {"post_id": "P1", "platform": "weibo", "handle": "@车主小王", "published_at": "2026-03-10T20:00:00+08:00", "text": "4S店服务太差了，等了三个小时", "likes": 12}
    _jsonl(folder / "posts_2026-03-10.jsonl", [post, {**post, "post_id": "P2", "platform": "douyin", "likes": "3"}])
    _jsonl(
        folder / "posts_2026-03-10_supplement.jsonl",
        [
            {
                **post,
                "post_id": "P3",
                "published_at": "2026-03-10T21:00:00.250+08:00",
                "text": "补充：\u0007续航虚标",
                "ip_city": "上海",
                "extra_field": {"a": 1},
            }
        ],
    )
    no_handle = {k: v for k, v in post.items() if k != "handle"}
    _jsonl(
        folder / "posts_2026-03-11.jsonl",
        [{**no_handle, "post_id": "P4", "author": "x"}, {**no_handle, "post_id": "P5", "author": "y"}],
    )
    return [
        ("public_opinion", "posts_2026-03-11.jsonl", 1, "missing_required_column"),
        ("public_opinion", "posts_2026-03-11.jsonl", 2, "missing_required_column"),
    ]


def write_store(root: Path) -> list[tuple]:
    """dms.sqlite with two dealers and visits, two of them missing a required field."""
    folder = root / "store"
    folder.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(folder / "dms.sqlite")
    con.executescript(DMS_TABLES)
    con.executemany(
        "INSERT INTO dealers VALUES (?,?,?,?,?,?,?)",
        [
            ("D001", "沪东店", "上海", "上海", "华东", "2019-05-01T09:00:00+08:00", "2019-05-01T09:00:00+08:00"),
            ("D002", "京西店", "北京", "北京", "华北", "2020-06-01T09:00:00+08:00", "2020-06-01T09:00:00+08:00"),
        ],
    )
    con.executemany(
        "INSERT INTO store_visits VALUES (?,?,?,?,?,?,?,?,?,?)",
        [
            ("V1", "D001", "CU1", PHONE, "LVIN0001", "试驾", "2026-03-10T10:00:00+08:00", "客户说等了很久", 3, "2026-03-10T10:00:00+08:00"),
            (None, "D001", "CU2", "13900001111", None, "保养", "2026-03-10T11:00:00+08:00", "无编号", 4, "2026-03-10T11:00:00+08:00"),
            ("V3", "D002", "CU3", None, None, "看车", None, "没有到店时间", 5, "2026-03-10T12:00:00+08:00"),
            ("V4", "D002", "CU1", PHONE, "LVIN0001", "维修", "2026-03-11T09:00:00+08:00", "修好了", 5, "2026-03-11T09:00:00+08:00"),
        ],
    )
    con.commit()
    con.close()
    return [
        ("store", "store_visits", 2, "missing_required_field"),
        ("store", "store_visits", 3, "missing_required_field"),
    ]


def write_crm(root: Path) -> None:
    folder = root / "crm"
    folder.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(folder / "crm.sqlite")
    con.executescript(CRM_TABLES)
    con.executemany(
        "INSERT INTO customers VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [
            ("CU1", "王小明", PHONE, ID_CARD, "男", 1988, "上海", "上海", "金卡", "U1", None, "2023-02-01T10:00:00+08:00", "2023-02-01T10:00:00+08:00"),
            ("CU2", "李娜", "+86 139 0000 1111", None, "女", 1992, "北京", "北京", "普通", None, "W2", "2026-03-10T15:00:00+08:00", "2026-03-10T15:00:00+08:00"),
        ],
    )
    con.execute(
        "INSERT INTO vehicles VALUES (?,?,?,?,?,?,?,?,?)",
        ("LVIN0001", "CU1", "星途X", "旗舰版", "3.2.1", "沪A12345", "2024-05-01", "D001", "2024-05-01T16:00:00+08:00"),
    )
    con.execute(
        "INSERT INTO service_tickets VALUES (?,?,?,?,?,?,?,?,?)",
        ("T1", "CU1", "LVIN0001", "call_center", "质量投诉", "open", "2026-03-10T09:10:00+08:00", None, "2026-03-10T09:10:00+08:00"),
    )
    con.execute(
        "INSERT INTO orders VALUES (?,?,?,?,?,?,?,?,?,?)",
        ("OD1", "CU1", "D001", "星途X", "旗舰版", 239000.0, "online", "delivered", "2024-04-01T10:00:00+08:00", "2024-05-01T16:00:00+08:00"),
    )
    con.execute(
        "INSERT INTO products VALUES (?,?,?,?,?,?)",
        ("星途X", "旗舰版", "PHEV", 24.99, "2023-09-01T00:00:00+08:00", "2023-09-01T00:00:00+08:00"),
    )
    con.commit()
    con.close()


def write_ops(root: Path) -> None:
    folder = root / "ops"
    folder.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(folder / "ops.sqlite")
    con.executescript(OPS_TABLES)
    con.execute("INSERT INTO carriers VALUES ('K1', '顺丰', '2025-01-01T09:00:00+08:00')")
    con.execute(
        "INSERT INTO shipments VALUES (?,?,?,?,?,?,?,?,?)",
        ("SH1", "D001", "华东", "K1", "保险杠", "2026-03-09T09:00:00+08:00", "2026-03-10T15:00:00+08:00", 1, "2026-03-10T15:00:00+08:00"),
    )
    con.commit()
    con.close()


def survey_records() -> tuple[list[dict], set[tuple]]:
    """Responses for the survey API stand-in, and the quarantine keys they must produce."""

    def response(number: int, updated_at: str, **changes) -> dict:
        record = {
            "response_id": f"R{number}",
            "survey_id": "S1",
            "customer_id": f"CU{number}",
            "touchpoint": "交车",
            "nps": 9,
            "csat": 5,
            "verbatim": f"交车仪式很用心，销售顾问电话{PHONE}",
            "submitted_at": updated_at,
            "updated_at": updated_at,
            "dealer_code": "D001",
        }
        record.update(changes)
        return record

    records = [response(n, f"2026-03-10T{8 + n:02d}:00:00+08:00") for n in range(1, 6)]
    records += [
        response(6, "2026-03-10T15:00:00+08:00", customer_id=None),
        response(7, "2026-03-10T16:00:00+08:00", submitted_at="上周五"),
        response(8, "2026-03-10T17:00:00+08:00", submitted_at="2026-06-01T10:00:00+08:00"),
        response(9, "2026-03-11T09:00:00+08:00"),
    ]
    expected = {
        ("survey", "/api/v1/responses", 6, "missing_required_field"),
        ("survey", "/api/v1/responses", 7, "unparseable_timestamp"),
        ("survey", "/api/v1/responses", 8, "future_timestamp"),
    }
    return records, expected


def build_landing(root: Path) -> set[tuple]:
    """Write the fixture landing zone under ``root``; return the expected quarantine keys (files and SQL)."""
    expected = write_call_center(root) + write_private_domain(root) + write_public_opinion(root) + write_store(root)
    write_crm(root)
    write_ops(root)
    return set(expected)
