"""The local survey API pages, filters and refuses like the contract says, over a real socket."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from ingestion.demo.survey_api import start_survey_api

KEY = "demo-survey-key"


def write_responses(path: Path, n: int) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):   # written out of updated_at order on purpose
            minute = (i * 7) % n
            f.write(json.dumps({"response_id": f"R{i:04d}", "customer_id": f"C{i:04d}", "touchpoint": "保养",
                                "submitted_at": "2026-03-01T09:00:00+08:00",
                                "updated_at": f"2026-03-01T{10 + minute // 60:02d}:{minute % 60:02d}:00+08:00"},
                               ensure_ascii=False) + "\n")
        f.write(json.dumps({"response_id": "BAD", "touchpoint": "APP", "submitted_at": "N/A",
                            "updated_at": "2026-03-01T09:30:00+08:00"}) + "\n")


def get(url: str, key: str | None = KEY) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"X-API-Key": key} if key else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    path = tmp_path_factory.mktemp("survey") / "responses.jsonl"
    write_responses(path, 250)
    with start_survey_api(path, KEY) as server:
        yield server


def test_pages_cover_every_record_once_in_updated_at_order(api):
    seen, page = [], 1
    while True:
        status, body = get(f"{api.url}/api/v1/responses?page={page}&page_size=60")
        assert status == 200 and body["total"] == 251 and body["total_pages"] == 5 and body["page"] == page
        seen.extend(body["data"])
        if page == body["total_pages"]:
            break
        page += 1
    assert len({r["response_id"] for r in seen}) == 251
    assert [r["updated_at"] for r in seen] == sorted(r["updated_at"] for r in seen)
    assert seen[0]["response_id"] == "BAD"          # malformed records are served as-is
    status, body = get(f"{api.url}/api/v1/responses?page=9&page_size=60")
    assert status == 200 and body["data"] == []


def test_since_is_inclusive_and_until_exclusive(api):
    url = f"{api.url}/api/v1/responses?since=2026-03-01T10:10:00%2B08:00&until=2026-03-01T10:20:00%2B08:00"
    status, body = get(url + "&page_size=1000")
    assert status == 200 and body["total"] == 10
    stamps = sorted(r["updated_at"] for r in body["data"])
    assert stamps[0] == "2026-03-01T10:10:00+08:00" and stamps[-1] == "2026-03-01T10:19:00+08:00"
    status, body = get(f"{api.url}/api/v1/responses?since=2026-03-01T02:10:00Z")  # same instant, other offset
    assert body["total"] == 240


def test_refuses_without_key_and_on_bad_parameters(api):
    assert get(f"{api.url}/api/v1/responses", key=None)[0] == 401
    status, body = get(f"{api.url}/api/v1/responses", key="wrong")
    assert status == 401 and "error" in body
    for query in ("page=0", "page_size=0", "page=x", "since=yesterday", "page_size=100000"):
        status, body = get(f"{api.url}/api/v1/responses?{query}")
        assert status == 400 and "error" in body, query


def test_the_kept_index_serves_a_restart_and_a_changed_file_is_indexed_again(tmp_path, monkeypatch):
    monkeypatch.setattr("ingestion.demo.survey_api.INDEX_DIR", tmp_path / "index")
    path = tmp_path / "responses.jsonl"
    write_responses(path, 30)

    def served_ids() -> list[str]:
        with start_survey_api(path, KEY) as server:
            return [r["response_id"] for r in get(f"{server.url}/api/v1/responses?page_size=100")[1]["data"]]

    first = served_ids()
    assert len(first) == 31 and len(list((tmp_path / "index").glob("*.npz"))) == 1
    with monkeypatch.context() as parsing:          # a restart reads the kept index: it parses nothing
        parsing.setattr("ingestion.demo.survey_api.orjson.loads", lambda _line: pytest.fail("the index was rebuilt"))
        assert served_ids() == first
    with open(path, "a", encoding="utf-8") as f:     # the platform records a new response
        f.write(json.dumps({"response_id": "NEW", "updated_at": "2026-03-01T23:00:00+08:00"}) + "\n")
    assert served_ids() == [*first, "NEW"]
