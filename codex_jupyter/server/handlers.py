"""``/codex/api/`` handlers: parse the request, call the layer below, answer JSON (or the notebook, or HTML).

Every verb is behind Jupyter's own authentication (``@tornado.web.authenticated``:
an API request without a valid token or session gets 403). Errors are JSON
like Jupyter's own (``{"message", "reason"}``) plus ``error``, the class name;
a :class:`~codex_jupyter.errors.CodexError` is answered with the status that
says what the caller can do (:func:`status_of`), anything else is a 500 whose
detail stays in the server log. Work that blocks (the warehouse, reading
notebooks) runs off the event loop, warehouse calls on one thread of their own
(a connection is not shared between threads).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.client import responses
from pathlib import Path
from typing import Any, TypeVar

import tornado.web
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from codex_jupyter import __version__, config
from codex_jupyter.errors import CodexError, ConfigError, InputError, MissingExtra, ServiceUnavailable
from codex_jupyter.pipelines import lineage, notebooks
from codex_jupyter.pipelines.jobs import IdempotencyConflict, JobNotReady, JobRunner
from codex_jupyter.sources import status

T = TypeVar("T")
#: Lines of the log ``GET /codex/api/jobs/{id}`` shows unless ``?lines=`` says otherwise (at most 1000).
LOG_LINES = 40
#: What a report may do in a browser: run its own scripts in a sandbox with no access to the Jupyter origin.
REPORT_POLICY = "sandbox allow-scripts; frame-ancestors 'self'"


@dataclass
class Context:
    """What the handlers share: the job runner, the notebooks folder, the server's root, the warehouse's thread."""

    runner: JobRunner
    notebooks: Path
    #: Jupyter's root folder (contents API paths are relative to it); None when unknown.
    server_root: Path | None = None
    warehouse_thread: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, "codex-warehouse"))


def status_of(exc: CodexError) -> int:
    """The HTTP status for an error: 4xx for what the caller can fix, 5xx for the server's side."""
    if isinstance(exc, IdempotencyConflict | JobNotReady):
        return 409
    if isinstance(exc, LookupError):  # an unknown notebook, job or connection name
        return 404
    if isinstance(exc, InputError):
        return 400
    if isinstance(exc, MissingExtra):
        return 501
    if isinstance(exc, ServiceUnavailable):
        return 503
    if isinstance(exc, ConfigError):
        return 500
    return 502  # the warehouse or a service answered with an error


class CodexHandler(APIHandler):
    """The shared part: the context, JSON answers, errors as JSON with the right status."""

    @property
    def codex(self) -> Context:
        return self.settings["codex_jupyter"]

    def reply(self, body: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(body))

    def refuse(self, exc: CodexError) -> None:
        code = status_of(exc)
        self.log.info("codex_jupyter: %s %s -> %d %s", self.request.method, self.request.path, code, exc)
        self.set_status(code)
        self.finish(json.dumps({"message": str(exc), "reason": responses.get(code), "error": type(exc).__name__}))

    async def call(self, fn: Callable[..., T], *args: Any, warehouse: bool = False) -> T:
        """``fn(*args)`` off the event loop (on the warehouse's thread when it talks to the warehouse)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.codex.warehouse_thread if warehouse else None, fn, *args)

    def body(self) -> dict[str, Any]:
        try:
            data = json.loads(self.request.body or b"{}")
        except ValueError as exc:
            raise InputError(f"the request body is not JSON ({exc})") from None
        if not isinstance(data, dict):
            raise InputError("the request body must be a JSON object")
        return data

    def int_argument(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.get_argument(name, str(default))
        if not raw.isdigit() or not low <= int(raw) <= high:
            raise InputError(f"?{name}= takes a whole number from {low} to {high}, not {raw!r}")
        return int(raw)


class HealthHandler(CodexHandler):
    """``GET /codex/api/health``: the server is up; the state of each surface and of the job runner."""

    @tornado.web.authenticated
    async def get(self) -> None:
        surfaces, extras = await self.call(lambda: (status.surfaces(), status.extras()))
        runner = self.codex.runner
        jobs = {
            "available": extras.get("jobs", False),
            "max_concurrent": runner.max_concurrent,
            "timeout_seconds": runner.timeout,
            **runner.counts(),
        }
        self.reply({"status": "ok", "version": __version__, "surfaces": surfaces, "extras": extras, "jobs": jobs})


class CatalogHandler(CodexHandler):
    """``GET /codex/api/catalog[?connection=NAME]``: tables and columns of the active (or named) warehouse."""

    @tornado.web.authenticated
    async def get(self) -> None:
        from codex_jupyter.sources.warehouse import connect
        from codex_jupyter.sources.warehouse.catalog import catalog

        name = self.get_argument("connection", None)

        def discover() -> dict[str, Any]:
            config.resolve_connection(name)  # an unknown name is the caller's 404, not a warehouse error
            return catalog(connect(name))

        try:
            self.reply(await self.call(discover, warehouse=True))
        except CodexError as exc:
            self.refuse(exc)


class LineageHandler(CodexHandler):
    """``GET /codex/api/lineage[?notebook=NAME]``: the tables each curated notebook's SQL cells read and write."""

    @tornado.web.authenticated
    async def get(self) -> None:
        name = self.get_argument("notebook", None)
        root = self.codex.notebooks
        try:
            if name is None:
                self.reply({"notebooks": await self.call(lineage.lineage, root)})
            else:
                self.reply(await self.call(lambda: lineage.notebook_lineage(notebooks.find(root, name))))
        except CodexError as exc:
            self.refuse(exc)


