"""The landing sensor asks once per new or changed export day, never twice for the same files."""

import os

import dagster as dg

from dagster_project.defs.automation.refresh import new_landing_files
from dagster_project.settings import load_settings


def _tick(cursor=None):
    context = dg.build_sensor_context(cursor=cursor)
    requests = list(new_landing_files(context))
    return requests, context.cursor


def test_new_files_request_their_day_once(tmp_path, monkeypatch):
    landing = tmp_path / "landing"
    (landing / "call_center").mkdir(parents=True)
    (landing / "private_domain").mkdir()
    monkeypatch.setenv("VOC_LANDING", str(landing))
    assert load_settings().landing == landing.resolve()

    (landing / "call_center" / "calls_2026-03-01.csv").write_text("call_id\n")
    (landing / "private_domain" / "messages_2026-03-01.jsonl").write_text("{}\n")
    requests, cursor = _tick()
    assert [r.partition_key for r in requests] == ["2026-03-01"]

    requests, cursor = _tick(cursor)
    assert requests == []

    (landing / "call_center" / "calls_2026-03-02.csv").write_text("call_id\n")
    requests, cursor = _tick(cursor)
    assert [r.partition_key for r in requests] == ["2026-03-02"]

    changed = landing / "call_center" / "calls_2026-03-01.csv"
    changed.write_text("call_id\nnew\n")
    os.utime(changed, ns=(1, 10**18))
    requests, cursor = _tick(cursor)
    assert [r.partition_key for r in requests] == ["2026-03-01"]


def test_files_of_the_same_name_in_two_folders_are_told_apart(tmp_path, monkeypatch):
    """A production landing zone may name every family's export alike (export_2026-03-01.jsonl)."""
    landing = tmp_path / "landing"
    monkeypatch.setenv("VOC_LANDING", str(landing))
    for family in ("private_domain", "public_opinion"):
        (landing / family).mkdir(parents=True)
        (landing / family / "export_2026-03-01.jsonl").write_text(f'{{"family": "{family}"}}\n')
    requests, cursor = _tick()
    assert [r.partition_key for r in requests] == ["2026-03-01"]
    requests, cursor = _tick(cursor)
    assert requests == [], "unchanged files asked for a run again"

    changed = landing / "public_opinion" / "export_2026-03-01.jsonl"
    changed.write_text('{"family": "public_opinion", "more": 1}\n')
    os.utime(changed, ns=(1, 10**18))
    requests, cursor = _tick(cursor)
    assert [r.partition_key for r in requests] == ["2026-03-01"]
    assert _tick(cursor)[0] == []


def test_a_cursor_keyed_by_file_name_alone_requests_only_what_changed_since(tmp_path, monkeypatch):
    """The cursor before files were keyed by their folder held name -> fingerprint of name, size and mtime:
    an upgraded sensor asked for a run of every day in the landing zone once."""
    import hashlib
    import json

    landing = tmp_path / "landing"
    (landing / "call_center").mkdir(parents=True)
    monkeypatch.setenv("VOC_LANDING", str(landing))
    files = [landing / "call_center" / f"calls_2026-03-0{day}.csv" for day in (1, 2)]
    for path in files:
        path.write_text("call_id\n")

    def name_keyed(path):
        stat = path.stat()
        return hashlib.sha1(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:16]

    old_cursor = json.dumps({path.name: name_keyed(path) for path in files})
    requests, cursor = _tick(old_cursor)
    assert requests == [], "files the old cursor had seen unchanged were requested again"
    assert sorted(json.loads(cursor)) == ["call_center/calls_2026-03-01.csv", "call_center/calls_2026-03-02.csv"]
    files[1].write_text("call_id\nnew\n")
    os.utime(files[1], ns=(1, 10**18))
    assert [r.partition_key for r in _tick(old_cursor)[0]] == ["2026-03-02"]


def test_consecutive_new_days_are_one_run_over_their_range(tmp_path, monkeypatch):
    """A landing zone of many days (the first tick after `voc demo`, a bulk re-delivery) asks for one run per
    span of consecutive days, as `voc refresh` would run them, not one run per day."""
    landing = tmp_path / "landing"
    (landing / "call_center").mkdir(parents=True)
    monkeypatch.setenv("VOC_LANDING", str(landing))
    for day in ("2026-03-01", "2026-03-02", "2026-03-03", "2026-03-05"):
        (landing / "call_center" / f"calls_{day}.csv").write_text("call_id\n")
    requests, cursor = _tick()
    assert [(r.partition_key, r.tags.get("dagster/asset_partition_range_start"), r.tags.get("dagster/asset_partition_range_end"))
            for r in requests] == [(None, "2026-03-01", "2026-03-03"), ("2026-03-05", None, None)]
    assert _tick(cursor)[0] == []

    (landing / "call_center" / "calls_2026-03-04.csv").write_text("call_id\n")  # the gap filled: a day of its own
    requests, cursor = _tick(cursor)
    assert [r.partition_key for r in requests] == ["2026-03-04"]
