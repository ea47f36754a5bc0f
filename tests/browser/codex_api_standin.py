"""A stand-in for codex-jupyter's server API (``/codex/api/health`` and ``/catalog``) until the real one lands.

It answers the shapes the sidebar reads (labextension/src/model.ts) from the real local warehouse, behind
Jupyter's auth, so the browser test drives the sidebar against real tables and columns. Loaded only by the
``lab_with_api`` fixture, as a server extension module.
"""

from __future__ import annotations

import json
from typing import Any

from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web

from codex_jupyter.sources.warehouse import connect

HEALTH = {
    "active_connection": "local",
    "connections": [
        {"name": "local", "kind": "warehouse", "configured": True, "reachable": True, "hint": "embedded DuckDB"},
        {"name": "kafka", "kind": "kafka", "configured": False, "hint": "set KAFKA_BOOTSTRAP_SERVERS"},
    ],
}


class Health(APIHandler):
    @web.authenticated
    def get(self) -> None:
        self.finish(json.dumps(HEALTH))


class Catalog(APIHandler):
    @web.authenticated
    def get(self) -> None:
        warehouse = connect("local")
        table = self.get_argument("table", "")
        if table:
            self.finish(json.dumps({"columns": warehouse.columns(table)[["name", "type"]].to_dict("records")}))
        else:
            self.finish(json.dumps({"tables": warehouse.tables().to_dict("records")}))


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    return [{"module": "codex_api_standin"}]


def _load_jupyter_server_extension(server_app: Any) -> None:
    base = server_app.web_app.settings["base_url"]
    server_app.web_app.add_handlers(
        ".*$",
        [(url_path_join(base, "codex/api/health"), Health), (url_path_join(base, "codex/api/catalog"), Catalog)],
    )
