"""`voc classify` and `voc eval` as a user runs them, and how `voc refresh` loads its job."""

import gc
import json
import warnings
from pathlib import Path

import pytest

from dagster_project.cli import main


def test_classify_codes_a_csv_and_keeps_the_id(tmp_path, capsys):
    source = tmp_path / "in.csv"
    source.write_text("id,text\nA1,刹车失灵了\nA2,\nA3,hello world\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert main(["classify", "--in", str(source), "--out", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [row["id"] for row in rows] == ["A1", "A2", "A3"]
    assert rows[0]["codes"] and rows[0]["codes"][0]["severity"] == "critical"
    assert rows[1]["uncoded"] and rows[2]["uncoded"]
    assert "coded 3 rows" in capsys.readouterr().out


def test_classify_shows_progress_on_a_long_file_and_not_on_a_short_one(tmp_path, capsys):
    from udfs.codeframe.batch import PROGRESS_MIN_ROWS

    long_file = tmp_path / "long.csv"
    long_file.write_text("id,text\n" + "".join(f"{i},车机卡顿第{i}次\n" for i in range(PROGRESS_MIN_ROWS)), encoding="utf-8")
    assert main(["classify", "--in", str(long_file), "--out", str(tmp_path / "long.jsonl")]) == 0
    bar = capsys.readouterr().err
    assert "coding" in bar and "10.0k/10.0k" in bar
    short_file = tmp_path / "short.csv"
    short_file.write_text("id,text\n1,车机卡顿\n", encoding="utf-8")
    assert main(["classify", "--in", str(short_file), "--out", str(tmp_path / "short.jsonl")]) == 0
    assert "coding" not in capsys.readouterr().err


def test_classify_explains_a_file_without_a_text_column(tmp_path):
    source = tmp_path / "in.csv"
    source.write_text("id,body\n1,x\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="no 'text' column .*--text-column"):
        main(["classify", "--in", str(source), "--out", str(tmp_path / "o.jsonl")])


def test_classify_reads_a_call_centre_export_by_its_own_column_names(tmp_path):
    """The 400 centre's export: GB18030, the text in asr_text, the id in call_id."""
    source = tmp_path / "calls.csv"
    source.write_text("call_id,asr_text\nCL1,刹车失灵了\nCL2,车机老是黑屏\n", encoding="gb18030")
    out = tmp_path / "out.jsonl"
    assert main(["classify", "--in", str(source), "--out", str(out), "--text-column", "asr_text", "--id-column", "call_id"]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [row["id"] for row in rows] == ["CL1", "CL2"] and not any(row["uncoded"] for row in rows)
    with pytest.raises(SystemExit, match="no 'ticket' column for --id-column"):
        main(["classify", "--in", str(source), "--out", str(out), "--text-column", "asr_text", "--id-column", "ticket"])


def test_classify_names_files_it_cannot_read_and_what_to_do(tmp_path):
    """A spreadsheet, an empty file and a binary file each printed pandas' or a codec's words alone."""
    out = str(tmp_path / "out.jsonl")
    spreadsheet = tmp_path / "export.xlsx"
    spreadsheet.write_bytes(b"PK\x03\x04 not text")
    with pytest.raises(SystemExit, match=f"{spreadsheet}: a spreadsheet; save it as CSV"):
        main(["classify", "--in", str(spreadsheet), "--out", out])
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(SystemExit, match=f"{empty}: the file is empty"):
        main(["classify", "--in", str(empty), "--out", out])
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"text\n\xff\xfe\xfd\x80\x81\xc5\x00\x01")
    with pytest.raises(SystemExit, match=f"{binary}: neither UTF-8 nor GB18030 text"):
        main(["classify", "--in", str(binary), "--out", out])


def test_classify_reads_a_json_array_file(tmp_path):
    """A .json export is often one array of objects, not JSON Lines: every line of it was an invalid record."""
    source = tmp_path / "posts.json"
    source.write_text('\ufeff[\n  {"id": "p1", "text": "刹车失灵了"},\n  {"id": "p2", "text": ""}\n]\n', encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert main(["classify", "--in", str(source), "--out", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(row["id"], row["uncoded"]) for row in rows] == [("p1", False), ("p2", True)]
    broken = tmp_path / "broken.json"
    broken.write_text('[\n  {"id": "p1", "text": "x"},\n  {"id": \n]', encoding="utf-8")
    with pytest.raises(SystemExit, match="not valid JSON at line 4, column 1"):
        main(["classify", "--in", str(broken), "--out", str(out)])


def test_classify_names_the_line_of_a_malformed_csv_and_what_to_do(tmp_path):
    source = tmp_path / "export.csv"
    source.write_text("id,text\n1,刹车失灵\n2,车机黑屏,多余,字段\n", encoding="utf-8")
    with pytest.raises(SystemExit, match=r"not a well-formed CSV \(Expected 2 fields in line 3, saw 4\); a text holding a comma"):
        main(["classify", "--in", str(source), "--out", str(tmp_path / "out.jsonl")])


def test_generate_refuses_to_replace_a_landing_zone_unless_told(tmp_path, capsys):
    """`voc generate --out` into a landing zone that holds files wiped them without a word."""
    landing = tmp_path / "world" / "landing"
    assert main(["generate", "--customers", "20", "--days", "1", "--out", str(landing)]) == 0
    kept = {path: path.read_bytes() for path in landing.rglob("*") if path.is_file()}
    with pytest.raises(SystemExit, match=f"{landing} already holds {len(kept)} landing files.*--overwrite"):
        main(["generate", "--customers", "30", "--days", "2", "--out", str(landing)])
    assert {path: path.read_bytes() for path in landing.rglob("*") if path.is_file()} == kept
    assert main(["generate", "--customers", "30", "--days", "2", "--out", str(landing), "--overwrite"]) == 0
    assert len(list((landing / "call_center").iterdir())) == 2


def test_generate_and_eval_explain_bad_arguments_without_a_traceback(tmp_path):
    with pytest.raises(SystemExit, match="voc generate: customers and days must be at least 1"):
        main(["generate", "--days", "0", "--out", str(tmp_path / "landing")])
    with pytest.raises(SystemExit, match=f"voc eval: no planted truth at {tmp_path}"):
        main(["eval", "--truth", str(tmp_path)])
    with pytest.raises(SystemExit, match=f"voc eval: no labelled real texts at {tmp_path}"):
        main(["eval", "--real", str(tmp_path)])


def test_eval_takes_the_world_folder_as_well_as_its_truth_folder(world, capsys):
    assert main(["eval", "--truth", str(world.parent)]) == 0
    assert "critical" in capsys.readouterr().out.lower()


def test_eval_prints_f1_on_a_generated_world(world, capsys):
    assert main(["eval", "--truth", str(world)]) == 0
    printed = capsys.readouterr().out
    assert "F1" in printed and "critical" in printed.lower()


def test_eval_truth_alone_reads_the_configured_world(world, capsys, monkeypatch):
    """`voc eval --truth` without a folder evaluates VOC_TRUTH (the demo world's truth unless set)."""
    monkeypatch.setenv("VOC_TRUTH", str(world))
    assert main(["eval", "--truth"]) == 0
    assert f"planted truth: {world}" in capsys.readouterr().out


def test_the_refresh_job_is_frozen_while_the_run_uses_it_and_the_collector_left_as_it_was():
    """What loading creates lives as long as the run: frozen, full collections during the steps skip it,
    and young objects are collected less often. Thawed and reset afterwards, so what it still references
    (dlt's DuckDB connections) is collected at exit."""
    from dagster_project.cli import YOUNG_GENERATION_OBJECTS, _frozen_refresh_job

    gc.unfreeze()
    thresholds = gc.get_threshold()
    try:
        with _frozen_refresh_job() as job:
            assert job.name == "daily_refresh"
            assert gc.get_freeze_count() > 0 and gc.isenabled()
            assert gc.get_threshold() == (YOUNG_GENERATION_OBJECTS, *thresholds[1:])
        assert gc.get_freeze_count() == 0 and gc.get_threshold() == thresholds
        gc.disable()
        with _frozen_refresh_job():
            assert not gc.isenabled()
    finally:
        gc.enable()
        gc.unfreeze()


def test_loading_the_refresh_job_prints_no_dagster_deprecation_warning():
    """`voc refresh` printed Dagster's "use Definitions.resolve_job_def" UserWarning above every run."""
    from dagster_project.cli import _frozen_refresh_job

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with _frozen_refresh_job():
            pass
    assert not [str(w.message) for w in caught if "daily_refresh" in str(w.message)]


def test_a_refresh_job_that_fails_to_load_leaves_nothing_frozen_and_the_collector_on(monkeypatch):
    import dagster_project.definitions as definitions
    from dagster_project.cli import _frozen_refresh_job

    def broken():
        raise RuntimeError("a definitions module that does not load")

    monkeypatch.setattr(definitions, "build_definitions", broken)
    gc.unfreeze()
    with pytest.raises(RuntimeError, match="does not load"):
        with _frozen_refresh_job():
            pass
    assert gc.get_freeze_count() == 0 and gc.isenabled()


def test_the_demo_prints_a_query_command_that_runs_with_only_this_virtualenv(first_refresh, tmp_path):
    """The summary's hint works on a fresh machine: no DuckDB CLI, no activated virtualenv."""
    import shutil
    import subprocess

    from dagster_project.cli import where_to_look
    from dagster_project.settings import load_settings

    warehouse = tmp_path / "copy.duckdb"  # the session's warehouse stays untouched
    shutil.copy(load_settings().warehouse, warehouse)
    hint = where_to_look(warehouse)
    command = next(line for line in hint.splitlines() if line.strip().startswith("query it:")).split("query it:", 1)[1]
    result = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=120,
                            env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert "feedback_id" in result.stdout
    dagster = hint.split("DAGSTER_HOME=$PWD/dagster_home ", 1)[1].split(" dev -w workspace.yaml", 1)[0]
    assert Path(dagster).is_file(), f"the hint names {dagster}, which does not exist"


def test_a_refresh_refuses_an_invalid_codeframe_with_the_line_at_fault_and_no_traceback(tmp_path, monkeypatch, capsys):
    """An analyst's typo in the YAML surfaced as three chained Dagster tracebacks of the definitions' import."""
    from dagster_project import cli
    from udfs.codeframe.schema import DEFAULT_CODEFRAME_PATH

    def job_loaded():
        raise AssertionError("the job was loaded before the codeframe was checked")

    monkeypatch.setattr(cli, "_frozen_refresh_job", job_loaded)
    broken = tmp_path / "codeframe.yaml"
    text = DEFAULT_CODEFRAME_PATH.read_text(encoding="utf-8")
    line = text[: text.index("need_layer: basic")].count("\n") + 1
    broken.write_text(text.replace("need_layer: basic", "need_layer: basik", 1), encoding="utf-8")
    monkeypatch.setenv("VOC_CODEFRAME", str(broken))
    assert cli.run_refresh("2026-03-01", "2026-03-01") is False
    error = capsys.readouterr().err
    assert f"{broken}:{line}:" in error and "'basik' is not one of basic, performance, attractive" in error
    assert "Traceback" not in error


def test_a_refresh_refuses_a_warehouse_another_process_holds_with_what_to_do(tmp_path, monkeypatch, capsys):
    """One clear message instead of a failed step per writer and a traceback from the summary."""
    import subprocess
    import sys

    import duckdb

    from dagster_project import cli

    def job_loaded():
        raise AssertionError("the job was loaded before the lock was noticed")

    monkeypatch.setattr(cli, "_frozen_refresh_job", job_loaded)

    warehouse = tmp_path / "voc.duckdb"
    duckdb.connect(str(warehouse)).close()
    monkeypatch.setenv("VOC_WAREHOUSE", str(warehouse))
    holder = subprocess.Popen([sys.executable, "-c", f"import duckdb, sys, time; c = duckdb.connect({str(warehouse)!r}); "
                               "print('held', flush=True); time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert cli.run_refresh("2026-03-01", "2026-03-01") is False
    finally:
        holder.kill()
        holder.wait()
    error = capsys.readouterr().err
    assert f"the warehouse {warehouse} is open in another process" in error
    assert f"PID {holder.pid}" in error and "run the refresh again" in error


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2024-01-01", "2024-01-01", "is before the first daily partition"),
        ("2026-03-05", "2026-03-01", "is before --start"),
        ("2099-01-01", "2099-01-01", "is after the last daily partition"),
    ],
)
def test_a_refresh_refuses_days_the_partitions_do_not_hold(start, end, message):
    from datetime import date

    from dagster_project.cli import refresh_window

    with pytest.raises(SystemExit, match=message):
        refresh_window(date.fromisoformat(start), date.fromisoformat(end))


def test_a_failed_refresh_exits_and_leaves_no_survey_server_running(world, tmp_path):
    """A step Dagster fails after the survey step's source ran (here: days outside the partitions, which the
    CLI refuses but run_refresh does not check) must not leave the demo survey server to hang the exit."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "VOC_WAREHOUSE": str(tmp_path / "voc.duckdb")}
    script = "import sys; from dagster_project.cli import run_refresh; sys.exit(0 if run_refresh('2024-01-01', '2024-01-01') else 3)"
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 3, result.stderr[-2000:]
    assert "FAILED step ingest_survey" in result.stdout


def test_eval_says_n_a_for_critical_recall_when_the_world_plants_no_safety_failure(tmp_path, capsys):
    """No gold critical utterance means no recall to report: 0.000 would read as every one missed."""
    truth = tmp_path / "truth"
    truth.mkdir()
    (truth / "utterances.csv").write_text(
        "source,record_id,customer_id,occurred_at,text\n"
        "call_center,CL1,C1,2026-03-31T11:37:08+08:00,车机动不动就黑屏重启\n", encoding="utf-8")
    (truth / "utterance_labels.csv").write_text(
        "source,record_id,topic_l1,topic_l2,sentiment,severity,suggestion\n"
        "call_center,CL1,产品,车机卡顿,-1,major,0\n", encoding="utf-8")
    assert main(["eval", "--truth", str(truth)]) == 0
    assert "recall n/a, precision n/a (gold critical utterances 0, predicted 0)" in capsys.readouterr().out


def test_demo_generates_again_a_world_whose_generation_was_interrupted(tmp_path, monkeypatch, capsys):
    """The generator writes truth/world.json last: without it the world stops in the middle of a day, and the
    demo generates it again instead of refreshing it; landing files it did not write are never generated over."""
    import dagster_project.cli as cli
    import ingestion.demo.generator as generator

    landing = tmp_path / "landing"
    monkeypatch.setenv("VOC_LANDING", str(landing))
    generated, refreshed = [], []
    monkeypatch.setattr(generator, "generate_world", lambda out, **kwargs: generated.append(out))
    monkeypatch.setattr(cli, "refresh_window", lambda start, end: ("2026-03-31", "2026-03-31"))
    monkeypatch.setattr(cli, "run_refresh", lambda first, last: refreshed.append((first, last)) or True)
    monkeypatch.setattr(cli, "where_to_look", lambda warehouse: "")

    assert main(["demo"]) == 0  # nothing there: generated
    assert generated == [landing] and "No demo world at" in capsys.readouterr().out

    (landing / "call_center").mkdir(parents=True)
    (landing / "call_center" / "calls_2026-02-01.csv").write_text("call_id\n", encoding="utf-8")
    (tmp_path / "truth").mkdir()  # the generator made it first, then was stopped
    assert main(["demo"]) == 0
    assert generated == [landing, landing] and "is unfinished" in capsys.readouterr().out

    (tmp_path / "truth" / "world.json").write_text("{}", encoding="utf-8")  # a finished world: refreshed as it is
    assert main(["demo"]) == 0
    assert len(generated) == 2 and len(refreshed) == 3

    (tmp_path / "truth").rename(tmp_path / "elsewhere")  # landing files without the generator's truth
    assert main(["demo"]) == 0
    assert len(generated) == 2 and len(refreshed) == 4
