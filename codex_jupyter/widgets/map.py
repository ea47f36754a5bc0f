"""``MapView``: a frame of points on an ipyleaflet map that stays fast from ten rows to millions.

Up to ``max_points`` visible rows are drawn as individual circles; above
that the view aggregates in Python into H3 hexagons (``kind="auto"`` or
``"hex"``), clusters or a heatmap, for the visible area at a resolution that
follows the zoom, so what crosses the wire stays bounded by ``max_cells``
whatever the row count. Everything is one GeoJSON (or heatmap) layer: never
one widget per marker, which is what stalls ipyleaflet near 2,000 markers.

The view renders what it is given: it opens no connection. Country
outlines shipped in a wheel keep it readable with no network; the search
box asks the geocoder it is handed (none: no search box).
"""

import difflib
import functools
import inspect
import json
import logging
from collections.abc import Callable, Sequence
from html import escape
from typing import Any, Literal, ParamSpec, Protocol, get_args

import ipywidgets as widgets
import numpy as np
import pandas as pd
import traitlets
from ipyleaflet import (
    DrawControl,
    GeoJSON,
    Heatmap,
    LayersControl,
    LegendControl,
    Map,
    Popup,
    ScaleControl,
    TileLayer,
)

from codex_jupyter.analytics.spatial.geofence import Geofences
from codex_jupyter.analytics.spatial.hex_index import HexIndex, resolution_for_zoom
from codex_jupyter.errors import InputError, require_columns
from codex_jupyter.widgets import map_layers as ml
from codex_jupyter.widgets.basemap import TILE_STYLES, outline_data, sea_color

__all__ = ["MapView"]

log = logging.getLogger(__name__)

#: The values ``kind``, ``basemap`` and ``agg`` take: the signature shows them, the traits enforce them.
Kind = Literal["auto", "points", "hex", "clusters", "heatmap"]
Basemap = Literal["auto", "offline", "light", "dark", "satellite"]
Agg = Literal["mean", "sum", "max", "min"]
KINDS: tuple[str, ...] = get_args(Kind)
#: The finest H3 resolution a view aggregates at (edges of about 30 m).
_FINEST = 11
#: Zoom levels in from the first view that re-aggregate from the first indexing, without more H3 calls.
_ZOOM_AHEAD = 3

_P = ParamSpec("_P")


class Geocoder(Protocol):
    """What the search box asks (``GeocoderChain`` has it); described here because views never import sources.

    The answer needs ``.best`` (a match with ``lat``, ``lon``, ``address``,
    ``provider``, ``confidence``, or ``None``) and ``.error``.
    """

    def geocode(self, query: str) -> Any: ...


def _strict_keywords(init: Callable[_P, None]) -> Callable[_P, None]:
    """``init`` refusing an unknown keyword as Python does, but naming the class and the closest valid keyword.

    Python's own message (``__init__() got an unexpected keyword argument``)
    names neither. The valid names are read from ``init``'s signature, so
    there is no second list to keep in step with it.
    """
    names = list(inspect.signature(init).parameters)[1:]  # without self

    @functools.wraps(init)
    def checked(*args: _P.args, **kwargs: _P.kwargs) -> None:
        for key in kwargs:
            if key not in names:
                raise TypeError(_unexpected_keyword(f"{type(args[0]).__name__}()", key, names))
        init(*args, **kwargs)

    return checked


def _unexpected_keyword(call: str, key: str, names: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, names, n=1)
    hint = f"did you mean {close[0]!r}?" if close else f"valid keywords: {', '.join(names)}"
    return f"{call} got an unexpected keyword argument {key!r}; {hint}"


