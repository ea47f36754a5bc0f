"""Basemaps: web tile styles, and country outlines that need no network.

Tiles come from the web, so a map in CI, on an air-gapped server or in a
Voila report behind a firewall would be a grey box. The offline layer is
drawn from the country shapes that ship inside the ``countryinfo`` wheel
(Natural Earth 1:110m, MIT licensed), simplified once per process to about
100 KB of GeoJSON: readable at country and region zoom, no file or URL
fetched at run time.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from codex_jupyter.errors import InputError

#: Tile styles the style switch offers; ``offline`` draws no tiles at all.
TILE_STYLES: dict[str, dict[str, str]] = {
    "light": {
        "url": "https://{s}.basemaps.cartocdn.com/light_all/{z}/{x}/{y}.png",
        "attribution": "&copy; OpenStreetMap contributors &copy; CARTO",
    },
    "dark": {
        "url": "https://{s}.basemaps.cartocdn.com/dark_all/{z}/{x}/{y}.png",
        "attribution": "&copy; OpenStreetMap contributors &copy; CARTO",
    },
    "satellite": {
        "url": "https://server.arcgisonline.com/ArcGIS/rest/services/World_Imagery/MapServer/tile/{z}/{y}/{x}",
        "attribution": "Tiles &copy; Esri",
    },
}
STYLES = ("offline", *TILE_STYLES)

#: Per style: (sea, land, land opacity, border). The sea is the map's background colour (tiles cover it
#: when they load); ``auto`` fills land lightly so the map reads without tiles and tiles still show through.
_PALETTE = {
    "offline": ("#cfe3ef", "#f6f4ee", 1.0, "#8a8f98"),
    "auto": ("#cfe3ef", "#f6f4ee", 0.55, "#8a8f98"),
    "light": ("#dfe6ea", None, 0.0, "#9aa0a6"),
    "dark": ("#1d2329", None, 0.0, "#5f6670"),
    "satellite": ("#0b1f33", None, 0.0, "#e8e8e8"),
}


@lru_cache(maxsize=4)
def country_outlines(tolerance_deg: float = 0.08) -> dict[str, Any]:
    """Country polygons as a GeoJSON FeatureCollection (``name``, ``iso`` properties), simplified.

    ``tolerance_deg`` is the Douglas-Peucker tolerance in degrees (0.08 is
    about 9 km: invisible below zoom 6, and it halves the layer's bytes).
    """
    import shapely
    from shapely.geometry import mapping, shape

    features = []
    try:
        folder = resources.files("countryinfo") / "data"
    except ModuleNotFoundError:
        raise RuntimeError(
            "the offline basemap reads its country outlines from the countryinfo package (Python >= 3.11); "
            "install it with pip install countryinfo, or pass basemap='light' where tiles are reachable"
        ) from None
    for item in sorted(folder.iterdir(), key=lambda p: p.name):
        if not item.name.endswith(".json"):
            continue
        record = json.loads(item.read_text(encoding="utf-8"))
        for feature in (record.get("geoJSON") or {}).get("features", []):
            geometry = shape(feature["geometry"]).simplify(tolerance_deg, preserve_topology=True)
            if geometry.is_empty:
                continue
            geometry = shapely.transform(geometry, lambda xy: np.round(xy, 2))  # 1 km: bytes, not detail
            iso = (record.get("ISO") or {}).get("alpha2", "")
            features.append(
                {
                    "type": "Feature",
                    "properties": {"name": record.get("name", ""), "iso": iso},
                    "geometry": mapping(geometry),
                }
            )
    return {"type": "FeatureCollection", "features": features}


def sea_color(style: str) -> str:
    """The map background for a style: the sea wherever no tile covers it."""
    return _palette(style)[0]


def outline_data(style: str) -> dict[str, Any]:
    """The offline layer's GeoJSON for a style: filled land offline (and, lightly, in ``auto``), borders over tiles."""
    _, land, opacity, border = _palette(style)
    features = []
    for feature in country_outlines()["features"]:
        if land:
            style_of = {"fillColor": land, "fillOpacity": opacity, "color": border, "weight": 0.8, "opacity": 1.0}
        else:
            style_of = {"fill": False, "color": border, "weight": 0.8, "opacity": 0.8}
        features.append({**feature, "properties": {**feature["properties"], "style": style_of}})
    return {"type": "FeatureCollection", "features": features}


def _palette(style: str) -> tuple[str, str | None, float, str]:
    if style not in _PALETTE:
        raise InputError(f"unknown map style {style!r}; choose one of {', '.join(_PALETTE)}")
    return _PALETTE[style]
