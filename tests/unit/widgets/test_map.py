"""MapView without a browser: the widget state it would send, aggregation, selection, popups, errors."""

from __future__ import annotations

import inspect
import json
from typing import get_args

import numpy as np
import pandas as pd
import pytest
import traitlets

from codex_jupyter.analytics.spatial import hex_bin
from codex_jupyter.analytics.spatial.hex_index import HexIndex, parent_cells, resolution_for_zoom
from codex_jupyter.widgets.basemap import STYLES, country_outlines, outline_data
from codex_jupyter.widgets.map import Basemap, MapView
from codex_jupyter.widgets.map_layers import popup_html


def _points(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "lat": rng.normal(48.0, 4.0, n),
            "lon": rng.normal(5.0, 6.0, n),
            "amount": rng.gamma(2.0, 30.0, n),
            "kind": rng.choice(["atm", "branch", "card"], n),
        }
    )


def _move(view: MapView, south: float, west: float, north: float, east: float, zoom: float) -> None:
    """What the browser does after a zoom or pan: one state update of the map's edges and zoom."""
    m = view.map
    with m.hold_trait_notifications():
        for name, value in zip(("south", "west", "north", "east"), (south, west, north, east), strict=True):
            m.set_trait(name, value)
        m.zoom = zoom


def test_small_frames_are_individual_points_in_one_layer() -> None:
    view = MapView(_points(300), color="kind", size="amount", popup=["kind", "amount"])
    assert view.shown == "points"
    features = view._data.data["features"]
    assert len(features) == 300
    assert {f["geometry"]["type"] for f in features} == {"Point"}
    assert set(view._legend.legend) == {"atm", "branch", "card"}
    assert sum(1 for layer in view.map.layers if layer.name == "Data") == 1  # one comm, not one per marker


def test_large_frames_switch_to_hexagons_and_stay_bounded() -> None:
    view = MapView(_points(60_000), color="amount", max_points=2000)
    assert view.shown == "hex"
    assert 0 < len(view._data.data["features"]) <= view.max_cells
    assert view.payload_bytes < 1_000_000
    assert any(label.startswith("mean ") for label in view._legend.legend)


def test_zoom_re_aggregates_the_visible_area_with_bounded_bytes() -> None:
    view = MapView(_points(200_000, seed=1), max_points=2000)
    sizes = []
    for bounds_zoom in [(30, -30, 65, 40, 4), (44, 0, 52, 10, 7), (47.5, 4.5, 48.5, 5.5, 10), (-80, -180, 85, 180, 1)]:
        _move(view, *bounds_zoom)
        sizes.append(view.payload_bytes)
        assert view.payload_bytes < 1_000_000
        assert len(view._data.data["features"]) <= max(view.max_cells, view.max_points)
    assert view.resolution >= 0 or view.shown == "points"
    # Zoomed far in, few enough points are visible to draw them one by one.
    _move(view, 47.95, 4.95, 48.05, 5.05, 14)
    assert view.shown == "points"
    assert max(sizes) < 1_000_000


def test_small_pans_inside_the_padded_area_send_nothing_new() -> None:
    view = MapView(_points(50_000), max_points=500)
    _move(view, 44, 0, 52, 10, 7)
    sent = view._data.data
    _move(view, 44.5, 0.5, 52.5, 10.5, 7)
    assert view._data.data is sent


def test_heatmap_and_clusters_kinds() -> None:
    view = MapView(_points(5000), kind="heatmap")
    assert view.shown == "heatmap" and view._heat in view.map.layers and view._data not in view.map.layers
    assert all(len(p) == 3 and 0 < p[2] <= 1 for p in view._heat.locations)
    view.kind = "clusters"
    assert view.shown == "clusters" and view._data in view.map.layers and view._heat not in view.map.layers
    counts = [f["properties"]["count"] for f in view._data.data["features"]]
    assert sum(counts) == 5000


def test_hex_index_agrees_with_hex_bin() -> None:
    """H3 children do not nest exactly in their parent, so a point near an edge may land one cell over.

    Totals, values and all but a few percent (under 10 %) of points must agree with the direct ``hex_bin``.
    """
    import h3.api.numpy_int as h3i

    df = _points(20_000, seed=3)
    bounds = (44.0, 0.0, 52.0, 10.0)
    index = HexIndex(df.lat, df.lon, values=df.amount)
    for resolution in (2, 5, 7):
        ours = index.aggregate(resolution, bounds, "sum")
        reference = hex_bin(df.lat, df.lon, resolution, df.amount, "sum", bounds)
        assert ours["count"].sum() == reference["count"].sum()
        assert ours["value"].sum() == pytest.approx(reference["value"].sum())
        direct = np.array([h3i.latlng_to_cell(a, b, resolution) for a, b in zip(index.lat, index.lon, strict=True)])
        same = (parent_cells(index.cells, resolution) == direct.astype(np.uint64)).mean()
        assert same > 0.9, (resolution, same)
    cell = h3i.latlng_to_cell(51.5, -0.12, 11)
    assert int(parent_cells(np.array([cell], dtype=np.uint64), 4)[0]) == h3i.cell_to_parent(cell, 4)
    assert resolution_for_zoom(2) < resolution_for_zoom(8) < resolution_for_zoom(14)


