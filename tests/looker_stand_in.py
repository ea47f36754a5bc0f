"""A Looker API 4.0 stand-in on 127.0.0.1 for looker-sdk's real client: the endpoints the helpers call.

``POST /api/4.0/login`` (form-encoded ``client_id``/``client_secret``) hands out bearer tokens; every other
endpoint wants one. Tests steer it: ``expire_tokens()`` makes the server forget every token it issued (as a
restarted instance does, before their ``expires_in``), ``forbidden`` lists paths that answer 403, and
``requests`` records (method, path, headers, body) for the assertions. Errors use Looker's JSON shape
(``message`` and ``documentation_url``), with a documentation URL looker-sdk does not try to fetch.
"""

from __future__ import annotations

import json
import re
import secrets
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from local_http import LocalServer

CLIENT_ID = "looker-client-id-42"
DOCS = "https://cloud.google.com/looker/docs/api-intro"

#: The fields of the ``orders`` view, with their Looker types (json_bi metadata).
FIELDS = {
    "orders.region": ("dimension", "string"),
    "orders.created_date": ("dimension", "date_date"),
    "orders.created_month": ("dimension", "date_month"),
    "orders.is_online": ("dimension", "yesno"),
    "orders.count": ("measure", "count"),
    "orders.total_amount": ("measure", "sum"),
}
ROWS = [
    {
        "orders.region": "EMEA",
        "orders.created_date": "2024-03-01",
        "orders.created_month": "2024-03",
        "orders.is_online": "Yes",
        "orders.count": 12,
        "orders.total_amount": 1520.5,
    },
    {
        "orders.region": "APAC",
        "orders.created_date": "2024-03-02",
        "orders.created_month": "2024-03",
        "orders.is_online": "No",
        "orders.count": 7,
        "orders.total_amount": 830.25,
    },
    {
        "orders.region": "AMER",
        "orders.created_date": "2024-04-05",
        "orders.created_month": "2024-04",
        "orders.is_online": "Yes",
        "orders.count": 3,
        "orders.total_amount": None,
    },
]
LOOKS = {
    "42": {
        "id": "42",
        "title": "Orders by region",
        "query_id": "901",
        "description": "",
        "folder": {"id": "1", "name": "Shared"},
        "fields": ["orders.region", "orders.created_date", "orders.count", "orders.total_amount"],
    }
}
DASHBOARDS = {
    "7": {
        "id": "7",
        "title": "Sales",
        "folder": {"id": "1", "name": "Shared"},
        "dashboard_elements": [
            {
                "id": "70",
                "title": "By region",
                "type": "vis",
                "query": {
                    "model": "shop",
                    "view": "orders",
                    "fields": ["orders.region", "orders.count"],
                    "filters": {"orders.region": "EMEA,APAC"},
                    "sorts": ["orders.count desc"],
                    "limit": "50",
                },
            },
            {"id": "71", "title": None, "title_text": "Notes", "type": "text"},
            {
                "id": "72",
                "title": None,
                "type": "vis",
                "look_id": "42",
                "look": {
                    "id": "42",
                    "title": "Orders by region",
                    "query": {
                        "model": "shop",
                        "view": "orders",
                        "fields": ["orders.created_date", "orders.total_amount"],
                    },
                },
            },
        ],
    }
}


class LookerStandIn:
    """The running server: ``url``, ``secret`` (the client secret it accepts), and what it saw."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.tokens: set[str] = set()
        self.logins = 0
        self.forbidden: set[str] = set()
        self.expires_in = 3600
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        self.queries: list[dict[str, Any]] = []
        self._http = LocalServer(_Handler, self)
        self.url = self._http.url

    def stop(self) -> None:
        self._http.stop()

    def expire_tokens(self) -> None:
        """Forget every issued token: the next call with one gets 401, as after a restart of the instance."""
        self.tokens.clear()


def json_bi(fields: list[str], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """A json_bi answer: metadata with each field's category and type, and rows of ``{"value": ...}`` cells."""
    meta: dict[str, list[dict[str, Any]]] = {"dimensions": [], "measures": [], "pivots": [], "table_calculations": []}
    for name in fields:
        category, kind = FIELDS[name]
        meta[category + "s"].append({"name": name, "type": kind, "category": category, "label": name})
    return {
        "metadata": {"fields": meta, "pivots": [], "has_totals": False, "has_subtotals": False},
        "rows": [{name: {"value": row[name]} for name in fields} for row in rows],
    }


