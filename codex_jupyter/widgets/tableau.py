"""``TableauView``: a Tableau view embedded with the real Embedding API v3 (``<tableau-viz>``), both ways.

The JavaScript (``widgets/static/tableau.js``) is an anywidget ES module with ``@tableau/embedding-api``
bundled in at build time (``js/``; ``make install`` builds it), so nothing is fetched from a CDN; with
``library="server"`` it loads the Tableau server's own copy instead, as Tableau recommends for version matching.

Tokens: each load of the element (the first render, a page reload, a second display, :meth:`reload`) asks the
kernel for one, and ``token_provider`` mints a fresh one right then, so an open view never signs in with a
token that has expired. Tokens travel in a message, never in the widget state (a saved notebook keeps none), and
the provider is wired by the front door (:func:`codex_jupyter.magics.tableau.tableau_view`): this view never
sees the secret.

Events from the view reach Python handlers (``on_select`` gets the selected marks as a DataFrame); commands
from Python (:meth:`apply_filter`, :meth:`clear_filter`, :meth:`refresh`) run in the view once it is interactive.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import anywidget
import pandas as pd
import traitlets

from codex_jupyter.errors import ConfigError, InputError

BUNDLE = Path(__file__).parent / "static" / "tableau.js"
#: The Embedding API's events this view forwards, and the handler method for each.
EVENTS = {
    "firstinteractive": "on_interactive",
    "markselectionchanged": "on_select",
    "filterchanged": "on_filter",
    "tabswitched": "on_tab",
    "parameterchanged": "on_parameter",
    "vizloaderror": "on_error",
}
#: What to do about each load error the Embedding API reports, shown in the view with its code.
ADVICE = {
    "auth-failed": "Tableau refused the sign-in token: check the connected app (enabled, its client id and secret "
    "id), that the user exists on the site, and the site name in the view URL",
    "unknown-auth-error": "the sign-in request did not get through: check that the Tableau server is reachable "
    "from this browser and allows this page's origin (the connected app's domain allowlist)",
    "browser-not-capable": "this browser cannot run the Embedding API (it needs custom elements)",
    "invalid-url": "the view URL is not a Tableau view: copy it from Share > Copy Link",
    "incompatible-version-error": "the bundled Embedding API does not match the server: use library='server'",
    "command-failed": "the view refused the command: check the field name and values",
    "event-failed": "reading the event from the view failed",
}
_ids = itertools.count(1)


def _bundle() -> str:
    if not BUNDLE.is_file():
        raise ConfigError(
            "the Tableau view's JavaScript is not built: run `make install` (or `npm ci && npm run build` in js/)"
        )
    return BUNDLE.read_text()


class TableauView(anywidget.AnyWidget):
    """One embedded Tableau view; see the module docstring for tokens, events and commands."""

    attributes = traitlets.Dict().tag(sync=True)
    filters = traitlets.Dict().tag(sync=True)
    library = traitlets.Unicode("bundled").tag(sync=True)
    library_url = traitlets.Unicode("").tag(sync=True)
    #: The last load error, with its code and what to do ("" while the view is fine).
    error = traitlets.Unicode("").tag(sync=True)

    def __init__(
        self,
        attributes: dict[str, str],
        token_provider: Callable[[], str],
        filters: dict[str, Sequence[str]] | None = None,
        library: str = "bundled",
        library_url: str = "",
    ) -> None:
        self._esm = _bundle()
        self._css = _CSS
        super().__init__(
            attributes=attributes,
            filters={k: list(v) for k, v in (filters or {}).items()},
            library=library,
            library_url=library_url,
        )
        self._token_provider = token_provider
        self._handlers: dict[str, list[Callable[[Any], None]]] = defaultdict(list)
        self.tokens_sent = 0
        self.events: list[tuple[str, Any]] = []
        self.on_msg(self._on_message)

    def __repr__(self) -> str:
        return f"TableauView({self.attributes.get('src', '')!r})"

    # -- events ---------------------------------------------------------------------------------------------------

    def on(self, event: str, handler: Callable[[Any], None]) -> None:
        """Call ``handler`` with each ``event`` (one of :data:`EVENTS`) the view sends."""
        if event not in EVENTS:
            raise InputError(f"unknown Tableau event {event!r}; use one of {', '.join(EVENTS)}")
        self._handlers[event].append(handler)

    def on_select(self, handler: Callable[[pd.DataFrame], None]) -> None:
        """``handler(marks)``: the marks a reader selected, one row per mark (empty when the selection clears)."""
        self.on("markselectionchanged", handler)

    def on_filter(self, handler: Callable[[dict[str, Any]], None]) -> None:
        """``handler({"field", "values", "type", "worksheet"})`` after a filter changes in the view."""
        self.on("filterchanged", handler)

    def on_error(self, handler: Callable[[dict[str, Any]], None]) -> None:
        """``handler({"code", "message", "advice"})`` when the view fails to load or refuses a command."""
        self.on("vizloaderror", handler)

    def on_tab(self, handler: Callable[[dict[str, Any]], None]) -> None:
        """``handler({"old", "new"})`` when the reader switches sheets."""
        self.on("tabswitched", handler)

    def on_parameter(self, handler: Callable[[dict[str, Any]], None]) -> None:
        """``handler({"name", "value"})`` when a parameter changes."""
        self.on("parameterchanged", handler)

    def on_interactive(self, handler: Callable[[dict[str, Any]], None]) -> None:
        """``handler({})`` once the view is interactive (commands wait for this)."""
        self.on("firstinteractive", handler)

    # -- commands -------------------------------------------------------------------------------------------------

    def apply_filter(self, field: str, values: Sequence[str] | str, mode: str = "replace") -> None:
        """Filter ``field`` to ``values`` on the active sheet (every worksheet of a dashboard)."""
        if mode not in ("replace", "add", "remove", "all"):
            raise InputError(f"mode must be replace, add, remove or all, not {mode!r}")
        chosen = [values] if isinstance(values, str) else [str(v) for v in values]
        self._command("apply_filter", field=field, values=chosen, mode=mode)

    def clear_filter(self, field: str) -> None:
        """Remove the filter on ``field`` from the active sheet."""
        self._command("clear_filter", field=field)

    def refresh(self) -> None:
        """Ask Tableau to re-query the view's data sources."""
        self._command("refresh")

    def reload(self) -> None:
        """Load the view again, signing in with a fresh token."""
        self.error = ""
        self.send({"type": "reload"})

    def _command(self, op: str, **args: Any) -> None:
        self.send({"type": "command", "id": next(_ids), "op": op, **args})

    # -- messages from the view -----------------------------------------------------------------------------------

    def _on_message(self, _: Any, content: dict[str, Any], buffers: Any) -> None:
        kind = content.get("type")
        if kind == "token":
            self._send_token()
        elif kind == "event":
            self._event(content.get("name", ""), content.get("detail") or {})
        elif kind == "result" and not content.get("ok"):
            self._event("vizloaderror", {"code": "command-failed", "message": content.get("error", "")})

    def _send_token(self) -> None:
        try:
            token = self._token_provider()
        except Exception as exc:  # shown in the view: there is no cell to raise into
            self.error = f"cannot sign in: {' '.join(str(exc).split())}"
            self.send({"type": "token", "token": None})
            return
        self.tokens_sent += 1
        self.send({"type": "token", "token": token})

    def _event(self, name: str, detail: dict[str, Any]) -> None:
        if name not in EVENTS:
            return
        value: Any = detail
        if name == "markselectionchanged":
            value = marks_frame(detail)
        elif name == "vizloaderror":
            value = {**detail, "advice": ADVICE.get(detail.get("code", ""), "see the browser console for details")}
            self.error = describe_error(value)
        self.events.append((name, value))
        for handler in self._handlers[name]:
            handler(value)


