"""A Tableau Server stand-in on 127.0.0.1 for the real Embedding API v3 library in Chromium: the sign-in endpoints.

The library signs in by POSTing ``{"siteName", "jwt"}`` to ``/vizportal/api/web/v1/auth/embed/signin`` on the
view's origin (after a CORS preflight, answered with the exact origin and credentials allowed); the stand-in
records each token and answers ``mode``: 200 (the view then loads in an iframe), 404 (the library falls back to
``/auth/embed/target?token=...``) or 401 (``vizloaderror`` ``auth-failed``).
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from local_http import LocalServer

SIGNIN = "/vizportal/api/web/v1/auth/embed/signin"
TARGET = "/vizportal/api/web/v1/auth/embed/target"


class TableauStandIn:
    """Answers the sign-in endpoints like Tableau (``mode`` = 200, 401 or 404) and records what it got."""

    def __init__(self) -> None:
        self.mode = 200
        self.signins: list[dict[str, Any]] = []
        self.targets: list[dict[str, str]] = []
        self.preflights: list[dict[str, str]] = []
        self._http = LocalServer(_Handler, self)
        self.url = self._http.url

    def stop(self) -> None:
        self._http.stop()


class _Handler(BaseHTTPRequestHandler):
    stand_in: TableauStandIn

    def log_message(self, *_: Any) -> None:
        pass

    def _cors(self) -> None:
        origin = self.headers.get("Origin")
        if origin:
            self.send_header("Access-Control-Allow-Origin", origin)
            self.send_header("Access-Control-Allow-Credentials", "true")
            self.send_header("Access-Control-Allow-Headers", "content-type")
            self.send_header("Access-Control-Allow-Methods", "POST, GET, OPTIONS")

    def _reply(self, status: int, body: bytes, kind: str = "application/json") -> None:
        self.send_response(status)
        self._cors()
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_OPTIONS(self) -> None:
        self.stand_in.preflights.append(dict(self.headers))
        self._reply(204, b"")

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if urlsplit(self.path).path != SIGNIN:
            return self._reply(404, b"{}")
        self.stand_in.signins.append(json.loads(body))
        status = self.stand_in.mode
        answer = {"result": {"errors": [{"code": 16, "message": "invalid token"}]}} if status == 401 else {}
        self._reply(status, json.dumps(answer).encode())

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == TARGET:
            self.stand_in.targets.append({k: v[0] for k, v in parse_qs(url.query).items()})
        self._reply(200, b"<html><body><h1>stand-in view</h1></body></html>", "text/html")
