"""Looker through looker-sdk's API 4.0 client: looks, inline queries and dashboards as typed DataFrames.

Configuration is looker-sdk's own (``init40``): a ``looker.ini`` section and the ``LOOKERSDK_BASE_URL``,
``LOOKERSDK_CLIENT_ID``, ``LOOKERSDK_CLIENT_SECRET``, ``LOOKERSDK_VERIFY_SSL`` and ``LOOKERSDK_TIMEOUT``
variables, which override the file. ``base_url`` is kept to ``scheme://host:port``: the SDK appends
``/api/4.0/...`` to it, so a path there (``/api/4.0``, a trailing ``/``) would double up.

Results are fetched as ``json_bi`` (rows plus the type of every field) because ``run_look`` and
``run_inline_query`` return text: CSV or plain JSON would leave dates as strings. :func:`frame_from_json_bi`
turns the field types into pandas dtypes (numbers, datetimes, booleans).

Every SDK failure becomes one line from :mod:`codex_jupyter.errors` carrying the server's message: bad
credentials and permission denied are :class:`ConfigError`, an unknown look or a bad field :class:`InputError`,
an unreachable host or a 5xx :class:`ServiceUnavailable`. A token the server expired before its ``expires_in``
(a restarted instance, a revoked session) is renewed once and the call repeated: every call here only reads.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import pandas as pd

from codex_jupyter import config
from codex_jupyter.errors import CodexError, ConfigError, InputError, ServiceUnavailable
from codex_jupyter.extras import require

T = TypeVar("T")

#: Looker field types whose values are numbers (dimension ``number`` and the numeric measure types).
_NUMERIC = frozenset(
    {
        "number",
        "count",
        "count_distinct",
        "sum",
        "sum_distinct",
        "average",
        "average_distinct",
        "min",
        "max",
        "median",
        "median_distinct",
        "percentile",
        "percentile_distinct",
        "percent_of_total",
        "percent_of_previous",
        "running_total",
        "int",
        "date_year",
        "date_month_num",
        "date_day_of_month",
        "date_day_of_year",
        "date_hour_of_day",
        "date_week_of_year",
        "date_quarter_of_year",
        "date_fiscal_month_num",
        "date_fiscal_quarter_of_year",
    }
)
#: Field types whose values are dates or times (``date_month`` comes as ``2024-03``, which pandas reads).
_TEMPORAL = frozenset(
    {"date", "time", "datetime", "date_date", "date_time", "date_raw", "date_week", "date_month", "date_hour"}
    | {"date_minute", "date_second", "date_millisecond", "date_microsecond"}
)
_BOOLEAN = frozenset({"yesno"})


@dataclass(frozen=True)
class Tile:
    """One dashboard tile: its title and the query behind it (``None`` for text and button tiles)."""

    id: str
    title: str
    type: str
    model: str | None = None
    view: str | None = None
    fields: tuple[str, ...] = ()
    filters: Mapping[str, str] = field(default_factory=dict)
    sorts: tuple[str, ...] = ()
    limit: int | None = None
    look_id: str | None = None

    @property
    def has_query(self) -> bool:
        """Whether the tile shows data (a text tile has no model, view or fields)."""
        return bool(self.model and self.view and self.fields)


@dataclass(frozen=True)
class Dashboard:
    """A Looker dashboard's id, title and tiles (``to_frame()`` lists them one per row)."""

    id: str
    title: str
    tiles: tuple[Tile, ...]

    def to_frame(self) -> pd.DataFrame:
        """One row per tile: id, title, type, model, view, fields, filters, look_id."""
        rows = [
            {
                "id": t.id,
                "title": t.title,
                "type": t.type,
                "model": t.model,
                "view": t.view,
                "fields": ", ".join(t.fields),
                "filters": ", ".join(f"{k}={v}" for k, v in t.filters.items()),
                "look_id": t.look_id,
            }
            for t in self.tiles
        ]
        return pd.DataFrame(rows, columns=["id", "title", "type", "model", "view", "fields", "filters", "look_id"])

    def _repr_html_(self) -> str:
        return f"<b>{_escape(self.title)}</b> (dashboard {_escape(self.id)})" + self.to_frame().to_html(index=False)


