"""A stand-in for the survey platform API (docs/landing_zone.md) on 127.0.0.1, stdlib only."""

from __future__ import annotations

import json
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

API_KEY = "test-survey-key"


def _moment(value: str) -> datetime:
    return datetime.fromisoformat(value)


class SurveyStub:
    """Serves ``records`` filtered on updated_at by since (inclusive) / until (exclusive), paginated."""

    def __init__(self, records: list[dict]) -> None:
        self.records = records
        self.requests: list[dict] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                stub.requests.append(query)
                if self.headers.get("X-API-Key") != API_KEY:
                    return self._send(401, {"error": "unauthorized"})
                if url.path != "/api/v1/responses":
                    return self._send(404, {"error": "not found"})
                try:
                    since = _moment(query["since"]) if "since" in query else None
                    until = _moment(query["until"]) if "until" in query else None
                    page = int(query.get("page", 1))
                    size = int(query.get("page_size", 100))
                except ValueError:
                    return self._send(400, {"error": "bad parameter"})
                selected = []
                for record in stub.records:
                    try:
                        moment = _moment(record["updated_at"])
                    except (KeyError, TypeError, ValueError):
                        continue
                    if (since is None or moment >= since) and (until is None or moment < until):
                        selected.append(record)
                pages = (len(selected) + size - 1) // size
                body = {
                    "data": selected[(page - 1) * size : page * size],
                    "page": page,
                    "page_size": size,
                    "total": len(selected),
                    "total_pages": pages,
                }
                return self._send(200, body)

            def _send(self, status: int, body: dict) -> None:
                payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "SurveyStub":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
