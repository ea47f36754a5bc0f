"""H3 aggregation that can be re-run for any map view in milliseconds: pure computation, no I/O.

:func:`codex_jupyter.analytics.spatial.hex_bin` calls H3 once per point, about
a second per million points. A map re-aggregates on every zoom and pan, so
:class:`HexIndex` pays that cost once: it keeps each point's cell at one
resolution, and derives any coarser cell with bit operations on the H3 index
(a parent cell is the same 64-bit index with the resolution field lowered and
the finer digits set to 7). Counting the visible points of a view is then a
mask, a shift and a hash in numpy, whatever the row count. Finer views (a
zoom into a small area) index their visible points at the finest resolution
the first time they are asked for.

H3 children do not nest exactly inside their parent hexagon, so a point
within a few percent of a coarse cell's edge may be counted in its
neighbour (2-7 % of points in the tests, more the coarser): invisible on a map drawn at that
resolution, and why ``hex_bin`` remains the exact tool for analysis.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd

from codex_jupyter.errors import InputError

__all__ = ["HexIndex", "resolution_for_zoom"]

_RES_SHIFT = 52
_RES_MASK = np.uint64(0xF << _RES_SHIFT)
#: Mean H3 hexagon edge length in km for resolutions 0..15 (from the H3 documentation).
_EDGE_KM = np.array(
    [
        *(1281.256, 483.057, 182.513, 68.979, 26.072, 9.854, 3.725, 1.406),
        *(0.531, 0.201, 0.076, 0.029, 0.011, 0.004, 0.0015, 0.00058),
    ]
)


def _children_mask(resolution: int) -> np.uint64:
    """Bits of the digits finer than ``resolution``, all set to 7 in a cell of that resolution."""
    mask = 0
    for digit in range(resolution + 1, 16):
        mask |= 0b111 << ((15 - digit) * 3)
    return np.uint64(mask)


def parent_cells(cells: np.ndarray, resolution: int) -> np.ndarray:
    """The H3 parent of each cell (``uint64``) at a coarser ``resolution``, vectorised."""
    cells = np.asarray(cells, dtype=np.uint64)
    return (cells & ~_RES_MASK) | np.uint64(resolution << _RES_SHIFT) | _children_mask(resolution)


def resolution_for_zoom(zoom: float, lat: float = 0.0, edge_px: float = 18.0, finest: int = 15) -> int:
    """The H3 resolution whose hexagons are about ``edge_px`` pixels across at a web-map ``zoom``.

    A Web Mercator pixel covers ``156.543 * cos(lat) / 2**zoom`` km, so the
    target edge in km shrinks by half per zoom step; the closest H3 edge (on
    a log scale) wins.
    """
    km_per_px = 156.543 * np.cos(np.radians(np.clip(lat, -85, 85))) / 2.0 ** float(zoom)
    target = edge_px * km_per_px
    best = int(np.argmin(np.abs(np.log(_EDGE_KM) - np.log(max(target, 1e-6)))))
    return min(best, finest)


class HexIndex:
    """Points indexed once with H3, aggregated at any resolution on demand.

    ``values`` (optional, numeric) are aggregated per cell (``"mean"``,
    ``"sum"``, ``"max"`` or ``"min"``). Points with missing or out-of-range
    coordinates are kept out, as in ``hex_bin``.

    ``indexed`` is the resolution every point is indexed at up front
    (default: ``finest``); coarser views are bit operations on those cells.
    H3 costs more per point the finer the cell, so a map indexes only a few
    levels finer than its first view needs, and a view finer than
    ``indexed`` (a zoom into a small area) indexes just its visible points at
    ``finest``, once.
    """

    def __init__(self, lat: Any, lon: Any, values: Any = None, finest: int = 11, indexed: int | None = None) -> None:
        from codex_jupyter.analytics.spatial.queries import _coords

        indexed = finest if indexed is None else indexed
        if not 0 <= indexed <= finest <= 15:
            raise InputError("H3 resolutions must satisfy 0 <= indexed <= finest <= 15")
        la, lo, ok = _coords(lat, lon)
        self.finest, self.indexed = finest, indexed
        self.rows = np.flatnonzero(ok)
        self.lat, self.lon = la[ok], lo[ok]
        self.values = None if values is None else np.asarray(values, dtype=float)[ok]
        self.cells = _latlng_to_cells(self.lat, self.lon, indexed)
        # Cells at ``finest``; 0 (never an H3 index) marks points not indexed that finely yet.
        self._fine = self.cells if indexed == finest else np.zeros(len(self.rows), dtype=np.uint64)

    def __len__(self) -> int:
        return len(self.rows)

    def visible(self, bounds: tuple[float, float, float, float] | None) -> np.ndarray:
        """Positions (into the indexed points) inside ``(south, west, north, east)``, across the antimeridian too."""
        if bounds is None:
            return np.arange(len(self.rows))
        south, west, north, east = bounds
        if east - west >= 360:
            in_lon = np.ones(len(self.lon), dtype=bool)
        else:
            west, east = _wrap(west), _wrap(east)
            in_lon = (
                (self.lon >= west) & (self.lon <= east) if west <= east else (self.lon >= west) | (self.lon <= east)
            )
        return np.flatnonzero(in_lon & (self.lat >= south) & (self.lat <= north))

    def aggregate(
        self, resolution: int, bounds: tuple[float, float, float, float] | None = None, agg: str = "mean"
    ) -> pd.DataFrame:
        """One row per cell: ``h3``, ``count``, ``value`` (when values were given), ``lat``, ``lon`` (its centre).

        The same columns as ``hex_bin(lat, lon, resolution, values, agg,
        bounds)``, with cells taken as parents of the fine cells.
        """
        import h3
        import h3.api.numpy_int as h3i

        if not 0 <= resolution <= self.finest:
            raise InputError(f"resolution must be between 0 and the index's finest ({self.finest})")
        if agg not in ("mean", "sum", "max", "min"):
            raise InputError("agg must be one of mean, sum, max, min")
        at = self.visible(bounds)
        # Hashing then sorting the few distinct cells beats np.unique's sort of every point.
        codes, distinct = pd.factorize(self._cells_at(at, resolution))
        order = np.argsort(distinct)
        cells, rank = distinct[order], np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        inverse = rank[codes]
        out = pd.DataFrame({"count": np.bincount(inverse, minlength=len(cells)).astype(np.int64)})
        if self.values is not None:
            out["value"] = _reduce(self.values[at], inverse, len(cells), agg)
        centres = [h3i.cell_to_latlng(int(c)) for c in cells]
        out.insert(0, "h3", [h3.int_to_str(int(c)) for c in cells])
        out["lat"] = [c[0] for c in centres]
        out["lon"] = [c[1] for c in centres]
        return out

    def _cells_at(self, at: np.ndarray, resolution: int) -> np.ndarray:
        """The cells of the points at positions ``at``, at ``resolution`` (indexing them at ``finest`` if needed)."""
        if resolution <= self.indexed:
            return parent_cells(self.cells[at], resolution)
        missing = at[self._fine[at] == 0]
        if len(missing):
            self._fine[missing] = _latlng_to_cells(self.lat[missing], self.lon[missing], self.finest)
        return parent_cells(self._fine[at], resolution)


def _latlng_to_cells(lat: np.ndarray, lon: np.ndarray, resolution: int) -> np.ndarray:
    """H3 cells (``uint64``) of points, one H3 call each: h3 4.5 has no vectorised ``latlng_to_cell``."""
    import h3.api.numpy_int as h3i

    return np.fromiter(
        map(h3i.latlng_to_cell, lat.tolist(), lon.tolist(), itertools.repeat(resolution)),
        dtype=np.uint64,
        count=len(lat),
    )


def _wrap(lon: float) -> float:
    return (lon + 180.0) % 360.0 - 180.0 if not -180.0 <= lon <= 180.0 else lon


def _reduce(values: np.ndarray, inverse: np.ndarray, n: int, agg: str) -> np.ndarray:
    if agg in ("mean", "sum"):
        finite = np.isfinite(values)
        total = np.bincount(inverse[finite], weights=values[finite], minlength=n)
        if agg == "sum":
            return total
        counted = np.bincount(inverse[finite], minlength=n)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(counted > 0, total / np.maximum(counted, 1), np.nan)
    out = np.full(n, np.nan)
    finite = np.isfinite(values)
    (np.fmax if agg == "max" else np.fmin).at(out, inverse[finite], values[finite])
    return out