def _escape(text: str) -> str:
    import html

    return html.escape(str(text))


class LookerClient:
    """One looker-sdk ``Looker40SDK`` with its session: what the module's functions call through.

    The SDK keeps the access token and renews it when ``expires_in`` runs out; this class adds the
    one-line errors and the renewal of a token the server expired early. Its ``repr`` names the
    instance only: the client secret stays inside looker-sdk's settings. The functions below use
    :func:`client` (one per set of settings) unless given another with ``using=``.
    """

    def __init__(self, ini: str | None = None, section: str | None = None) -> None:
        require("bi")
        import looker_sdk

        default_ini, default_section = config.looker_ini()
        ini, section = ini or default_ini, section or default_section
        try:
            settings = looker_sdk.api_settings.ApiSettings(
                filename=ini, section=section, sdk_version=looker_sdk.constants.sdk_version, env_prefix="LOOKERSDK"
            )
        except FileNotFoundError:
            raise ConfigError(f"no Looker settings file {ini!r}: create it or unset CODEX_JUPYTER_LOOKER_INI") from None
        except Exception as exc:  # configparser's NoSectionError, a bad VERIFY_SSL or TIMEOUT value
            raise ConfigError(f"cannot read the Looker settings in {ini!r}: {type(exc).__name__} {exc}") from None
        if not settings.base_url:
            raise ConfigError(
                "Looker is not configured: set LOOKERSDK_BASE_URL, LOOKERSDK_CLIENT_ID and LOOKERSDK_CLIENT_SECRET "
                "(or a looker.ini section with base_url, client_id and client_secret)"
            )
        settings.base_url = _origin(settings.base_url)
        self.base_url = settings.base_url
        self.sdk = looker_sdk.init40(config_settings=settings)
        self._status = threading.local()
        self.sdk.transport.session.hooks["response"].append(self._remember_status)

    def __repr__(self) -> str:
        return f"LookerClient({self.base_url!r})"

    def _remember_status(self, response: Any, *_: Any, **__: Any) -> None:
        """A requests hook: the SDK's errors carry the server's message but not the HTTP status, which we need."""
        self._status.last = (response.status_code, urlsplit(response.url).path)

    def call(self, what: str, fn: Callable[[], T]) -> T:
        """Run one SDK call; ``what`` ("look 42") names it in the one-line error if it fails."""
        from looker_sdk.error import SDKError
        from looker_sdk.rtl.auth_token import AuthToken

        for attempt in (1, 2):
            self._status.last = (None, "")
            try:
                return fn()
            except SDKError as exc:
                status, path = self._status.last
                if status == 401 and attempt == 1 and not path.endswith("/login"):
                    self.sdk.auth.token = AuthToken()  # the server dropped our session: log in again, once
                    continue
                raise self._error(what, exc, status, path) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _error(self, what: str, exc: Exception, status: int | None, path: str) -> CodexError:
        message = _server_message(exc)
        where = f"Looker at {self.base_url}"
        if status is None:
            return ServiceUnavailable(f"cannot reach {where}: {message}; check LOOKERSDK_BASE_URL and the network")
        if path.endswith("/login"):
            return ConfigError(
                f"{where} rejected the API credentials ({status} {message}); check LOOKERSDK_CLIENT_ID and "
                "LOOKERSDK_CLIENT_SECRET (an API key of a Looker user)"
            )
        if status in (401, 403):
            return ConfigError(f"{where} denied access to {what} ({status} {message}); ask a Looker admin for access")
        if status == 404:
            return InputError(f"{where} has no {what} ({message}); check the id (looks() and dashboards() list them)")
        if status >= 500 or status == 429:
            return ServiceUnavailable(f"{where} failed on {what} ({status} {message}); try again later")
        return InputError(f"{where} refused {what} ({status} {message})")


def _origin(base_url: str) -> str:
    """``scheme://host:port`` of ``base_url``: looker-sdk appends ``/api/4.0/...`` to it."""
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"LOOKERSDK_BASE_URL must look like https://company.looker.com:19999, not {base_url!r}")
    return f"{parts.scheme}://{parts.netloc}"


