"""`voc-dbt`: dbt forked from the run's warm process, or the plain dbt when there is none."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dagster_project.defs.transform.dbt import dbt_project
from dagster_project.lib import warm_dbt
from dagster_project.lib.warm_dbt import SOCKET_VARIABLE, WarmDbt

VOC_DBT = Path(sys.executable).parent / "voc-dbt"


def _voc_dbt(*args: str, socket_path: str | None, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, SOCKET_VARIABLE: socket_path or ""}
    return subprocess.run([str(VOC_DBT), *args], cwd=dbt_project.project_dir, env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def warm(tmp_path_factory):
    warm = WarmDbt(dbt_project.project_dir, tmp_path_factory.mktemp("warm-target"), dbt_project.target)
    yield warm
    warm.stop()


def test_without_a_warm_process_it_is_plain_dbt(tmp_path):
    result = _voc_dbt("--version", socket_path=str(tmp_path / "nobody-listens.sock"))
    assert result.returncode == 0 and "dbt" in result.stdout.lower()


def test_an_invocation_runs_in_a_fork_of_the_warm_process(warm):
    result = _voc_dbt("ls", "--resource-type", "model", "--output", "name", "--quiet", socket_path=warm.socket_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "int_feedback_unified" in result.stdout.split()
    assert "dbt ls: forked pid" in warm.log_path.read_text()


def test_the_exit_code_of_a_failed_invocation_comes_back(warm):
    result = _voc_dbt("build", "--no-such-flag", socket_path=warm.socket_path)
    assert result.returncode == 2
    assert "dbt build: forked pid" in warm.log_path.read_text()  # from the fork, not a fallback plain dbt


def test_a_dbt_whose_client_is_killed_is_stopped(warm, tmp_path):
    """dagster-dbt's interrupt kills `voc-dbt`; the warm process must not leave that dbt running."""
    long_query = "select sum(i * i) from range(50000000000) t(i)"  # minutes of work
    client = subprocess.Popen([str(VOC_DBT), "show", "--inline", long_query], cwd=dbt_project.project_dir,
                              env={**os.environ, SOCKET_VARIABLE: warm.socket_path,
                                   "VOC_WAREHOUSE": str(tmp_path / "scratch.duckdb")},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while "dbt show: forked pid" not in warm.log_path.read_text():
        assert time.monotonic() < deadline, "the warm process never forked dbt show"
        time.sleep(0.05)
    forked = int(warm.log_path.read_text().rsplit("dbt show: forked pid ", 1)[1].split()[0])
    time.sleep(3)  # dbt is inside the query by now
    assert _running(forked)
    client.kill()
    client.wait()
    deadline = time.monotonic() + 10
    while _running(forked):
        assert time.monotonic() < deadline, "the forked dbt outlived its client"
        time.sleep(0.05)


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_stop_ends_the_warm_process(tmp_path):
    warm = WarmDbt(dbt_project.project_dir, tmp_path, dbt_project.target)
    warm.stop()
    assert warm.process.poll() is not None and not Path(warm.socket_path).exists()


def test_a_run_is_warm_for_a_few_days_and_cold_for_a_backfill():
    from dagster_project.defs.transform.dbt import WARM_DBT_MAX_DAYS, warm_for_run
    from dagster_project.lib.partitions import run_window_days

    assert run_window_days({"dagster/partition": "2026-03-31"}) == 1
    week = {"dagster/asset_partition_range_start": "2026-03-25", "dagster/asset_partition_range_end": "2026-03-31"}
    assert run_window_days(week) == WARM_DBT_MAX_DAYS
    backfill = {"dagster/asset_partition_range_start": "2026-01-30", "dagster/asset_partition_range_end": "2026-03-30"}
    assert run_window_days(backfill) == 60
    assert run_window_days({}) is None
    assert warm_for_run({"dagster/partition": "2026-03-31"}) and warm_for_run(week) and warm_for_run({})
    assert not warm_for_run(backfill)


def test_a_warm_process_stopped_while_parsing_leaves_the_shared_artifacts_alone(tmp_path):
    """A run with nothing new stops its warm dbt within seconds, maybe mid-parse: the shared target
    directory (whose manifest.json the next run's definitions read) must not be written by it."""
    target = tmp_path / "target"
    target.mkdir()
    (target / "manifest.json").write_text('{"a shared": "manifest"}')
    for wait in (0.5, 6.0):  # stopped while dbt imports/parses, and after its parse is done
        warm = WarmDbt(dbt_project.project_dir, target, dbt_project.target)
        time.sleep(wait)
        warm.stop()
        assert (target / "manifest.json").read_text() == '{"a shared": "manifest"}'
        assert not warm.directory.exists()


def test_a_dbt_that_ignores_sigterm_is_killed_after_the_grace_period():
    """A forked dbt stuck where SIGTERM does not reach it still goes, so it cannot keep the warehouse's lock."""
    ready, ready_write = os.pipe()
    child = os.fork()
    if child == 0:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        os.write(ready_write, b"r")
        time.sleep(60)
        os._exit(0)
    os.close(ready_write)
    assert os.read(ready, 1) == b"r"  # the child ignores SIGTERM from here on
    os.close(ready)
    status = warm_dbt._stop(child)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    assert not _running(child)


def test_a_full_parse_leaves_its_state_for_the_next_runs_warm_dbt(tmp_path):
    """dbt parses every file again when its profile (which names the warehouse) differs from the shared
    state's; the warm process hands a re-parse's state on, so the next run's parse is partial."""
    target = tmp_path / "target"
    target.mkdir()

    def parsed_files_of_a_warm_start() -> int:
        warm = WarmDbt(dbt_project.project_dir, target, dbt_project.target)
        try:
            assert _voc_dbt("ls", "--quiet", socket_path=warm.socket_path).returncode == 0  # served after its parse
            return json.loads((warm.directory / "parse" / "perf_info.json").read_text())["parsed_path_count"]
        finally:
            warm.stop()

    assert parsed_files_of_a_warm_start() > 0  # no shared state yet: a full parse
    shared = target / warm_dbt.PARSE_STATE
    written = shared.stat().st_mtime_ns
    assert parsed_files_of_a_warm_start() == 0
    assert shared.stat().st_mtime_ns == written  # a partial parse that changed nothing is not copied back
    assert sorted(path.name for path in target.iterdir()) == [warm_dbt.PARSE_STATE, "warm_dbt.log"]  # no temporary left


@pytest.mark.parametrize("dbt_target", [dbt_project.target, None], ids=["named target", "no target"])
def test_the_state_a_plain_dbt_leaves_is_read_by_the_warm_parse(tmp_path, dbt_target):
    """A backfill's build and the definitions' parse run plain dbt with dagster-dbt's `--target` (none when
    the resource names none); the warm parse after them must read their state, not parse every file again."""
    target = tmp_path / "target"
    target_args = ["--target", dbt_target] if dbt_target else []
    plain = _voc_dbt("parse", "--quiet", *target_args, "--target-path", str(target), socket_path=None)
    assert plain.returncode == 0, plain.stdout + plain.stderr
    warm = WarmDbt(dbt_project.project_dir, target, dbt_target)
    try:
        assert _voc_dbt("ls", "--quiet", socket_path=warm.socket_path).returncode == 0  # served after its parse
        assert json.loads((warm.directory / "parse" / "perf_info.json").read_text())["parsed_path_count"] == 0
    finally:
        warm.stop()


@pytest.fixture
def restore_dbt_events():
    from dbt_common.events import functions, logger

    write_line, env_secrets = logger._Logger.write_line, functions.env_secrets
    yield
    logger._Logger.write_line, functions.env_secrets = write_line, env_secrets


def _json_log_of_events(events) -> tuple[list[dict], int]:
    """The lines an info-level JSON logger writes for `events`, and how many lines it rendered."""
    import io

    from dbt_common.events.base_types import EventLevel, msg_from_base_event
    from dbt_common.events.logger import LineFormat, LoggerConfig, _JsonLogger

    stream = io.StringIO()
    json_logger = _JsonLogger(LoggerConfig(name="test_stdout_log", level=EventLevel.INFO, line_format=LineFormat.Json,
                                           output_stream=stream))
    rendered = 0
    create_line = json_logger.create_line

    def counting_create_line(msg):
        nonlocal rendered
        rendered += 1
        return create_line(msg)

    json_logger.create_line = counting_create_line
    for event, level in events:
        json_logger.write_line(msg_from_base_event(event, level=level))
    return [json.loads(line)["info"]["msg"] for line in stream.getvalue().splitlines()], rendered


def test_a_forked_dbt_renders_only_the_log_lines_its_loggers_write(restore_dbt_events):
    from dbt_common.events.base_types import EventLevel
    from dbt_common.events.types import Note

    events = [(Note(msg="a debug line"), EventLevel.DEBUG), (Note(msg="an info line"), EventLevel.INFO),
              (Note(msg="a warning"), EventLevel.WARN), (Note(msg="another debug line"), EventLevel.DEBUG)]
    written_before, rendered_before = _json_log_of_events(events)
    warm_dbt._render_only_written_log_lines()
    written_after, rendered_after = _json_log_of_events(events)
    assert written_after == written_before == ["an info line", "a warning"]
    assert (rendered_before, rendered_after) == (4, 2)


def test_a_forked_dbt_still_scrubs_the_secrets_of_its_environment(restore_dbt_events, monkeypatch):
    from dbt_common.events import functions

    monkeypatch.setenv("DBT_ENV_SECRET_API_TOKEN", "s3cr3t-value")
    warm_dbt._scan_environment_for_secrets_once()
    monkeypatch.delenv("DBT_ENV_SECRET_API_TOKEN")  # scanned once: the fork's environment does not change
    assert functions.env_scrubber("token=s3cr3t-value") == "token=*****"


def test_the_warm_process_compiles_macros_until_an_invocation_waits(tmp_path):
    import socket
    from types import SimpleNamespace

    from dbt_common.clients.jinja import template_cache

    def macro(package: str, name: str):
        return SimpleNamespace(package_name=package, name=name,
                               macro_sql=f"{{% macro {name}_{tmp_path.name}() %}}select 1{{% endmacro %}}")

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(tmp_path / "s.sock"))
    listener.listen(1)
    manifest = SimpleNamespace(metadata=SimpleNamespace(project_name="voc_warehouse"),
                               macros={str(i): macro(package, f"m{i}") for i, package in
                                       enumerate(["dbt", "dbt_duckdb", "voc_warehouse"])})
    sources = [m.macro_sql for m in manifest.macros.values()]
    warm_dbt._compile_macros_until_asked(manifest, listener)
    assert all(source in template_cache.file_cache for source in sources)

    manifest.macros = {"3": macro("voc_warehouse", "m3")}
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.connect(str(tmp_path / "s.sock"))  # an invocation is waiting: nothing more is compiled
    warm_dbt._compile_macros_until_asked(manifest, listener)
    assert manifest.macros["3"].macro_sql not in template_cache.file_cache
    client.close()
    listener.close()


def test_the_warm_process_compiles_the_projects_macros_first_then_the_adapters_then_dbts(tmp_path, monkeypatch):
    """A fork can come before all 539 are compiled: the macros a build calls most come first."""
    import socket
    from types import SimpleNamespace

    from dbt_common.clients.jinja import template_cache

    compiled = []
    monkeypatch.setattr(template_cache, "get_node_template", lambda macro: compiled.append(macro.package_name))
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(tmp_path / "s.sock"))
    listener.listen(1)
    packages = ["dbt", "dbt_duckdb", "voc_warehouse", "dbt", "voc_warehouse", "dbt_duckdb"]
    manifest = SimpleNamespace(metadata=SimpleNamespace(project_name="voc_warehouse"),
                               macros={str(i): SimpleNamespace(package_name=package, name=f"m{i}", macro_sql="")
                                       for i, package in enumerate(packages)})
    warm_dbt._compile_macros_until_asked(manifest, listener)
    listener.close()
    assert compiled == ["voc_warehouse", "voc_warehouse", "dbt_duckdb", "dbt_duckdb", "dbt", "dbt"]
