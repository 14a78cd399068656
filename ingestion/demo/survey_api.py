"""The local survey platform: a small REST API over survey/responses.jsonl.

It stands in for a vendor's paginated API (API key, `since`/`until` cursor on
`updated_at`, page numbers), so the ingestion can be written against a real
socket. The file is memory-mapped and indexed once by `updated_at` (each record's
byte range in that order); windows are found by binary search, so paging through
200k responses stays cheap. Like a platform's own database index, the index is
kept (in the temp dir, keyed by the file's path, size and mtime): a daily refresh
starts the server in milliseconds instead of parsing every response again.
"""

from __future__ import annotations

import hashlib
import json
import math
import mmap
import os
import tempfile
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
import orjson

ENDPOINT = "/api/v1/responses"
MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100
SHANGHAI = timezone(timedelta(hours=8))


def _instant(value: str) -> datetime:
    """Parse an ISO-8601 timestamp; naive ones are taken as Asia/Shanghai."""
    text = value.strip().replace("Z", "+00:00")
    if "T" in text and " " in text:      # an unencoded "+08:00" arrives as " 08:00"
        text = text.replace(" ", "+")
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=SHANGHAI)


INDEX_DIR = Path(tempfile.gettempdir()) / "voc-survey-api"


class Responses:
    """The response file, memory-mapped, with its records ordered by updated_at (stable for ties)."""

    def __init__(self, path: Path):
        with open(path, "rb") as handle:
            self._map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) if path.stat().st_size else b""
        self.keys, self._starts, self._ends = _index(path, self._map)

    def __len__(self) -> int:
        return len(self.keys)

    def position(self, moment: datetime) -> int:
        """The first record updated at or after `moment`."""
        return int(np.searchsorted(self.keys, moment.timestamp(), side="left"))

    def lines(self, start: int, stop: int) -> list[bytes]:
        return [self._map[begin:end] for begin, end in zip(self._starts[start:stop].tolist(), self._ends[start:stop].tolist())]

    def close(self) -> None:
        if isinstance(self._map, mmap.mmap):
            self._map.close()


def _index(path: Path, data) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(updated_at as epoch seconds, line start, line end), sorted by updated_at; read from the kept index if current."""
    stat = path.stat()
    key = hashlib.sha256(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:32]
    kept = INDEX_DIR / f"{key}.npz"
    try:
        with np.load(kept) as index:
            return index["keys"], index["starts"], index["ends"]
    except (OSError, ValueError, KeyError):
        pass
    keys, starts, ends, offset = [], [], [], 0
    while offset < len(data):
        newline = data.find(b"\n", offset)
        end = len(data) if newline < 0 else newline + 1
        line = data[offset:end].rstrip(b"\r\n")
        if line:
            keys.append(_instant(orjson.loads(line).get("updated_at")).timestamp())
            starts.append(offset)
            ends.append(offset + len(line))
        offset = end
    order = np.argsort(np.array(keys, dtype=np.float64), kind="stable")
    index = {"keys": np.array(keys, dtype=np.float64)[order], "starts": np.array(starts, dtype=np.int64)[order],
             "ends": np.array(ends, dtype=np.int64)[order]}
    INDEX_DIR.mkdir(parents=True, exist_ok=True)
    partial = kept.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp.npz")
    np.savez(partial, **index)
    partial.replace(kept)  # atomic: a concurrent reader sees the whole index or none
    return index["keys"], index["starts"], index["ends"]


class SurveyApi:
    """A running server; use as a context manager or call stop()."""

    def __init__(self, server: ThreadingHTTPServer, thread: threading.Thread, responses: Responses):
        self._server, self._thread, self._responses = server, thread, responses
        host, port = server.server_address[:2]
        self.url = f"http://{host}:{port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        self._responses.close()

    def __enter__(self) -> "SurveyApi":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _handler(responses: Responses, api_key: str):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):      # keep test and refresh output quiet
            pass

        def answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def error(self, status: int, message: str) -> None:
            self.answer(status, json.dumps({"error": message}).encode("utf-8"))

        def do_GET(self):
            parts = urlsplit(self.path)
            if parts.path.rstrip("/") != ENDPOINT:
                return self.error(404, f"unknown path {parts.path}")
            if self.headers.get("X-API-Key") != api_key:
                return self.error(401, "missing or invalid X-API-Key")
            query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            try:
                page = int(query.get("page", 1))
                page_size = int(query.get("page_size", DEFAULT_PAGE_SIZE))
                if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
                    raise ValueError
            except ValueError:
                return self.error(400, f"page must be >= 1 and page_size between 1 and {MAX_PAGE_SIZE}")
            try:
                lo = responses.position(_instant(query["since"])) if query.get("since") else 0
                hi = responses.position(_instant(query["until"])) if query.get("until") else len(responses)
            except ValueError:
                return self.error(400, "since/until must be ISO-8601 timestamps")
            total = max(0, hi - lo)
            start = lo + (page - 1) * page_size
            chunk = responses.lines(start, min(hi, start + page_size)) if start < hi else []
            head = json.dumps({"page": page, "page_size": page_size, "total": total,
                               "total_pages": math.ceil(total / page_size)})[1:-1].encode("utf-8")
            self.answer(200, b'{"data": [' + b", ".join(chunk) + b"], " + head + b"}")

    return Handler


SHUTDOWN_POLL_SECONDS = 0.02


def start_survey_api(responses_path: Path, api_key: str, host: str = "127.0.0.1", port: int = 0) -> SurveyApi:
    """Serve responses_path on host:port (0 = a free port) in a background thread."""
    responses = Responses(Path(responses_path))
    server = ThreadingHTTPServer((host, port), _handler(responses, api_key))
    server.daemon_threads = True
    # serve_forever checks for shutdown() once per poll interval: its default 0.5 s was paid by every
    # refresh when the survey load closed the server.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": SHUTDOWN_POLL_SECONDS},
                              name="survey-api", daemon=True)
    thread.start()
    return SurveyApi(server, thread, responses)