def _server_message(exc: Exception) -> str:
    """The server's own message out of an ``SDKError`` (JSON body, or the requests error text), on one line."""
    message = str(getattr(exc, "message", "") or exc)
    try:
        body = json.loads(message)
        message = body.get("message", message) if isinstance(body, dict) else message
    except ValueError:
        pass
    details = [d.message for d in getattr(exc, "errors", None) or [] if getattr(d, "message", None)]
    text = "; ".join([message, *details])
    return " ".join(text.split())[:300]


def _tile(element: Any) -> Tile:
    """A ``DashboardElement`` as a :class:`Tile`: the query is on the element, its look, or its result maker."""
    query = element.query or (element.look.query if element.look else None)
    if query is None and element.result_maker is not None:
        query = element.result_maker.query
    title = element.title or (element.look.title if element.look else None) or element.title_text or ""
    if query is None:
        return Tile(id=str(element.id), title=title, type=element.type or "text", look_id=element.look_id)
    return Tile(
        id=str(element.id),
        title=title,
        type=element.type or "vis",
        model=query.model,
        view=query.view,
        fields=tuple(query.fields or ()),
        filters=dict(query.filters or {}),
        sorts=tuple(query.sorts or ()),
        limit=int(query.limit) if query.limit else None,
        look_id=element.look_id,
    )


def frame_from_json_bi(text: str | bytes, what: str = "the result") -> pd.DataFrame:
    """A ``json_bi`` result as a DataFrame typed from its field metadata.

    Cells may be plain values or ``{"value": ...}``; a pivoted measure's cell maps each pivot key to a value
    and becomes one column per key (``orders.count|2024``). A totals row (``has_totals``) is left out.
    """
    try:
        payload = json.loads(text)
    except ValueError:
        raise ServiceUnavailable(f"Looker sent {what} in a form that is not json_bi: {str(text)[:120]!r}") from None
    metadata = payload.get("metadata") or {}
    fields = metadata.get("fields") or {}
    types: dict[str, str] = {}
    for group in ("dimensions", "measures", "table_calculations"):
        for f in fields.get(group) or []:
            types[f["name"]] = f.get("type") or ""
    rows = list(payload.get("rows") or [])
    if metadata.get("has_totals") and rows:
        rows = rows[:-1]
    records = [_flatten(row) for row in rows]
    columns = list(types) if not records else list(dict.fromkeys(k for r in records for k in r))
    frame = pd.DataFrame.from_records(records, columns=columns)
    for column in frame.columns:
        frame[column] = _typed(frame[column], types.get(column.split("|", 1)[0], ""))
    return frame


