"""The local survey platform: a small REST API over survey/responses.jsonl.

It stands in for a vendor's paginated API (API key, `since`/`until` cursor on
`updated_at`, page numbers), so the ingestion can be written against a real
socket. Responses are loaded once, sorted by `updated_at`, and windows are
found by bisection, so paging through 200k responses stays cheap.
"""

from __future__ import annotations

import json
import math
import threading
from bisect import bisect_left
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

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


def load_responses(path: Path) -> tuple[list[float], list[bytes]]:
    """Read the JSONL once; keep each record's raw line (served as-is) sorted by updated_at."""
    rows = []
    with open(path, "rb") as f:
        for raw in f:
            line = raw.rstrip(b"\r\n")
            if not line:
                continue
            updated = orjson.loads(line).get("updated_at")
            rows.append((_instant(updated).timestamp(), len(rows), line))
    rows.sort()
    return [r[0] for r in rows], [r[2] for r in rows]


class SurveyApi:
    """A running server; use as a context manager or call stop()."""

    def __init__(self, server: ThreadingHTTPServer, thread: threading.Thread):
        self._server, self._thread = server, thread
        host, port = server.server_address[:2]
        self.url = f"http://{host}:{port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> "SurveyApi":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _handler(keys: list[float], lines: list[bytes], api_key: str):
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
                lo = bisect_left(keys, _instant(query["since"]).timestamp()) if query.get("since") else 0
                hi = bisect_left(keys, _instant(query["until"]).timestamp()) if query.get("until") else len(keys)
            except ValueError:
                return self.error(400, "since/until must be ISO-8601 timestamps")
            total = max(0, hi - lo)
            start = lo + (page - 1) * page_size
            chunk = lines[start:min(hi, start + page_size)] if start < hi else []
            head = json.dumps({"page": page, "page_size": page_size, "total": total,
                               "total_pages": math.ceil(total / page_size)})[1:-1].encode("utf-8")
            self.answer(200, b'{"data": [' + b", ".join(chunk) + b"], " + head + b"}")

    return Handler


def start_survey_api(responses_path: Path, api_key: str, host: str = "127.0.0.1", port: int = 0) -> SurveyApi:
    """Serve responses_path on host:port (0 = a free port) in a background thread."""
    keys, lines = load_responses(Path(responses_path))
    server = ThreadingHTTPServer((host, port), _handler(keys, lines, api_key))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="survey-api", daemon=True)
    thread.start()
    return SurveyApi(server, thread)