class DashboardsHandler(CodexHandler):
    """``GET /codex/api/dashboards``: the curated notebooks with their titles, for the panel to list and open."""

    @tornado.web.authenticated
    async def get(self) -> None:
        found = await self.call(notebooks.dashboards, self.codex.notebooks, self.codex.server_root)
        self.reply({"dashboards": found})


class DashboardCopyHandler(CodexHandler):
    """``POST /codex/api/dashboards/{name}/copy``: a curated notebook copied into the server's root, ``{path}``.

    For a dashboard listed without a ``path`` (the installed package lies
    outside the root): the panel opens the copy. An existing copy is kept.
    """

    @tornado.web.authenticated
    async def post(self, name: str) -> None:
        codex = self.codex
        try:
            path = await self.call(notebooks.copy_into, codex.notebooks, name, codex.server_root)
        except CodexError as exc:
            self.refuse(exc)
            return
        self.reply({"path": path})


class JobsHandler(CodexHandler):
    """``POST /codex/api/jobs`` runs a notebook; ``GET`` lists the jobs, newest first."""

    @tornado.web.authenticated
    async def get(self) -> None:
        self.reply({"jobs": [job.to_dict() for job in self.codex.runner.jobs()]})

    @tornado.web.authenticated
    async def post(self) -> None:
        try:
            notebook, parameters, key = self._request()
            job, created = await self.call(self.codex.runner.submit, notebook, parameters, key)
        except CodexError as exc:
            self.refuse(exc)
            return
        if created:
            self.set_header("Location", url_path_join(self.base_url, "codex", "api", "jobs", job.id))
        self.reply(job.to_dict(), 201 if created else 200)

    def _request(self) -> tuple[str, Any, str | None]:
        """``{"notebook", "parameters", "idempotency_key"}``; the key may come as an ``Idempotency-Key`` header."""
        data = self.body()
        unknown = sorted(set(data) - {"notebook", "parameters", "idempotency_key"})
        if unknown:
            raise InputError(f"unknown field {unknown[0]!r}; a job takes notebook, parameters and idempotency_key")
        notebook = data.get("notebook")
        if not isinstance(notebook, str) or not notebook:
            raise InputError('name the notebook to run: {"notebook": "analytics.ipynb", "parameters": {...}}')
        header, field_ = self.request.headers.get("Idempotency-Key"), data.get("idempotency_key")
        if header is not None and field_ is not None and header != field_:
            raise InputError("the Idempotency-Key header and the idempotency_key field differ; send one of them")
        return notebook, data.get("parameters", {}), field_ if field_ is not None else header


class JobHandler(CodexHandler):
    """``GET /codex/api/jobs/{id}[?lines=N]``: the job's state, timings and the tail of its log."""

    @tornado.web.authenticated
    async def get(self, job_id: str) -> None:
        try:
            lines = self.int_argument("lines", LOG_LINES, 0, 1000)
            job = self.codex.runner.get(job_id)
            tail = await self.call(self.codex.runner.log_tail, job_id, lines)
        except CodexError as exc:
            self.refuse(exc)
            return
        self.reply({**job.to_dict(), "log_tail": tail})


class JobOutputHandler(CodexHandler):
    """``GET /codex/api/jobs/{id}/output``: the executed notebook (``.ipynb``)."""

    @tornado.web.authenticated
    async def get(self, job_id: str) -> None:
        runner = self.codex.runner
        try:
            path = runner.output(job_id)
            stem = Path(runner.get(job_id).notebook).stem
        except CodexError as exc:
            self.refuse(exc)
            return
        self.set_header("Content-Disposition", f'attachment; filename="{stem}-{job_id[:8]}.ipynb"')
        self.finish(await self.call(path.read_bytes), set_content_type="application/x-ipynb+json")


class JobReportHandler(CodexHandler):
    """``GET /codex/api/jobs/{id}/report``: the executed notebook as HTML without code."""

    @property
    def content_security_policy(self) -> str:
        return REPORT_POLICY

    @tornado.web.authenticated
    async def get(self, job_id: str) -> None:
        try:
            html = await self.call(self.codex.runner.report_html, job_id)
        except CodexError as exc:
            self.refuse(exc)
            return
        self.finish(html, set_content_type="text/html; charset=UTF-8")


def setup_handlers(web_app: Any, context: Context) -> None:
    """Route ``/codex/api/...`` under the server's base URL to the handlers above."""
    web_app.settings["codex_jupyter"] = context
    api = url_path_join(web_app.settings["base_url"], "codex", "api")
    segment = r"([^/]+)"  # one path segment: a job id or a dashboard name
    web_app.add_handlers(
        ".*$",
        [
            (url_path_join(api, "health"), HealthHandler),
            (url_path_join(api, "catalog"), CatalogHandler),
            (url_path_join(api, "lineage"), LineageHandler),
            (url_path_join(api, "dashboards"), DashboardsHandler),
            (url_path_join(api, "dashboards", segment, "copy"), DashboardCopyHandler),
            (url_path_join(api, "jobs"), JobsHandler),
            (url_path_join(api, "jobs", segment), JobHandler),
            (url_path_join(api, "jobs", segment, "output"), JobOutputHandler),
            (url_path_join(api, "jobs", segment, "report"), JobReportHandler),
        ],
    )
