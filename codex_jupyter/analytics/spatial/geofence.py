"""Geofences: which fences contain which points, and enter/exit events along position streams.

Shapely 2's vectorised predicates and an STRtree do the geometry, so a
million positions against thousands of fences stay array operations rather
than a Python loop per point. Coordinates are longitude/latitude degrees
(GeoJSON order inside shapes); fences are treated as planar polygons, which
is accurate for fences up to a few hundred kilometres across.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from codex_jupyter.errors import InputError


class Geofences:
    """Named polygons: ``Geofences({"depot": polygon, ...})``.

    A fence is a shapely geometry, a GeoJSON geometry or Feature mapping, or
    a list of ``(lat, lon)`` vertices (the order a map's draw tool reports).
    """

    def __init__(self, fences: Mapping[str, Any]) -> None:
        import shapely

        if not fences:
            raise InputError("give at least one fence")
        self.names = np.array([str(n) for n in fences], dtype=object)
        self.geometries = np.array([_geometry(name, shape) for name, shape in fences.items()], dtype=object)
        self.tree = shapely.STRtree(self.geometries)

    def __repr__(self) -> str:
        return f"Geofences({list(self.names)!r})"

    def __len__(self) -> int:
        return len(self.names)

    @classmethod
    def circle(cls, name: str, lat: float, lon: float, radius_km: float, segments: int = 64) -> Geofences:
        """A round fence (a polygon approximating a circle of ``radius_km`` on the ground)."""
        angles = np.linspace(0, 2 * np.pi, segments, endpoint=False)
        dlat = radius_km / 111.195 * np.sin(angles)
        dlon = radius_km / (111.195 * np.cos(np.radians(lat))) * np.cos(angles)
        return cls({name: list(zip(lat + dlat, lon + dlon, strict=True))})

    def pairs(self, lat: Any, lon: Any) -> pd.DataFrame:
        """Every (point position, fence name) where the fence covers the point, in point order."""
        import shapely

        la = pd.to_numeric(pd.Series(np.asarray(lat, dtype=object)), errors="coerce").to_numpy(dtype=float)
        lo = pd.to_numeric(pd.Series(np.asarray(lon, dtype=object)), errors="coerce").to_numpy(dtype=float)
        ok = np.flatnonzero(np.isfinite(la) & np.isfinite(lo))
        points = shapely.points(lo[ok], la[ok])
        point_idx, fence_idx = self.tree.query(points, predicate="intersects")  # boundary counts as inside
        order = np.lexsort((fence_idx, point_idx))
        return pd.DataFrame({"point": ok[point_idx[order]], "fence": self.names[fence_idx[order]]})

    def contains(self, lat: Any, lon: Any) -> pd.DataFrame:
        """A boolean frame: one row per point, one column per fence."""
        n = len(np.asarray(lat))
        inside = pd.DataFrame(False, index=range(n), columns=list(self.names))
        pairs = self.pairs(lat, lon)
        for fence, rows in pairs.groupby("fence")["point"]:
            inside.loc[rows.to_numpy(), fence] = True
        return inside

    def filter(self, df: pd.DataFrame, lat: str = "lat", lon: str = "lon") -> pd.DataFrame:
        """The rows of ``df`` inside any fence (a map selection as a DataFrame filter)."""
        rows = np.unique(self.pairs(df[lat], df[lon])["point"].to_numpy())
        return df.iloc[rows]

    def events(
        self, df: pd.DataFrame, *, by: str = "device_id", ts: str = "ts", lat: str = "lat", lon: str = "lon"
    ) -> pd.DataFrame:
        """Enter and exit events along each object's (``by``) positions ordered by ``ts``.

        An object first seen inside a fence produces an ``enter`` at that
        time; positions without coordinates are skipped (a gap in a track is
        not an exit). Columns: ``by, ts, fence, event, lat, lon``.
        """
        track = df[[by, ts, lat, lon]].copy()
        track["_lat"] = pd.to_numeric(track[lat], errors="coerce")
        track["_lon"] = pd.to_numeric(track[lon], errors="coerce")
        track = track[track["_lat"].notna() & track["_lon"].notna()]
        track = track.sort_values([by, ts], kind="stable").reset_index(drop=True)
        pairs = self.pairs(track["_lat"], track["_lon"])
        first = (track[by] != track[by].shift()).to_numpy()
        rows: list[pd.DataFrame] = []
        for fence, inside_rows in pairs.groupby("fence")["point"]:
            inside = np.zeros(len(track), dtype=bool)
            inside[inside_rows.to_numpy()] = True
            before = np.roll(inside, 1)
            before[first] = False
            for event, mask in (("enter", inside & ~before), ("exit", ~inside & before)):
                hit = track.loc[mask, [by, ts, lat, lon]]
                rows.append(hit.assign(fence=fence, event=event))
        if not rows:
            return pd.DataFrame(columns=[by, ts, "fence", "event", lat, lon])
        out = pd.concat(rows, ignore_index=True)[[by, ts, "fence", "event", lat, lon]]
        return out.sort_values([ts, by, "fence"], kind="stable").reset_index(drop=True)


def _geometry(name: str, shape: Any) -> Any:
    import shapely
    from shapely.geometry import shape as from_geojson

    if isinstance(shape, shapely.Geometry):
        geometry = shape
    elif isinstance(shape, Mapping):
        geometry = from_geojson(shape.get("geometry", shape))
    else:
        vertices = [(float(lon), float(lat)) for lat, lon in shape]
        if len(vertices) < 3:
            raise InputError(f"fence {name!r} needs at least 3 vertices")
        geometry = shapely.Polygon(vertices)
    if geometry.is_empty or not isinstance(geometry, (shapely.Polygon, shapely.MultiPolygon)):
        raise InputError(f"fence {name!r} must be a polygon")
    if not geometry.is_valid:
        geometry = shapely.make_valid(geometry)
    shapely.prepare(geometry)
    return geometry