def test_hex_index_indexed_coarsely_up_front_keeps_totals_and_indexes_zooms_lazily() -> None:
    df = _points(20_000, seed=4)
    full = HexIndex(df.lat, df.lon, values=df.amount)
    lazy = HexIndex(df.lat, df.lon, values=df.amount, indexed=3)
    assert int((lazy._fine != 0).sum()) == 0
    for resolution, bounds in ((1, None), (3, (40.0, -5.0, 56.0, 15.0)), (7, (47.0, 4.0, 49.0, 6.0))):
        ours = lazy.aggregate(resolution, bounds, "sum")
        reference = full.aggregate(resolution, bounds, "sum")
        assert ours["count"].sum() == reference["count"].sum() == len(full.visible(bounds))
        assert ours["value"].sum() == pytest.approx(reference["value"].sum())
    # The zoom to resolution 7 indexed only the points in view at the finest resolution.
    assert int((lazy._fine != 0).sum()) == len(lazy.visible((47.0, 4.0, 49.0, 6.0)))
    assert (parent_cells(full.cells, 3) == lazy.cells).mean() > 0.9
    with pytest.raises(ValueError):
        HexIndex(df.lat, df.lon, indexed=12)


def test_trait_validation() -> None:
    view = MapView(_points(10))
    with pytest.raises(traitlets.TraitError):
        view.kind = "pie"
    with pytest.raises(traitlets.TraitError):
        view.max_points = 100_000
    with pytest.raises(traitlets.TraitError):
        view.basemap = "neon"
    view.basemap = "dark"
    assert view._tiles in view.map.layers and "dark_all" in view._tiles.url
    view.basemap = "offline"
    assert view._tiles not in view.map.layers


def test_unknown_keyword_arguments_are_rejected_naming_the_closest_valid_one() -> None:
    with pytest.raises(TypeError) as caught:
        MapView(_points(10), colour="kind")
    assert str(caught.value) == "MapView() got an unexpected keyword argument 'colour'; did you mean 'color'?"
    with pytest.raises(TypeError, match="'max_point'; did you mean 'max_points'"):
        MapView(_points(10), max_point=10)
    # Traits that are not options (read-only state, the VBox's own) are refused too; with no close name, all are listed.
    for key in ("shown", "children", "zzz"):
        with pytest.raises(TypeError, match=f"argument '{key}'; valid keywords: df, lat, lon, color, .*, name$"):
            MapView(_points(10), **{key: 1})
    with pytest.raises(TypeError, match="positional"):
        MapView(_points(10), "latitude")
    with pytest.raises(KeyError, match="no column 'latitude'"):
        MapView(_points(10), lat="latitude")
    with pytest.raises(TypeError, match="DataFrame"):
        MapView([(1, 2)])
    with pytest.raises(traitlets.TraitError, match="max_points"):
        MapView(_points(10), max_points=100_000)


def test_signature_and_option_traits_agree() -> None:
    """help() and editors read the signature; the traits enforce values: names, defaults and choices must match."""
    params = inspect.signature(MapView).parameters
    keywords = {n: p for n, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY}
    assert next(iter(params)) == "df" and {"lat", "lon", "color", "size", "popup", "geocoder", "name"} <= set(keywords)
    options = MapView.class_traits(option=True)
    assert set(options) == {"kind", "basemap", "max_points", "max_cells", "agg"}
    assert set(keywords) & set(MapView.class_trait_names()) == set(options)  # a trait in the signature is an option
    for name, trait in options.items():
        assert keywords[name].default == trait.default_value, name
        if isinstance(trait, traitlets.Enum):
            assert get_args(keywords[name].annotation) == tuple(trait.values), name
    assert get_args(Basemap) == ("auto", *STYLES)
    shown = str(inspect.signature(MapView))  # help()'s first line, and what Jupyter's Shift-Tab shows
    assert shown.startswith("(df: pandas.core.frame.DataFrame, *, lat: str = 'lat', lon: str = 'lon', color: str")
    assert "kind: Literal['auto', 'points', 'hex', 'clusters', 'heatmap'] = 'auto'" in shown


def test_options_given_at_construction_equal_options_set_later() -> None:
    df = _points(5000)
    built = MapView(df, kind="clusters", basemap="offline", max_cells=50, agg="sum", color="amount")
    later = MapView(df, color="amount")
    later.kind, later.basemap, later.max_cells, later.agg = "clusters", "offline", 50, "sum"
    assert built._data.data == later._data.data and built.shown == later.shown == "clusters"
    assert built._tiles not in built.map.layers and built._style_switch.value == "offline"


