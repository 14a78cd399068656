"""A warm dbt for the run: dbt imported and the project's manifest loaded once, each invocation forked from it.

A `dbt build` subprocess spends ~3.5 s before its first node (starting Python, importing dbt and
the DuckDB adapter, loading the manifest) whatever the size of the window, and a refresh runs it
twice. The dbt resource starts `serve` in a background process when the run starts, so that work
overlaps ingestion; dagster-dbt then runs `voc-dbt` (`launch`) as its dbt executable, which hands
its arguments, environment, working directory and standard streams to the warm process over a
Unix socket and exits with the code of the forked dbt. dagster-dbt reads dbt's JSON log from
stdout exactly as from a plain dbt process. Without a warm process (outside a run, or if it failed
to start) `voc-dbt` simply becomes the real `dbt`.

The forked dbt uses the manifest parsed when the warm process started: the project's files do not
change within a run, and the partition window reaches dbt through environment variables that
models read at run time, not at parse time.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SOCKET_VARIABLE = "VOC_WARM_DBT_SOCKET"
_LENGTH = struct.Struct("!I")
_STREAMS = (0, 1, 2)
_FORKED = b"F"
_PR_SET_PDEATHSIG = 1
BIND_TIMEOUT_SECONDS = 10
STOP_GRACE_SECONDS = 3
PARSE_STATE = "partial_parse.msgpack"  # dbt's partial-parsing state, in its target directory


def real_dbt() -> str:
    return str(Path(sys.executable).parent / "dbt")


# -- the client: `voc-dbt`, dagster-dbt's dbt executable -------------------------------------------
def launch() -> None:
    """Run `dbt <args>` in the run's warm dbt if there is one, else exec the real dbt."""
    args = sys.argv[1:]
    path = os.environ.get(SOCKET_VARIABLE)
    client = None
    if path:
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            client.connect(path)
        except OSError:
            client.close()
            client = None
    if client is None:
        os.execv(real_dbt(), [real_dbt(), *args])
    request = json.dumps({"argv": args, "cwd": os.getcwd(), "env": dict(os.environ)}).encode()
    socket.send_fds(client, [_LENGTH.pack(len(request)) + request], list(_STREAMS))
    if _receive_exactly(client, len(_FORKED)) != _FORKED:  # the warm process died before it forked dbt
        os.execv(real_dbt(), [real_dbt(), *args])
    for forwarded in (signal.SIGINT, signal.SIGTERM):  # dagster-dbt interrupts dbt with SIGINT
        signal.signal(forwarded, lambda number, _frame: client.sendall(_LENGTH.pack(number)))
    reply = _receive_exactly(client, _LENGTH.size)
    sys.exit(_LENGTH.unpack(reply)[0] if reply else 2)


def _receive_exactly(connection: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = connection.recv(size - len(data))
        if not chunk:
            return b""
        data += chunk
    return data


# -- the server: imports dbt, parses once, forks one dbt per request ------------------------------
def serve(socket_path: str, project_dir: str, target_path: str, target: str = "") -> None:
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C reaches the forked dbt itself
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path)
    listener.listen(8)  # clients that come while dbt is still loading wait in the backlog

    from dbt.cli.main import dbtRunner

    os.chdir(project_dir)
    private_target = _private_parse_target(target_path, Path(socket_path).parent / "parse")
    seeded = _parse_state_stamp(private_target)
    # The --target dagster-dbt gives the invocations (none when its resource names none): dbt hashes the CLI's
    # target name into the partial-parse state, so a state written by a plain `dbt --target duckdb` (a
    # backfill's build, the definitions' parse) read as changed without it, and the first warm parse after
    # one re-parsed every file (~4 s against ~1.3 s).
    target_args = ["--target", target] if target else []
    parsed = dbtRunner().invoke(["parse", "--quiet", "--target-path", private_target, *target_args])
    manifest = parsed.result if parsed.success else None  # without it, each fork parses (partially) itself
    if parsed.success and _parse_state_stamp(private_target) != seeded:
        _share_parse_state(private_target, target_path)
    _render_only_written_log_lines()
    if manifest is not None:
        _compile_macros_until_asked(manifest, listener)
    # What dbt holds now (its modules, the manifest) lives as long as this process: frozen, a forked
    # dbt's full collections skip it (~0.13 s per invocation of a daily refresh) and leave its pages shared.
    gc.freeze()
    while True:
        connection, _ = listener.accept()
        with connection:
            _serve_one(listener, connection, lambda argv: dbtRunner(manifest=manifest).invoke(argv))


