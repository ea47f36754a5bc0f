"""Spatial helpers on latitude/longitude arrays and frames: pure computation, no I/O.

Distances are great-circle (haversine) unless you ask for the ellipsoidal
``geodesic_km``. Nearest-neighbour and radius searches use a KD-tree on 3-D
unit vectors, which is exact on the sphere (searching in flat degrees is
not); clusters use scikit-learn's DBSCAN with the haversine metric, so
``eps_km`` means kilometres everywhere on Earth. Geofences are in
:mod:`.geofence`, route planning in :mod:`.routing`; the package re-exports all three.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from codex_jupyter.errors import InputError
from codex_jupyter.sphere import EARTH_RADIUS_KM, chord_to_km, haversine_km, unit_vectors

__all__ = [
    "EARTH_RADIUS_KM",
    "dbscan_km",
    "geodesic_km",
    "haversine_km",
    "hex_bin",
    "nearest",
    "nearest_k",
    "within_radius",
]


def geodesic_km(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> np.ndarray:
    """Kilometres on the WGS84 ellipsoid (Karney's method): exact, but one pair at a time.

    Use it where half a percent matters (surveying, billing by distance);
    :func:`haversine_km` is thousands of times faster for analytics.
    """
    from geographiclib.geodesic import Geodesic

    arrays = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in (lat1, lon1, lat2, lon2)))
    a, b, c, d = (x.ravel() for x in arrays)
    out = np.full(a.shape, np.nan)
    for i in np.flatnonzero(np.isfinite(a) & np.isfinite(b) & np.isfinite(c) & np.isfinite(d)):
        out[i] = Geodesic.WGS84.Inverse(a[i], b[i], c[i], d[i])["s12"] / 1000.0
    return out.reshape(arrays[0].shape)


def _coords(lat: Any, lon: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Float arrays and a mask of rows with usable coordinates (others get NaN results, not errors)."""
    la, lo = _floats(lat), _floats(lon)
    ok = np.isfinite(la) & np.isfinite(lo) & (np.abs(la) <= 90) & (np.abs(lo) <= 180)
    return la, lo, ok


def _floats(values: Any) -> np.ndarray:
    """A float array; text and other odd cells become NaN (numeric input skips that slow object pass)."""
    array = np.asarray(values)
    if array.dtype.kind in "fiu":
        return array.astype(float)  # a copy: callers may write into it
    return pd.to_numeric(pd.Series(np.asarray(values, dtype=object)), errors="coerce").to_numpy(dtype=float)


def nearest_k(
    lat: Any, lon: Any, target_lat: Any, target_lon: Any, k: int = 1, workers: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """For each point, the ``k`` nearest targets: positions (``-1`` if the point is unusable) and km.

    Shapes are ``(n, k)``. Exact on the sphere: 1M points against 1k
    targets takes about a second on one core.
    """
    from scipy.spatial import cKDTree

    la, lo, ok = _coords(lat, lon)
    tla, tlo, tok = _coords(target_lat, target_lon)
    if not tok.all():
        raise InputError(f"{int((~tok).sum())} target(s) have missing or out-of-range coordinates")
    k = min(k, len(tla))
    index = np.full((len(la), k), -1, dtype=np.int64)
    km = np.full((len(la), k), np.nan)
    if k == 0 or not ok.any():
        return index, km
    chord, idx = cKDTree(unit_vectors(tla, tlo)).query(unit_vectors(la[ok], lo[ok]), k=k, workers=workers)
    index[ok], km[ok] = idx.reshape(-1, k), chord_to_km(chord.reshape(-1, k))
    return index, km


def nearest(
    points: pd.DataFrame,
    targets: pd.DataFrame,
    *,
    lat: str = "lat",
    lon: str = "lon",
    target_lat: str = "lat",
    target_lon: str = "lon",
    target_id: str | None = None,
    k: int = 1,
) -> pd.DataFrame:
    """The nearest target(s) of each point, aligned with ``points`` (same index, same order).

    Columns ``nearest`` and ``distance_km`` (``nearest_2``, ``distance_km_2``
    ... for ``k > 1``); ``nearest`` holds ``targets[target_id]`` or the
    targets' index labels. Points without usable coordinates get missing values.
    """
    index, km = nearest_k(points[lat], points[lon], targets[target_lat], targets[target_lon], k=k)
    ids = (targets[target_id] if target_id else targets.index.to_series()).to_numpy(dtype=object)
    out = pd.DataFrame(index=points.index)
    for j in range(index.shape[1]):
        suffix = "" if j == 0 else f"_{j + 1}"
        out[f"nearest{suffix}"] = np.where(index[:, j] >= 0, ids[np.maximum(index[:, j], 0)], None)
        out[f"distance_km{suffix}"] = km[:, j]
    return out


def within_radius(lat: Any, lon: Any, center_lat: float, center_lon: float, radius_km: float) -> np.ndarray:
    """Boolean mask of points within ``radius_km`` of a centre (unusable points are ``False``)."""
    la, lo, ok = _coords(lat, lon)
    inside = np.zeros(len(la), dtype=bool)
    inside[ok] = haversine_km(la[ok], lo[ok], center_lat, center_lon) <= radius_km
    return inside


def dbscan_km(lat: Any, lon: Any, eps_km: float, min_samples: int = 5) -> np.ndarray:
    """DBSCAN cluster labels with a neighbourhood radius in kilometres (``-1`` = noise or unusable).

    Runs on radians with the haversine metric and a ball tree, so the radius
    is the same in Oslo and Singapore.
    """
    from sklearn.cluster import DBSCAN

    if eps_km <= 0:
        raise InputError("eps_km must be positive")
    la, lo, ok = _coords(lat, lon)
    labels = np.full(len(la), -1, dtype=np.int64)
    if ok.any():
        model = DBSCAN(eps=eps_km / EARTH_RADIUS_KM, min_samples=min_samples, metric="haversine", algorithm="ball_tree")
        labels[ok] = model.fit_predict(np.radians(np.column_stack((la[ok], lo[ok]))))
    return labels


def hex_bin(
    lat: Any, lon: Any, resolution: int = 5, values: Any = None, agg: str = "sum", bounds: tuple | None = None
) -> pd.DataFrame:
    """Aggregate points into H3 hexagons: one row per cell with ``count`` and, given values, ``value``.

    ``agg`` is any pandas group aggregation ("sum", "mean", "max" ...).
    ``bounds`` = ``(south, west, north, east)`` keeps only points inside (a
    map's visible area). Rows carry the cell id (``h3``) and its centre
    (``lat``, ``lon``) so a map can draw or label them. Unusable points are skipped.
    """
    import h3
    import h3.api.numpy_int as h3i

    if not 0 <= resolution <= 15:
        raise InputError("H3 resolution must be between 0 and 15")
    la, lo, ok = _coords(lat, lon)
    if bounds is not None:
        south, west, north, east = bounds
        in_lon = (lo >= west) & (lo <= east) if west <= east else (lo >= west) | (lo <= east)
        ok &= (la >= south) & (la <= north) & in_lon
    cells = np.fromiter(
        (h3i.latlng_to_cell(a, b, resolution) for a, b in zip(la[ok].tolist(), lo[ok].tolist(), strict=True)),
        dtype=np.uint64,
        count=int(ok.sum()),
    )
    frame = pd.DataFrame({"cell": cells})
    if values is not None:
        frame["value"] = np.asarray(values, dtype=float)[ok]
    grouped = frame.groupby("cell", sort=True)
    out = grouped.size().rename("count").to_frame()
    if values is not None:
        out["value"] = grouped["value"].agg(agg)
    centres = [h3i.cell_to_latlng(int(c)) for c in out.index]
    out.insert(0, "h3", [h3.int_to_str(int(c)) for c in out.index])
    out["lat"] = [c[0] for c in centres]
    out["lon"] = [c[1] for c in centres]
    return out.reset_index(drop=True)