def describe_error(error: dict[str, Any]) -> str:
    """``auth-failed (HTTP 401): <what to do>``: the code, the HTTP status when the library gives one, the advice."""
    import contextlib
    import json

    status = ""
    with contextlib.suppress(ValueError, KeyError, TypeError):
        status = f" (HTTP {json.loads(error.get('message') or '{}')['statusCode']})"
    return f"Tableau view error {error.get('code', '?')}{status}: {error.get('advice', '')}"


def marks_frame(detail: dict[str, Any]) -> pd.DataFrame:
    """The selected marks of every table the view sent, one row per mark (``worksheet`` names the sheet)."""
    frames = []
    for t in detail.get("tables") or []:
        frame = pd.DataFrame(t.get("rows") or [], columns=t.get("columns") or []).infer_objects()
        frames.append(frame)
    if not frames:
        return pd.DataFrame()
    out = pd.concat(frames, ignore_index=True)
    out.attrs["worksheet"] = detail.get("worksheet")
    return out


_CSS = """
.codex-tableau { width: 100%; }
.codex-tableau-status:empty { display: none; }
.codex-tableau-status { padding: 6px 10px; margin-bottom: 6px; border-radius: 4px; font: 13px sans-serif; }
.codex-tableau-error { background: #fdecea; color: #8a1c12; border: 1px solid #f5c2bd; }
"""