def _render_only_written_log_lines() -> None:
    """A forked dbt renders an event for a logger only if the logger's level lets it through.

    dbt renders every event for every logger (protobuf to a dict, JSON, a scan of the environment for
    secrets) and only then lets the logger's level drop the line: a daily build's ~1,300 debug events
    were rendered for stdout, whose level is info, and thrown away. The lines written are the same.
    """
    from dbt_common.events import logger as dbt_logger

    write_line = dbt_logger._Logger.write_line

    def write_line_if_enabled(self, msg) -> None:
        python_logger = self._python_logger
        if python_logger is not None:
            level = "error" if dbt_logger._is_print_event(msg) else msg.info.level
            # dbt's own map from its event levels to Python's (an unknown level is written: dbt raises on it)
            if not python_logger.isEnabledFor(dbt_logger._log_level_map.get(level, logging.ERROR)):
                return
        write_line(self, msg)

    dbt_logger._Logger.write_line = write_line_if_enabled


def _scan_environment_for_secrets_once() -> None:
    """dbt scans the whole environment for DBT_ENV_SECRET_ values on every log line it writes; a forked
    dbt's environment is fixed once it starts, so its loggers scrub with one scan's result."""
    from dbt_common.events import functions
    from dbt_common.exceptions import env_secrets

    secrets = env_secrets()
    functions.env_secrets = lambda: secrets


def _compile_macros_until_asked(manifest, listener: socket.socket) -> None:
    """Compile the project's macros into dbt's template cache, which every fork then inherits.

    A forked dbt compiled each macro it used from source again (~100 in a daily build's staging step,
    0.85 s under the profiler). The warm process compiles all 539 (~1.2 s) while the run ingests, the project's and the adapter's first,
    and stops as soon as an invocation is waiting: a fork never waits for macros it may not need.
    """
    from dbt_common.clients.jinja import template_cache

    order = {manifest.metadata.project_name: 0, "dbt_duckdb": 1}
    for macro in sorted(manifest.macros.values(), key=lambda macro: order.get(macro.package_name, 2)):
        if select.select([listener], [], [], 0)[0]:
            return
        try:
            template_cache.get_node_template(macro)
        except Exception:  # noqa: BLE001 - a macro that fails here fails in the fork, with dbt's message
            continue


def _private_parse_target(target_path: str, private: Path) -> str:
    """Where the warm process parses: its own directory, seeded with the shared partial-parse state.

    A run with nothing new ends seconds after it starts, and its warm process is stopped while it may
    still be writing; in the shared target directory that left a truncated manifest.json that broke the
    next run's definitions. dbt's own artifacts there are written only by the invocations themselves.
    """
    private.mkdir(parents=True, exist_ok=True)
    shared_state = Path(target_path) / PARSE_STATE
    if shared_state.exists():
        shutil.copyfile(shared_state, private / PARSE_STATE)
    return str(private)


def _parse_state_stamp(target_path: str) -> tuple[int, int] | None:
    try:
        state = (Path(target_path) / PARSE_STATE).stat()
    except FileNotFoundError:
        return None
    return state.st_mtime_ns, state.st_size


def _share_parse_state(private_target: str, target_path: str) -> None:
    """Hand a re-parse's state to the next run's warm dbt, atomically.

    dbt re-parses every file (~3.4 s against ~1.2 s) when the rendered profile differs from the one
    the shared state was written with, and the profile names the warehouse file: a shared state
    last written under another warehouse (the test suite's, a benchmark's) made every daily run
    parse in full, and the run's first dbt step waited for it. Written to a temporary name and
    renamed, so a reader never sees half a file.
    """
    shared = Path(target_path) / PARSE_STATE
    partial = shared.with_name(f"{PARSE_STATE}.{os.getpid()}.tmp")
    try:
        shutil.copyfile(Path(private_target) / PARSE_STATE, partial)
        os.replace(partial, shared)
    except OSError as error:  # a read-only project: the next run parses in full, as before
        partial.unlink(missing_ok=True)
        print(f"voc-dbt: the parse state was not shared ({error})", flush=True)