def test_drawn_polygon_becomes_selection_and_geofence() -> None:
    df = _points(2000)
    view = MapView(df)
    seen = []
    view.on_selection(seen.append)
    assert view.selection.empty and view.geofences is None
    square = [[0.0, 45.0], [10.0, 45.0], [10.0, 50.0], [0.0, 50.0], [0.0, 45.0]]
    view._draw.data = [{"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [square]}}]
    expected = df[(df.lat.between(45, 50)) & (df.lon.between(0, 10))]
    assert sorted(view.selection.index) == sorted(expected.index)
    assert list(view.geofences.names) == ["area 1"]
    assert len(seen) == 1 and len(seen[0]) == len(expected)
    assert "rows inside the drawn area" in view.note.value


def test_popups_escape_record_fields() -> None:
    df = pd.DataFrame({"lat": [51.5], "lon": [-0.12], "name": ["<script>alert(1)</script>"], "<b>": ["x & y"]})
    html = popup_html(df.iloc[0])
    assert "<script>" not in html and "&lt;script&gt;" in html and "&lt;b&gt;" in html and "x &amp; y" in html
    view = MapView(df, popup=["name"])
    feature = view._data.data["features"][0]
    view._data._handle_mouse_events(
        None, {"event": "click", "properties": feature["properties"], "coordinates": [51.5, -0.12]}, []
    )
    assert view._popup is not None and "&lt;script&gt;" in view._popup.child.value


def test_click_callbacks_and_their_errors_reach_the_user() -> None:
    view = MapView(_points(10))
    clicks = []
    view.on_click(lambda lat, lon: clicks.append((lat, lon)))

    def broken(lat: float, lon: float) -> None:
        raise RuntimeError("reverse geocoder is down")

    view.on_click(broken)
    view.map._handle_leaflet_event(None, {"event": "interaction", "type": "click", "coordinates": [48.8, 2.35]}, [])
    assert clicks == [(48.8, 2.35)]
    assert "reverse geocoder is down" in view.messages.value and view.errors
    view.on_click(broken, remove=True)
    view.map._handle_leaflet_event(None, {"event": "interaction", "type": "click", "coordinates": [1.0, 2.0]}, [])
    assert len(view.errors) == 1


def test_search_uses_the_offline_geocoder() -> None:
    from codex_jupyter.sources.geo.geocoding import GeocoderChain

    view = MapView(_points(10), geocoder=GeocoderChain(["offline"], cache=False))
    answer = view.search("Lyon, France")
    assert answer.best is not None and answer.best.provider == "offline"
    assert abs(view.map.center[0] - 45.76) < 0.2
    assert any(layer.name == "Search result" for layer in view.map.layers)
    assert "Lyon" in view.note.value
    view.refresh()  # the pan re-aggregates the layer: its summary changes, the search's answer stays
    assert "Lyon" in view.note.value and "points" in view.status.value
    view.search("zzzz-no-such-place")
    assert "no match" in view.note.value


def test_searching_the_same_place_again_asks_the_geocoder_once() -> None:
    """Enter then Find (or Find twice) must not spend a second rate-limited provider request."""
    from codex_jupyter.sources.geo.geocoding import GeocoderChain

    chain = GeocoderChain(["offline"], cache=False)
    asked: list[str] = []
    real = chain.geocode
    chain.geocode = lambda query, **kw: asked.append(query) or real(query, **kw)  # type: ignore[method-assign]
    view = MapView(_points(10), geocoder=chain)
    view._search_box.value = "Lyon, France"
    view.map.center = (0.0, 0.0)
    view._search_button.click()
    assert asked == ["Lyon, France"] and abs(view.map.center[0] - 45.76) < 0.2
    view._search_box.value = "Nantes, France"
    assert asked == ["Lyon, France", "Nantes, France"]


def test_offline_basemap_is_small_and_complete() -> None:
    outlines = country_outlines()
    names = {f["properties"]["name"] for f in outlines["features"]}
    assert len(outlines["features"]) > 150 and {"France", "Brazil", "Japan"} <= names
    assert len(json.dumps(outline_data("offline"))) < 300_000
    borders = outline_data("light")["features"][0]["properties"]["style"]
    assert borders["fill"] is False  # over tiles only the borders are drawn


def test_note_shows_text_from_a_callback_escaped_and_outlives_a_refresh() -> None:
    view = MapView(_points(10))
    view.show_note("<b>Lyon</b> & around")
    view.refresh()
    assert "codex-map-note" in view.note.value and "&lt;b&gt;Lyon&lt;/b&gt; &amp; around" in view.note.value
    assert "Lyon" not in view.status.value


def test_add_links_draws_one_line_per_row_to_its_target_and_skips_unknown_keys() -> None:
    customers = pd.DataFrame({"lat": [51.5, 48.9, 40.7], "lon": [-0.1, 2.3, -74.0], "nearest": ["L", "P", "??"]})
    branches = pd.DataFrame({"branch_id": ["L", "P"], "lat": [51.51, 48.86], "lon": [-0.13, 2.35]})
    view = MapView(customers)
    layer = view.add_links(customers, branches, key="nearest", target_id="branch_id", name="Nearest branch")
    assert layer.data["geometry"]["coordinates"] == [[[-0.1, 51.5], [-0.13, 51.51]], [[2.3, 48.9], [2.35, 48.86]]]
    assert [x.name for x in view.map.layers].count("Nearest branch") == 1