class _Handler(BaseHTTPRequestHandler):
    stand_in: LookerStandIn

    def log_message(self, *_: Any) -> None:
        pass

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str) -> None:
        self._send(status, {"message": message, "documentation_url": DOCS})

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_POST(self) -> None:
        self._route("POST")

    def do_GET(self) -> None:
        self._route("GET")

    def _route(self, method: str) -> None:
        s = self.stand_in
        url = urlsplit(self.path)
        body = self._body() if method == "POST" else b""
        s.requests.append((method, url.path, dict(self.headers), body))
        if method == "POST" and url.path == "/api/4.0/login":
            return self._login(body)
        token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
        if token not in s.tokens:
            return self._error(401, "Requires authentication.")
        if url.path in s.forbidden:
            return self._error(403, "Forbidden: you do not have access to this content")
        self._answer(method, url.path, body)

    def _login(self, body: bytes) -> None:
        s = self.stand_in
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != s.secret:
            return self._error(404, "Not found")  # what Looker answers to bad API credentials
        token = secrets.token_urlsafe(24)
        s.tokens.add(token)
        s.logins += 1
        self._send(200, {"access_token": token, "token_type": "Bearer", "expires_in": s.expires_in})

    def _answer(self, method: str, path: str, body: bytes) -> None:
        if method == "GET" and path == "/api/4.0/user":
            return self._send(200, {"id": "5", "display_name": "API User", "email": "api@example.com"})
        if method == "GET" and path == "/api/4.0/looks":
            return self._send(200, [{k: v for k, v in look.items() if k != "fields"} for look in LOOKS.values()])
        if method == "GET" and path == "/api/4.0/dashboards":
            return self._send(
                200, [{"id": d["id"], "title": d["title"], "folder": d["folder"]} for d in DASHBOARDS.values()]
            )
        if found := re.fullmatch(r"/api/4.0/looks/(\w+)/run/json_bi", path):
            look = LOOKS.get(found.group(1))
            return self._send(200, json_bi(look["fields"], ROWS)) if look else self._error(404, "Not found")
        if found := re.fullmatch(r"/api/4.0/looks/(\w+)", path):
            look = LOOKS.get(found.group(1))
            return self._send(200, look) if look else self._error(404, "Not found")
        if found := re.fullmatch(r"/api/4.0/dashboards/(\w+)", path):
            board = DASHBOARDS.get(found.group(1))
            return self._send(200, board) if board else self._error(404, "Not found")
        if method == "POST" and path == "/api/4.0/queries/run/json_bi":
            return self._inline(json.loads(body))
        self._error(404, "Not found")

    def _inline(self, query: dict[str, Any]) -> None:
        self.stand_in.queries.append(query)
        unknown = [f for f in query.get("fields") or [] if f not in FIELDS]
        if unknown:
            return self._send(
                422,
                {
                    "message": "Validation Failed",
                    "errors": [
                        {
                            "field": "fields",
                            "code": "invalid",
                            "message": f"Unknown field {unknown[0]}",
                            "documentation_url": DOCS,
                        }
                    ],
                    "documentation_url": DOCS,
                },
            )
        rows = ROWS
        region = (query.get("filters") or {}).get("orders.region")
        if region:
            rows = [r for r in rows if r["orders.region"] in region.split(",")]
        limit = int(query.get("limit") or 500)
        self._send(200, json_bi(query["fields"], rows[:limit]))