def _flatten(row: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, cell in row.items():
        if isinstance(cell, dict) and "value" not in cell:
            for key, inner in cell.items():
                out[f"{name}|{key}"] = _unwrap(inner)
        else:
            out[name] = _unwrap(cell)
    return out


def _unwrap(cell: Any) -> Any:
    return cell.get("value") if isinstance(cell, dict) and "value" in cell else cell


def _typed(column: pd.Series, looker_type: str) -> pd.Series:
    """The column as numbers, datetimes or booleans when its Looker type says so; strings stay strings."""
    if looker_type in _NUMERIC or (not looker_type and _all_numbers(column)):
        numbers = pd.to_numeric(column)
        whole = numbers.dropna()
        return numbers.astype("Int64") if len(whole) and (whole == whole.round()).all() else numbers.astype("float64")
    if looker_type in _TEMPORAL:
        return pd.to_datetime(column, format="mixed")
    if looker_type in _BOOLEAN:
        return column.map({"Yes": True, "No": False, True: True, False: False}).astype("boolean")
    return column.astype("string") if column.map(lambda v: v is None or isinstance(v, str)).all() else column


def _all_numbers(column: pd.Series) -> bool:
    values = column.dropna()
    return len(values) > 0 and values.map(lambda v: isinstance(v, int | float) and not isinstance(v, bool)).all()


_CLIENTS: dict[tuple[Any, ...], LookerClient] = {}


def client(ini: str | None = None, section: str | None = None) -> LookerClient:
    """The process's client for these settings, so its access token is reused across calls.

    The ``LOOKERSDK_*`` variables are part of the key: changing them in a notebook gives a new client.
    """
    key = (ini, section, config.looker_ini(), tuple(sorted(config.prefixed("LOOKERSDK_").items())))
    if key not in _CLIENTS:
        _CLIENTS[key] = LookerClient(ini, section)
    return _CLIENTS[key]


def me(using: LookerClient | None = None) -> dict[str, Any]:
    """The API user (``GET /user``): its id and display name, to check the credentials work."""
    c = using or client()
    user = c.call("the current user", lambda: c.sdk.me(fields="id,display_name,email"))
    return {"id": user.id, "display_name": user.display_name, "email": user.email}


def run_look(look_id: str | int, limit: int | None = None, using: LookerClient | None = None) -> pd.DataFrame:
    """The rows of a saved look, typed from the look's fields."""
    c = using or client()
    text = c.call(
        f"look {look_id}",
        lambda: c.sdk.run_look(str(look_id), "json_bi", limit=limit, apply_formatting=False, apply_vis=False),
    )
    return frame_from_json_bi(text, f"look {look_id}")


def query(
    model: str,
    view: str,
    fields: Sequence[str],
    filters: Mapping[str, str] | None = None,
    sorts: Sequence[str] | None = None,
    limit: int | None = 500,
    using: LookerClient | None = None,
) -> pd.DataFrame:
    """Run an inline query (``POST /queries/run/json_bi``) as a typed DataFrame: nothing is saved on the instance."""
    if not fields:
        raise InputError("a Looker query needs at least one field, e.g. orders.count")
    c = using or client()
    from looker_sdk.sdk.api40 import models

    body = models.WriteQuery(
        model=model,
        view=view,
        fields=list(fields),
        filters=dict(filters or {}),
        sorts=list(sorts or []) or None,
        limit=None if limit is None else str(int(limit)),
    )
    what = f"the query on {model}.{view}"
    text = c.call(what, lambda: c.sdk.run_inline_query("json_bi", body, apply_formatting=False, apply_vis=False))
    return frame_from_json_bi(text, what)


def looks(using: LookerClient | None = None) -> pd.DataFrame:
    """Every look the configured user can see: id, title, folder, query_id."""
    c = using or client()
    found = c.call("the looks", lambda: c.sdk.all_looks(fields="id,title,folder,query_id,description"))
    rows = [
        {
            "id": look.id,
            "title": look.title,
            "folder": look.folder.name if look.folder else None,
            "query_id": look.query_id,
            "description": look.description,
        }
        for look in found
    ]
    return pd.DataFrame(rows, columns=["id", "title", "folder", "query_id", "description"])


def dashboards(using: LookerClient | None = None) -> pd.DataFrame:
    """Every dashboard the configured user can see: id, title, folder."""
    c = using or client()
    found = c.call("the dashboards", lambda: c.sdk.all_dashboards(fields="id,title,folder,description"))
    rows = [
        {"id": d.id, "title": d.title, "folder": d.folder.name if d.folder else None, "description": d.description}
        for d in found
    ]
    return pd.DataFrame(rows, columns=["id", "title", "folder", "description"])


def dashboard(dashboard_id: str | int, using: LookerClient | None = None) -> Dashboard:
    """A dashboard's tiles, each with the query it shows (its own, or its look's)."""
    c = using or client()
    found = c.call(f"dashboard {dashboard_id}", lambda: c.sdk.dashboard(str(dashboard_id)))
    tiles = tuple(_tile(e) for e in (found.dashboard_elements or []))
    return Dashboard(id=str(found.id), title=found.title or "", tiles=tiles)


def dashboard_frames(dashboard_id: str | int, using: LookerClient | None = None) -> dict[str, pd.DataFrame]:
    """One typed DataFrame per data tile of a dashboard, by tile title (its id when titles repeat or are empty)."""
    c = using or client()
    frames: dict[str, pd.DataFrame] = {}
    for tile in dashboard(dashboard_id, c).tiles:
        if not tile.has_query:
            continue
        key = tile.title if tile.title and tile.title not in frames else f"tile {tile.id}"
        frames[key] = query(tile.model, tile.view, tile.fields, tile.filters, tile.sorts, tile.limit, c)
    return frames
