"""What a map view sends to the browser: small GeoJSON payloads built from frames, colours, popups.

Each payload is one GeoJSON layer (one comm), never one widget per marker:
ipyleaflet opens a comm per ``Marker`` and stalls near 2,000 of them.
Coordinates are rounded to 5 decimals (about a metre) because every digit
is a byte sent for every vertex. Features carry only their style and a row
position; a popup's fields are read from the frame in Python on click, so
they are never part of the bulk state.
"""

from __future__ import annotations

from html import escape
from typing import Any

import numpy as np
import pandas as pd

#: Sequential colours (viridis, 8 steps) for numeric values; categorical colours (Tableau 10) for labels.
SEQUENTIAL = ("#440154", "#46327e", "#365c8d", "#277f8e", "#1fa187", "#4ac16d", "#a0da39", "#fde725")
CATEGORICAL = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)
DEFAULT_COLOR = "#1f6fb2"
#: More categories than this share the last colour, labelled "other".
MAX_CATEGORIES = len(CATEGORICAL)


class Colors:
    """Per-row colours for a column, and the legend that explains them.

    Numeric columns get 8 quantile-free equal-width steps between the 2nd
    and 98th percentiles (an outlier does not flatten the scale); anything
    else gets one colour per category, the most frequent first.
    """

    def __init__(self, values: pd.Series | None, title: str = "") -> None:
        self.title = title
        self.numeric = values is not None and pd.api.types.is_numeric_dtype(values) and values.dtype != bool
        self.low = self.high = 0.0
        self.categories: list[Any] = []
        if values is None:
            return
        if self.numeric:
            finite = values[np.isfinite(values.to_numpy(dtype=float))]
            if len(finite):
                self.low, self.high = (float(v) for v in np.percentile(finite, [2, 98]))
        else:
            self.categories = list(values.astype(str).value_counts().index[:MAX_CATEGORIES])

    def of(self, values: Any) -> np.ndarray:
        """Colours for values of the column (or for aggregated numbers, on the same numeric scale)."""
        if self.numeric:
            return self.scale(np.asarray(values, dtype=float), self.low, self.high)
        if not self.categories:
            return np.full(len(values), DEFAULT_COLOR, dtype=object)
        lookup = {c: CATEGORICAL[i] for i, c in enumerate(self.categories)}
        return np.array([lookup.get(str(v), CATEGORICAL[-1]) for v in values], dtype=object)

    @staticmethod
    def scale(values: np.ndarray, low: float, high: float) -> np.ndarray:
        span = high - low if high > low else 1.0
        step = np.clip(((values - low) / span * len(SEQUENTIAL)).astype(float), 0, len(SEQUENTIAL) - 1)
        out = np.asarray(SEQUENTIAL, dtype=object)[np.nan_to_num(step, nan=0).astype(int)]
        out[~np.isfinite(values)] = "#bbbbbb"
        return out

    def legend(self) -> dict[str, str]:
        """Legend entries (label -> colour) for the column."""
        if self.numeric:
            return steps_legend(self.low, self.high)
        entries = {str(c): CATEGORICAL[i] for i, c in enumerate(self.categories)}
        if len(self.categories) == MAX_CATEGORIES:
            entries[f"{self.categories[-1]} / other"] = entries.pop(str(self.categories[-1]))
        return entries


def steps_legend(low: float, high: float, prefix: str = "") -> dict[str, str]:
    """Four legend rows spanning a numeric scale (every other colour step)."""
    edges = np.linspace(low, high, len(SEQUENTIAL) + 1)
    return {f"{prefix}{_number(edges[i])} to {_number(edges[i + 2])}": SEQUENTIAL[i + 1] for i in range(0, 8, 2)}


def _number(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.3g}"


def radii(values: pd.Series | None, n: int, low: float = 4.0, high: float = 14.0) -> np.ndarray:
    """Circle radii in pixels: by the square root of ``values`` (area follows the value), else all ``low + 1``."""
    if values is None:
        return np.full(n, low + 1.0)
    v = np.sqrt(np.clip(pd.to_numeric(values, errors="coerce").to_numpy(dtype=float), 0, None))
    top = np.nanpercentile(v, 98) if np.isfinite(v).any() else 0.0
    return np.round(low + (high - low) * np.clip(np.nan_to_num(v / top if top > 0 else v * 0), 0, 1), 1)


def point_features(lat: np.ndarray, lon: np.ndarray, rows: np.ndarray, colors: np.ndarray, sizes: np.ndarray) -> dict:
    """A FeatureCollection of circle markers; ``properties.row`` points back into the frame for popups."""
    features = [
        {
            "type": "Feature",
            "properties": {"row": int(r), "style": {"fillColor": c, "color": c, "radius": float(s)}},
            "geometry": {"type": "Point", "coordinates": [round(float(x), 5), round(float(y), 5)]},
        }
        for y, x, r, c, s in zip(lat, lon, rows, colors, sizes, strict=True)
    ]
    return {"type": "FeatureCollection", "features": features}


def hex_features(cells: pd.DataFrame, colors: np.ndarray) -> dict:
    """H3 cells (``h3``, ``count``, optional ``value``) as filled hexagons."""
    import h3

    features = []
    for cell, count, value, color in zip(
        cells.h3, cells["count"], cells.get("value", pd.Series(np.nan, index=cells.index)), colors, strict=True
    ):
        ring = [[round(lng, 4), round(la, 4)] for la, lng in h3.cell_to_boundary(cell)]  # 10 m: finer than a hexagon
        ring.append(ring[0])
        props = {"count": int(count), "style": {"fillColor": color, "color": color}}
        if np.isfinite(value):
            props["value"] = round(float(value), 4)
        features.append(
            {"type": "Feature", "properties": props, "geometry": {"type": "Polygon", "coordinates": [ring]}}
        )
    return {"type": "FeatureCollection", "features": features}


def cluster_features(cells: pd.DataFrame) -> dict:
    """H3 cells as clusters: one circle per cell at its points' cell centre, area by count."""
    sizes = radii(cells["count"], len(cells), low=6.0, high=26.0)
    colors = Colors.scale(np.log10(cells["count"].to_numpy(dtype=float)), 0.0, max(1.0, np.log10(cells["count"].max())))
    features = [
        {
            "type": "Feature",
            "properties": {"count": int(n), "style": {"fillColor": c, "color": "#ffffff", "radius": float(s)}},
            "geometry": {"type": "Point", "coordinates": [round(float(x), 5), round(float(y), 5)]},
        }
        for y, x, n, c, s in zip(cells.lat, cells.lon, cells["count"], colors, sizes, strict=True)
    ]
    return {"type": "FeatureCollection", "features": features}


def popup_html(record: pd.Series, fields: list[str] | None = None) -> str:
    """A record's fields as an HTML table; names and values are escaped (they are data, not markup)."""
    items = record.items() if fields is None else ((f, record.get(f)) for f in fields)
    rows = "".join(
        f"<tr><th style='text-align:left;padding-right:8px'>{escape(str(k))}</th><td>{escape(_text(v))}</td></tr>"
        for k, v in items
    )
    return f"<table class='codex-map-popup'>{rows}</table>"


def _text(value: Any) -> str:
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        return f"{value:,.6g}"
    return str(value)
