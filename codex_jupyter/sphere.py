"""Distances on the Earth as a sphere: shared by sources (gazetteer, demo data) and analytics (spatial).

It sits below every layer, like ``config``: plain numpy, no I/O. Nearest-place
searches put points on the unit sphere and use straight-line (chord)
distances in a KD-tree, which order exactly like great-circle distances.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Mean Earth radius (IUGG), the sphere every great-circle figure here uses.
EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> Any:
    """Great-circle kilometres (scalars or broadcasting arrays, degrees); within 0.5 % of the ellipsoid."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(np.subtract(lon2, lon1)) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def unit_vectors(lat_deg: np.ndarray, lon_deg: np.ndarray) -> np.ndarray:
    """Points on the unit sphere, shape ``(n, 3)``."""
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    cos_lat = np.cos(lat)
    return np.column_stack((cos_lat * np.cos(lon), cos_lat * np.sin(lon), np.sin(lat)))


def chord_to_km(chord: np.ndarray) -> np.ndarray:
    """Great-circle kilometres from straight-line distances between unit vectors."""
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.clip(chord / 2.0, 0.0, 1.0))


def km_to_chord(km: float) -> float:
    """The unit-vector distance that corresponds to ``km`` along the sphere."""
    return float(2.0 * np.sin(min(km / EARTH_RADIUS_KM, np.pi) / 2.0))


def jitter_km(rng: np.random.Generator, lat: np.ndarray, lon: np.ndarray, km: float) -> tuple[np.ndarray, np.ndarray]:
    """Points moved by a random offset of about ``km`` kilometres (rounded to 5 decimals, about a metre)."""
    dlat = rng.normal(0, km / 111.0, len(lat))
    dlon = rng.normal(0, km / 111.0, len(lon)) / np.cos(np.radians(lat))
    return (lat + dlat).round(5), (lon + dlon).round(5)