class MapView(widgets.VBox):
    """Points of ``df`` on a map, drawn one by one or aggregated as the zoom requires.

    ``lat``, ``lon``: the coordinate columns. ``color``: a column (numeric ->
    a colour scale, otherwise categories); ``size``: a numeric column (circle
    area); ``popup``: the column(s) shown when a point is clicked (``True``
    for all). ``kind``: ``"auto"`` (points, then hexagons), ``"points"``,
    ``"hex"``, ``"clusters"`` or ``"heatmap"``. ``basemap``: ``"auto"`` (light
    tiles under lightly filled country outlines, so the map reads with or
    without a network), ``"offline"`` (outlines only, no tile requests),
    ``"light"``, ``"dark"``, ``"satellite"``. ``max_points``: above this many
    visible rows, ``"auto"`` aggregates; ``max_cells``: the most H3 cells
    sent; ``agg``: how a numeric ``color`` column is aggregated per cell.
    ``geocoder``: what the search box asks -- anything with
    ``geocode(query)`` returning an answer with ``.best``, e.g.
    ``GeocoderChain(["offline"])``; without one the map has no search box (a
    view renders what it is given and never builds a source itself).
    ``center``, ``zoom``: the first view (default: fit the points);
    ``height``: a CSS height; ``name``: the data layer's name in the layer
    switch. ``kind``, ``basemap``, ``max_points``, ``max_cells`` and ``agg``
    are traits: setting them later re-renders the map.

    ``view.selection`` is the rows inside the polygons drawn on the map,
    ``view.geofences`` the same polygons as :class:`Geofences`;
    ``view.on_click(callback)`` calls ``callback(lat, lon)`` on a click.
    Errors inside callbacks are shown under the map and logged.
    """

    # Options that stay live after construction; their defaults are the signature's (a unit test holds them equal).
    kind = traitlets.Enum(KINDS, default_value="auto").tag(option=True)
    basemap = traitlets.Enum(get_args(Basemap), default_value="auto").tag(option=True)
    max_points = traitlets.Int(2000).tag(option=True)
    max_cells = traitlets.Int(2000).tag(option=True)
    agg = traitlets.Enum(get_args(Agg), default_value="mean").tag(option=True)
    #: What the data layer shows now: "points", "hex", "clusters" or "heatmap".
    shown = traitlets.Unicode("", read_only=True)
    #: H3 resolution of the current aggregation (-1 while points are shown).
    resolution = traitlets.Int(-1, read_only=True)
    #: JSON bytes of the last data-layer update (what crossed to the browser).
    payload_bytes = traitlets.Int(0, read_only=True)

    @traitlets.validate("max_points")
    def _check_max_points(self, proposal: Any) -> int:
        if not 1 <= proposal.value <= 20_000:
            raise traitlets.TraitError("max_points must be between 1 and 20,000 (ipyleaflet stalls beyond that)")
        return proposal.value

    @traitlets.validate("max_cells")
    def _check_max_cells(self, proposal: Any) -> int:
        if not 10 <= proposal.value <= 50_000:
            raise traitlets.TraitError("max_cells must be between 10 and 50,000")
        return proposal.value

    @_strict_keywords
    def __init__(
        self,
        df: pd.DataFrame,
        *,
        lat: str = "lat",
        lon: str = "lon",
        color: str | None = None,
        size: str | None = None,
        popup: str | list[str] | bool | None = None,
        kind: Kind = "auto",
        basemap: Basemap = "auto",
        max_points: int = 2000,
        max_cells: int = 2000,
        agg: Agg = "mean",
        geocoder: Geocoder | None = None,
        center: tuple[float, float] | None = None,
        zoom: float | None = None,
        height: str = "520px",
        name: str = "Data",
    ) -> None:
        """Check the frame, then build toolbar, layers and controls, then wire events: in that order.

        Columns are checked before any widget exists, so a typo opens no comm;
        events are wired last, so building the view fires no callback; the
        first render runs once everything it touches exists.
        """
        self._take_frame(df, lat, lon, color, size, popup)
        self._start_state(geocoder)
        toolbar = self._build_toolbar()
        self._build_layers(center, zoom, height, name)
        self._add_map_controls()
        children = [self._sea, toolbar, self.map, self.messages]
        options = {"kind": kind, "basemap": basemap, "max_points": max_points, "max_cells": max_cells, "agg": agg}
        super().__init__(children, layout=widgets.Layout(width="100%"), **options)  # traitlets sets and checks them
        self.add_class("codex-map")
        self._css_id = f"codex-map-{id(self):x}"
        self.add_class(self._css_id)
        self._wire_events()
        self._apply_basemap()
        self.refresh()

    # -- construction ------------------------------------------------------------------------------------------------

    def _take_frame(
        self, df: pd.DataFrame, lat: str, lon: str, color: str | None, size: str | None, popup: Any
    ) -> None:
        """Check the frame and the columns named, then keep the arrays every render reads.

        A missing column raises here, naming it, instead of as a blank map or
        a ``KeyError`` from a click callback later. Coordinates are parsed to
        floats once (unparseable -> NaN, never drawn).
        """
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"MapView needs a pandas DataFrame, not {type(df).__name__}")
        require_columns(df.columns, [c for c in (lat, lon, color, size) if c])
        fields = list(df.columns) if popup is True else ([popup] if isinstance(popup, str) else popup)
        require_columns(df.columns, fields or [], "the frame (popup=)")
        self.df, self.popup_fields = df, fields
        self.lat_col, self.lon_col, self.color_col, self.size_col = lat, lon, color, size
        self._lat = pd.to_numeric(df[lat], errors="coerce").to_numpy(dtype=float)
        self._lon = pd.to_numeric(df[lon], errors="coerce").to_numpy(dtype=float)
        self._colors = ml.Colors(df[color] if color else None, color or "")
        self._sizes = ml.radii(df[size] if size else None, len(df))

    def _start_state(self, geocoder: Geocoder | None) -> None:
        """What changes as a reader uses the map starts empty: callbacks, errors, caches, the last search."""
        self.errors: list[str] = []
        self._geocoder = geocoder
        self._last_search: tuple[str, Any] | None = None
        self._click_callbacks: list[Callable[[float, float], Any]] = []
        self._selection_callbacks: list[Callable[[pd.DataFrame], Any]] = []
        self._covered: tuple[float, float, float, float] | None = None
        self._popup: Popup | None = None
        self._index: HexIndex | None = None  # built on the first aggregation: small frames never index
        self._wanted = -1  # the resolution the current view asked for (-1: points)

    def _build_layers(self, center: tuple[float, float] | None, zoom: float | None, height: str, name: str) -> None:
        """The map and the layers it keeps for life, each updated in place by later renders.

        One data layer and one heatmap, never a widget per point (ipyleaflet
        opens a comm per marker and stalls near 2,000); the tile layer joins
        the map only for styles that use tiles (see ``_apply_basemap``).
        """
        fit_center, fit_zoom = _frame_view(self._lat, self._lon)
        self.map = Map(
            center=fit_center if center is None else center,
            zoom=fit_zoom if zoom is None else zoom,
            scroll_wheel_zoom=True,
            world_copy_jump=True,
            layers=(),
            layout=widgets.Layout(height=height, width="100%"),
        )
        self._tiles = TileLayer(name="Tiles", base=True, **TILE_STYLES["light"])
        self._outlines = GeoJSON(name="Country outlines (offline)", data=outline_data("offline"))
        self._data = GeoJSON(name=name, point_style={"radius": 5, "weight": 1, "fillOpacity": 0.85})
        self._heat = Heatmap(name="Heatmap", locations=[], radius=20, blur=15, min_opacity=0.3)
        self.map.layers = (self._outlines, self._data)
        self._legend = LegendControl({}, title=self.color_col or "points", position="bottomright")

    def _add_map_controls(self) -> None:
        """Layer switch, scale and a draw tool limited to polygons and rectangles (what ``selection`` reads)."""
        shape = {"shapeOptions": {"color": "#d62728", "fillOpacity": 0.1}}
        self._draw = DrawControl(polygon=shape, rectangle=shape, polyline={}, circlemarker={}, circle={}, marker={})
        for control in (LayersControl(position="topright"), ScaleControl(position="bottomleft"), self._draw):
            self.map.add(control)

    def _build_toolbar(self) -> widgets.HBox:
        """The row above the map: search (only with a geocoder), the style switch, the status and the note.

        Two lines, not one: ``status`` says what the data layer shows and is rewritten by every re-aggregation,
        ``note`` answers the reader (a search, a click, a drawn area). Sharing one line, the re-aggregation
        that a search's own pan set off overwrote the search's answer a moment later.

        ``messages`` (callback errors) sits under the map and ``_sea`` holds the
        per-view CSS; both are built here with the other plain widgets.
        """
        self._search_box = widgets.Text(placeholder="Search a place (offline gazetteer)", layout={"width": "280px"})
        self._search_box.continuous_update = False  # search on Enter, not on every key
        self._search_button = widgets.Button(description="Find", icon="search", layout={"width": "80px"})
        styles = list(get_args(Basemap))
        self._style_switch = widgets.Dropdown(options=styles, description="Style", layout={"width": "200px"})
        self.status = widgets.HTML()
        self.note = widgets.HTML()
        self.messages = widgets.HTML()
        self._sea = widgets.HTML(layout={"display": "none"})
        searching = [self._search_box, self._search_button] if self._geocoder is not None else []
        return widgets.HBox([*searching, self._style_switch, self.status, self.note])

    def _wire_events(self) -> None:
        """Connect traits, map moves, clicks, drawing and search to the view, each through ``_guarded``.

        Widget callbacks swallow exceptions; guarded, an error shows under the
        map and in the log instead of leaving a map that silently stops.
        """
        widgets.link((self, "basemap"), (self._style_switch, "value"))
        self.observe(self._guarded(self._apply_basemap), names=["basemap"])
        self.observe(self._guarded(lambda _: self.refresh()), names=["kind", "max_points", "max_cells", "agg"])
        self.map.observe(self._guarded(self._on_view_change), names=["bounds", "zoom"])
        self.map.on_interaction(self._guarded(self._on_interaction))
        self._data.on_click(self._guarded(self._on_feature_click(self.df, self.popup_fields)))
        self._draw.observe(self._guarded(self._on_drawn), names=["data"])
        self._search_button.on_click(self._guarded(lambda _: self.search(self._search_box.value)))
        self._search_box.observe(self._guarded(lambda change: self.search(change["new"])), names=["value"])

    # -- rendering -------------------------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Re-render the data layer for the current view (zoom, bounds, kind)."""
        bounds = _bounds_of(self.map)
        zoom = float(self.map.zoom)
        padded = _pad(bounds) if bounds else None
        visible = self._visible(padded)
        kind = self.kind
        if kind == "auto":
            kind = "points" if visible <= self.max_points else "hex"
        if kind == "points":
            self._wanted = -1
            self._show_points(padded)
        else:
            self._show_aggregate(kind, padded, zoom, bounds)
        self._covered = padded

    def _visible(self, bounds: tuple[float, float, float, float] | None) -> int:
        if len(self.df) <= self.max_points:
            return len(self.df)
        return len(self._hex_index().visible(bounds))

    def _hex_index(self) -> HexIndex:
        if self._index is None:
            values = self.df[self.color_col] if self._colors.numeric else None
            # Every point is indexed a few zoom levels finer than this view needs (coarse H3 cells are cheaper);
            # zooming in deeper indexes only the points then in view.
            bounds = _bounds_of(self.map)
            usable = self._lat[np.abs(self._lat) <= 90]
            lat_mid = (bounds[0] + bounds[2]) / 2 if bounds else float(usable.mean()) if len(usable) else 0.0
            indexed = resolution_for_zoom(float(self.map.zoom) + _ZOOM_AHEAD, lat_mid, edge_px=8.0, finest=_FINEST)
            self._index = HexIndex(self._lat, self._lon, values=values, finest=_FINEST, indexed=indexed)
        return self._index

    def _show_points(self, bounds: tuple[float, float, float, float] | None) -> None:
        if len(self.df) <= self.max_points:
            rows = np.flatnonzero(np.isfinite(self._lat) & np.isfinite(self._lon))
        else:
            index = self._hex_index()
            rows = index.rows[index.visible(bounds)]
        note = ""
        if len(rows) > self.max_points:
            note = f"showing the first {self.max_points:,} of {len(rows):,} points in view; zoom in for the rest"
            rows = rows[: self.max_points]
        colors = self._colors.of(self.df[self.color_col].to_numpy()[rows]) if self.color_col else None
        colors = colors if colors is not None else np.full(len(rows), ml.DEFAULT_COLOR, dtype=object)
        payload = ml.point_features(self._lat[rows], self._lon[rows], rows, colors, self._sizes[rows])
        self._set_data(payload, "points", -1)
        legend = self._colors.legend() if self.color_col else {f"{len(rows):,} points": ml.DEFAULT_COLOR}
        self._set_legend(self.color_col or "points", legend)
        self.status.value = _status(note or f"{len(rows):,} points")

    def _show_aggregate(self, kind: str, padded: tuple | None, zoom: float, bounds: tuple | None) -> None:
        index = self._hex_index()
        res = self._wanted = self._resolution_for(kind, zoom, bounds)
        cells = index.aggregate(res, padded, self.agg)
        while len(cells) > self.max_cells and res > 0:  # a bounded payload wins over detail
            res -= 1
            cells = index.aggregate(res, padded, self.agg)
        total = int(cells["count"].sum())
        if kind == "heatmap":
            peak = float(cells["count"].quantile(0.98)) if len(cells) else 1.0
            weights = np.clip(cells["count"].to_numpy(dtype=float) / max(peak, 1.0), 0.05, 1.0)
            locations = [
                [round(a, 5), round(b, 5), round(w, 3)] for a, b, w in zip(cells.lat, cells.lon, weights, strict=True)
            ]
            self._set_heat(locations, res)
            self._set_legend("density", {"few": "blue", "some": "lime", "many": "red"})
        elif kind == "clusters":
            self._set_data(ml.cluster_features(cells), "clusters", res)
            top = max(1, int(cells["count"].max())) if len(cells) else 1
            self._set_legend("points per cluster", ml.steps_legend(1, top))
        else:
            if self._colors.numeric:
                colors = self._colors.of(cells["value"].to_numpy())
                legend = ml.steps_legend(self._colors.low, self._colors.high, prefix=f"{self.agg} ")
            else:
                log_count = np.log10(cells["count"].to_numpy(dtype=float))
                top = max(1.0, float(log_count.max()) if len(cells) else 1.0)
                colors = ml.Colors.scale(log_count, 0.0, top)
                legend = {f"{10 ** (top * q):,.0f} points": ml.SEQUENTIAL[int(q * 7)] for q in (0.0, 0.33, 0.66, 1.0)}
            payload = ml.hex_features(cells, colors)
            for feature in payload["features"]:
                feature["properties"]["style"].update({"fillOpacity": 0.6, "weight": 0.5})
            self._set_data(payload, "hex", res)
            self._set_legend(self.color_col or "points per hexagon", legend)
        self.status.value = _status(f"{total:,} points in {len(cells):,} H3 cells (resolution {res}), {kind}")

    def _set_data(self, payload: dict, shown: str, res: int) -> None:
        if self._heat in self.map.layers:
            self.map.remove(self._heat)
        if self._data not in self.map.layers:
            self.map.add(self._data)
        self._data.data = payload
        self._record(payload, shown, res)

    def _set_heat(self, locations: list, res: int) -> None:
        if self._data in self.map.layers:
            self.map.remove(self._data)
        self._heat.locations = locations
        if self._heat not in self.map.layers:
            self.map.add(self._heat)
        self._record(locations, "heatmap", res)

    def _record(self, payload: Any, shown: str, res: int) -> None:
        self.set_trait("payload_bytes", len(json.dumps(payload, separators=(",", ":"))))
        self.set_trait("shown", shown)
        self.set_trait("resolution", res)

    def _set_legend(self, title: str, legend: dict[str, str]) -> None:
        self._legend.title, self._legend.legend = title, legend
        if self._legend not in self.map.controls:
            self.map.add(self._legend)

    def _on_view_change(self, _: Any) -> None:
        bounds = _bounds_of(self.map)
        if bounds is None:
            return
        if self.shown == "points" and len(self.df) <= self.max_points:
            return  # every point is already drawn
        wanted = -1 if self.shown == "points" else self._resolution_for(self.shown, float(self.map.zoom), bounds)
        if self._covered is not None and _contains(self._covered, bounds) and wanted == self._wanted:
            return
        self.refresh()

    def _resolution_for(self, kind: str, zoom: float, bounds: tuple | None) -> int:
        """The H3 resolution a view asks for before the ``max_cells`` cap (heatmaps want finer cells)."""
        index = self._hex_index()
        lat_mid = (bounds[0] + bounds[2]) / 2 if bounds else float(np.nanmean(index.lat)) if len(index) else 0.0
        return resolution_for_zoom(zoom, lat_mid, edge_px=8.0 if kind == "heatmap" else 12.0, finest=index.finest)

    # -- basemap -----------------------------------------------------------------------------------------------------

    def _apply_basemap(self, _: Any = None) -> None:
        style = self.basemap
        wants_tiles = style != "offline"
        if wants_tiles:
            spec = TILE_STYLES["light" if style == "auto" else style]
            self._tiles.url, self._tiles.attribution = spec["url"], spec["attribution"]
            if self._tiles not in self.map.layers:
                self.map.layers = (self._tiles, *self.map.layers)
        elif self._tiles in self.map.layers:
            self.map.remove(self._tiles)
        self._outlines.data = outline_data(style)
        # The sea is the container's background: visible wherever tiles are missing (offline) or absent.
        self._sea.value = f"<style>.{self._css_id} .leaflet-container {{ background: {sea_color(style)}; }}</style>"

    # -- interaction -----------------------------------------------------------------------------------------------

    def on_click(self, callback: Callable[[float, float], Any], remove: bool = False) -> None:
        """Call ``callback(lat, lon)`` when the map is clicked (``remove=True`` unregisters it)."""
        if remove:
            self._click_callbacks = [c for c in self._click_callbacks if c is not callback]
        elif callback not in self._click_callbacks:
            self._click_callbacks.append(callback)

    def on_selection(self, callback: Callable[[pd.DataFrame], Any], remove: bool = False) -> None:
        """Call ``callback(selection)`` whenever the drawn polygons change."""
        if remove:
            self._selection_callbacks = [c for c in self._selection_callbacks if c is not callback]
        elif callback not in self._selection_callbacks:
            self._selection_callbacks.append(callback)

    def _on_interaction(self, **event: Any) -> None:
        if event.get("type") != "click":
            return
        lat, lon = (float(v) for v in event["coordinates"])
        for callback in list(self._click_callbacks):
            self._guarded(callback)(lat, lon)

    @property
    def geofences(self) -> Geofences | None:
        """The polygons drawn on the map as geofences (``area 1``, ``area 2`` ...), or ``None``."""
        shapes = [f for f in self._draw.data if (f.get("geometry") or {}).get("type") in ("Polygon", "MultiPolygon")]
        return Geofences({f"area {i + 1}": f for i, f in enumerate(shapes)}) if shapes else None

    @property
    def selection(self) -> pd.DataFrame:
        """The rows of the frame inside any drawn polygon (no rows when nothing is drawn)."""
        fences = self.geofences
        if fences is None:
            return self.df.iloc[:0]
        return fences.filter(self.df, lat=self.lat_col, lon=self.lon_col)

    def _on_drawn(self, _: Any) -> None:
        selected = self.selection
        self.note.value = _note(f"{len(selected):,} of {len(self.df):,} rows inside the drawn area(s)")
        for callback in list(self._selection_callbacks):
            self._guarded(callback)(selected)

    def _on_feature_click(self, frame: pd.DataFrame, fields: list[str] | None) -> Callable[..., None]:
        def show(**event: Any) -> None:
            props = event.get("properties") or {}
            where = event.get("coordinates")
            if "row" in props and fields is not None:
                html = ml.popup_html(frame.iloc[int(props["row"])], fields)
            elif "count" in props:
                value = (
                    f"<br>{escape(self.agg)} {escape(self.color_col or '')}: {props['value']:,.4g}"
                    if "value" in props
                    else ""
                )
                html = f"<b>{int(props['count']):,}</b> points{value}"
            else:
                return
            self.show_popup(where, html)

        return show

    def show_popup(self, location: Any, html: str) -> None:
        """Open one popup (closing the previous one); ``html`` must already be escaped."""
        if self._popup is not None and self._popup in self.map.layers:
            self.map.remove(self._popup)
        self._popup = Popup(location=tuple(location), child=widgets.HTML(html), close_button=True, max_width=360)
        self.map.add(self._popup)

    def show_note(self, text: str) -> None:
        """Write ``text`` (escaped) in the view's note, e.g. from a click callback; re-aggregations leave it."""
        self.note.value = _note(text)

    def search(self, query: str) -> Any:
        """Geocode ``query`` with the view's chain, centre the map on the best match and mark it.

        The same query again (Enter, then Find) re-centres on the answer it
        already has: online providers are rate-limited and bill per request.
        """
        if not query or not query.strip():
            return None
        if self._geocoder is None:
            raise InputError("this map has no geocoder; pass MapView(..., geocoder=GeocoderChain(['offline']))")
        if self._last_search is not None and self._last_search[0] == query:
            answer = self._last_search[1]
        else:
            answer = self._geocoder.geocode(query)
            self._last_search = (query, answer)
        best = answer.best
        if best is None:
            self.note.value = _note(f"no match for {query!r}: {answer.error}")
            return answer
        self.map.center, self.map.zoom = (best.lat, best.lon), max(self.map.zoom, 9)
        frame = pd.DataFrame([{"place": best.address, "lat": best.lat, "lon": best.lon, "provider": best.provider}])
        self.add_points(frame, name="Search result", color="#d62728", popup=["place", "provider"])
        self.note.value = _note(f"{best.address} ({best.provider}, confidence {best.confidence:.2f})")
        return answer

    # -- overlays ---------------------------------------------------------------------------------------------------

    def add_points(
        self,
        frame: pd.DataFrame,
        *,
        name: str,
        lat: str = "lat",
        lon: str = "lon",
        color: str = "#d62728",
        radius: float = 7.0,
        popup: list[str] | bool | None = True,
    ) -> GeoJSON:
        """A small overlay of points (branches, a search result), one layer, replacing one of the same name."""
        if len(frame) > 5000:
            raise InputError("add_points is for small overlays (<= 5,000 rows); give big frames their own MapView")
        fields = list(frame.columns) if popup is True else (popup or None)
        rows = np.arange(len(frame))
        la = pd.to_numeric(frame[lat], errors="coerce").to_numpy(dtype=float)
        lo = pd.to_numeric(frame[lon], errors="coerce").to_numpy(dtype=float)
        ok = np.isfinite(la) & np.isfinite(lo)
        colors = np.full(int(ok.sum()), color, dtype=object)
        payload = ml.point_features(la[ok], lo[ok], rows[ok], colors, np.full(int(ok.sum()), radius))
        for feature in payload["features"]:
            feature["properties"]["style"].update({"color": "#ffffff", "weight": 1.5, "fillOpacity": 0.95})
        layer = GeoJSON(name=name, data=payload, point_style={"radius": radius})
        layer.on_click(self._guarded(self._on_feature_click(frame, fields)))
        return self._replace_layer(layer)

    def add_lines(
        self, lines: list[list[tuple[float, float]]], *, name: str, color: str = "#555555", weight: float = 1.5
    ) -> GeoJSON:
        """Polylines given as lists of ``(lat, lon)``: nearest-branch links, a route."""
        coordinates = [[[round(float(b), 5), round(float(a), 5)] for a, b in line] for line in lines if len(line) >= 2]
        geometry = {"type": "MultiLineString", "coordinates": coordinates}
        style = {"color": color, "weight": weight, "opacity": 0.8}
        data = {"type": "Feature", "properties": {"style": style}, "geometry": geometry}
        return self._replace_layer(GeoJSON(name=name, data=data))

    def add_links(
        self,
        frame: pd.DataFrame,
        targets: pd.DataFrame,
        *,
        key: str,
        target_id: str,
        lat: str = "lat",
        lon: str = "lon",
        name: str = "Links",
        color: str = "#6b6b6b",
        weight: float = 1,
    ) -> GeoJSON:
        """One line from each row of ``frame`` to the row of ``targets`` whose ``target_id`` equals its ``key``.

        For "each customer to its nearest branch": ``frame[key]`` holds the
        target's id (as :func:`~codex_jupyter.analytics.spatial.nearest` writes
        it). Rows whose key matches no target are left out, not drawn to (0, 0).
        """
        require_columns(frame.columns, [key, lat, lon], "add_links' frame")
        require_columns(targets.columns, [target_id, lat, lon], "add_links' targets")
        ends = targets.drop_duplicates(target_id).set_index(target_id)
        to_lat, to_lon = frame[key].map(ends[lat]), frame[key].map(ends[lon])
        keep = to_lat.notna() & to_lon.notna()
        lines = [
            [(a, b), (c, d)]
            for a, b, c, d in zip(frame[lat][keep], frame[lon][keep], to_lat[keep], to_lon[keep], strict=True)
        ]
        return self.add_lines(lines, name=name, color=color, weight=weight)

    def add_geofences(self, fences: Geofences, *, name: str = "Geofences", color: str = "#9467bd") -> GeoJSON:
        """Geofence polygons as one layer (named by fence in each feature)."""
        from shapely.geometry import mapping

        style = {"color": color, "weight": 2, "fillColor": color, "fillOpacity": 0.15}
        features = [
            {"type": "Feature", "properties": {"fence": str(n), "style": style}, "geometry": mapping(g)}
            for n, g in zip(fences.names, fences.geometries, strict=True)
        ]
        return self._replace_layer(GeoJSON(name=name, data={"type": "FeatureCollection", "features": features}))

    def _replace_layer(self, layer: GeoJSON) -> GeoJSON:
        for old in [x for x in self.map.layers if x.name == layer.name and x not in (self._data, self._outlines)]:
            self.map.remove(old)
        self.map.add(layer)
        return layer

    # -- errors ------------------------------------------------------------------------------------------------------

    def _guarded(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``fn`` with its errors shown under the map and logged: widget callbacks otherwise swallow them."""

        def run(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except Exception as exc:  # a callback must never fail silently
                message = f"{getattr(fn, '__name__', 'callback')}: {type(exc).__name__}: {exc}"
                log.exception("map callback failed: %s", message)
                self.errors.append(message)
                shown = "".join(f"<div>{escape(m)}</div>" for m in self.errors[-3:])
                self.messages.value = f"<div class='codex-map-error' style='color:#b00020'>{shown}</div>"
                return None

        return run


def _frame_view(lat: np.ndarray, lon: np.ndarray) -> tuple[tuple[float, float], int]:
    """A centre and zoom that show the middle 98 % of the points."""
    ok = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    if not ok.any():
        return (20.0, 0.0), 2
    south, north = np.percentile(lat[ok], [1, 99])
    west, east = np.percentile(lon[ok], [1, 99])
    # Web Mercator: the world is 256 * 2**zoom pixels wide; fit the span in about 900 x 450 pixels.
    lon_zoom = np.log2(900 * 360 / (256 * max(east - west, 0.01)))
    lat_zoom = np.log2(450 * 170 / (256 * max(north - south, 0.01)))
    zoom = int(np.clip(np.floor(min(lon_zoom, lat_zoom)), 1, 16))
    return (float((south + north) / 2), float((west + east) / 2)), zoom


def _bounds_of(m: Map) -> tuple[float, float, float, float] | None:
    """The map's visible ``(south, west, north, east)`` once the browser has reported it."""
    if not m.bounds:
        return None
    (south, west), (north, east) = m.bounds
    return float(south), float(west), float(north), float(east)


def _pad(b: tuple[float, float, float, float], share: float = 0.5) -> tuple[float, float, float, float]:
    """Bounds grown by ``share`` of their size on every side, so small pans need no new data."""
    south, west, north, east = b
    dlat, dlon = (north - south) * share, (east - west) * share
    if east - west + 2 * dlon >= 360:
        return max(-90.0, south - dlat), -180.0, min(90.0, north + dlat), 180.0
    return max(-90.0, south - dlat), west - dlon, min(90.0, north + dlat), east + dlon


def _contains(outer: tuple[float, float, float, float], inner: tuple[float, float, float, float]) -> bool:
    return outer[0] <= inner[0] and outer[1] <= inner[1] and outer[2] >= inner[2] and outer[3] >= inner[3]


def _status(text: str) -> str:
    return _line("codex-map-status", "#555", text)


def _note(text: str) -> str:
    return _line("codex-map-note", "#1f3b6e", text)


def _line(css_class: str, colour: str, text: str) -> str:
    return f"<span class='{css_class}' style='color:{colour};font-size:90%'>{escape(text)}</span>"
