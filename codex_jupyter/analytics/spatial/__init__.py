"""Spatial analytics on latitude/longitude: distances, nearest and radius searches, clusters,
geofences, hexagonal bins and route planning. Pure computation, no I/O (road distances
come in as a matrix from :mod:`codex_jupyter.sources.geo.osrm`).
"""

from codex_jupyter.analytics.spatial.geofence import Geofences
from codex_jupyter.analytics.spatial.queries import (
    EARTH_RADIUS_KM,
    dbscan_km,
    geodesic_km,
    haversine_km,
    hex_bin,
    nearest,
    nearest_k,
    within_radius,
)
from codex_jupyter.analytics.spatial.routing import Route, great_circle_matrix, plan_route

__all__ = [
    "EARTH_RADIUS_KM",
    "Geofences",
    "Route",
    "dbscan_km",
    "geodesic_km",
    "great_circle_matrix",
    "haversine_km",
    "hex_bin",
    "nearest",
    "nearest_k",
    "plan_route",
    "within_radius",
]