def _serve_one(listener: socket.socket, connection: socket.socket, invoke) -> None:
    message, streams, _flags, _address = socket.recv_fds(connection, 1 << 16, len(_STREAMS))
    length = _LENGTH.unpack(message[: _LENGTH.size])[0]
    body = message[_LENGTH.size:] + _receive_exactly(connection, length + _LENGTH.size - len(message))
    request = json.loads(body)
    child = os.fork()
    if child == 0:
        listener.close()
        connection.close()
        _run_forked_dbt(request, streams, invoke)
    for stream in streams:
        os.close(stream)
    connection.sendall(_FORKED)
    print(f"dbt {' '.join(request['argv'][:1])}: forked pid {child}", flush=True)
    # Relay the client's signals until dbt exits; a client that disappears takes dbt with it.
    while True:
        finished, status = os.waitpid(child, os.WNOHANG)
        if finished:
            connection.sendall(_LENGTH.pack(os.waitstatus_to_exitcode(status) & 0xFF))
            return
        connection.settimeout(0.05)
        try:
            signal_message = _receive_exactly(connection, _LENGTH.size)
        except TimeoutError:
            continue
        if not signal_message:  # the client is gone
            _stop(child)
            return
        os.kill(child, _LENGTH.unpack(signal_message)[0])


def _stop(child: int) -> int:
    """SIGTERM lets dbt cancel its query and close the warehouse; one that has not exited after
    STOP_GRACE_SECONDS (a query that does not notice the interrupt, a loaded machine) is killed, so it
    never outlives its client holding the warehouse's lock. Returns the child's wait status."""
    os.kill(child, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    while time.monotonic() < deadline:
        finished, status = os.waitpid(child, os.WNOHANG)
        if finished:
            return status
        time.sleep(0.02)
    print(f"dbt pid {child} did not stop within {STOP_GRACE_SECONDS} s of SIGTERM: killed", flush=True)
    os.kill(child, signal.SIGKILL)
    return os.waitpid(child, 0)[1]


def _run_forked_dbt(request: dict, streams: list[int], invoke) -> None:
    code = 2
    try:
        _die_with_parent()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for target, source in zip(_STREAMS, streams):
            os.dup2(source, target)
            os.close(source)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        _scan_environment_for_secrets_once()
        result = invoke(request["argv"])
        code = 0 if result.success else (2 if result.exception else 1)
    except BaseException as error:  # noqa: BLE001 - the exit code tells dagster-dbt; the message its log
        print(f"voc-dbt: {error!r}", file=sys.stderr)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _die_with_parent() -> None:
    """A killed refresh must not leave a dbt behind that holds the warehouse's lock."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


class WarmDbt:
    """The background warm-dbt process of one run."""

    def __init__(self, project_dir: Path, target_path: Path, target: str | None):
        self.directory = Path(tempfile.mkdtemp(prefix="voc-dbt-"))
        self.socket_path = str(self.directory / "dbt.sock")
        self.log_path = Path(target_path) / "warm_dbt.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", __name__, self.socket_path, str(project_dir), str(target_path), target or ""],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )
        # The socket exists within ~0.1 s (bound before dbt is imported); clients that come before dbt
        # is loaded wait in its backlog. Without it they would fall back to a cold dbt.
        deadline = time.monotonic() + BIND_TIMEOUT_SECONDS
        while not Path(self.socket_path).exists() and self.process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)

    @staticmethod
    def supported() -> bool:
        """Forking and Unix sockets (Linux, macOS); elsewhere every invocation is a plain dbt."""
        return hasattr(os, "fork") and hasattr(socket, "AF_UNIX") and hasattr(socket, "send_fds")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)  # the socket and the warm process's parse


if __name__ == "__main__":
    serve(*sys.argv[1:5])
