"""Route planning: the order in which to visit stops (a technician's devices, a cash run to ATMs).

A travelling-salesman problem solved with OR-Tools' routing solver (cheapest
arc first, then guided local search within a time limit). Costs come from a
distance function over the stops: great-circle kilometres by default, or
road kilometres from an OSRM server when the caller passes
:func:`codex_jupyter.sources.geo.osrm.table_km` (this module does no I/O).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from codex_jupyter.errors import InputError
from codex_jupyter.extras import require
from codex_jupyter.sphere import haversine_km

#: A distance function: latitudes and longitudes in, an n x n matrix of kilometres out.
DistanceFn = Callable[[np.ndarray, np.ndarray], np.ndarray]

_METRES_PER_KM = 1000


def great_circle_matrix(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """All-pairs great-circle kilometres."""
    lat, lon = np.asarray(lat, dtype=float), np.asarray(lon, dtype=float)
    return haversine_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :])


@dataclass(frozen=True)
class Route:
    """A planned visit order.

    ``stops`` is the input reordered, with ``visit`` (1, 2, ...), ``leg_km``
    (from the previous stop or the start) and ``cumulative_km``; ``order``
    holds the input positions in visiting order; ``total_km`` includes the
    return leg when one was asked for.
    """

    stops: pd.DataFrame
    order: list[int]
    total_km: float
    return_km: float
    distances: str
    coords: tuple[tuple[float, float], ...] = ()

    def __repr__(self) -> str:
        return f"Route({len(self.order)} stops, {self.total_km:,.1f} km on {self.distances} distances)"

    def path(self, start: tuple[float, float] | None = None) -> list[tuple[float, float]]:
        """The ``(lat, lon)`` vertices to draw, from ``start`` if given (and back when the route returns)."""
        points = list(self.coords)
        head = [start] if start is not None else []
        tail = [start] if start is not None and self.return_km > 0 else []
        return head + points + tail


def plan_route(
    stops: pd.DataFrame,
    start: tuple[float, float] | None = None,
    *,
    lat: str = "lat",
    lon: str = "lon",
    return_to_start: bool = False,
    distances: DistanceFn | None = None,
    time_limit_seconds: float | None = None,
) -> Route:
    """Order ``stops`` to keep the travelled distance short.

    ``start`` is a ``(lat, lon)`` the route leaves from (a depot); without it
    the route may begin at any stop. ``distances`` computes the cost matrix
    (default great-circle); it receives the start first, then the stops.
    The solver searches for ``time_limit_seconds`` (default grows with the
    number of stops, about 3 s for 100). Stops with missing or out-of-range
    coordinates raise ``ValueError``: a route cannot skip a visit silently.
    """
    require("routing")
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    la = pd.to_numeric(stops[lat], errors="coerce").to_numpy(dtype=float)
    lo = pd.to_numeric(stops[lon], errors="coerce").to_numpy(dtype=float)
    bad = ~(np.isfinite(la) & np.isfinite(lo) & (np.abs(la) <= 90) & (np.abs(lo) <= 180))
    if bad.any():
        rows = np.flatnonzero(bad)[:5].tolist()
        raise InputError(f"{int(bad.sum())} stop(s) have missing or out-of-range coordinates (rows {rows})")
    if return_to_start and start is None:
        raise InputError("return_to_start needs a start")
    n = len(stops)
    if n == 0:
        return Route(_annotated(stops, [], np.zeros(0)), [], 0.0, 0.0, "no")
    points_lat = np.concatenate(([start[0]], la)) if start is not None else la
    points_lon = np.concatenate(([start[1]], lo)) if start is not None else lo
    km = np.asarray((distances or great_circle_matrix)(points_lat, points_lon), dtype=float)
    if km.shape != (len(points_lat), len(points_lat)):
        raise InputError(f"the distance function returned a {km.shape} matrix for {len(points_lat)} points")
    # Node 0 is the depot: the start, or a free node with zero-cost arcs so the route may begin and end anywhere.
    cost = np.zeros((n + 1, n + 1))
    if start is not None:
        cost[:, :] = km
        if not return_to_start:
            cost[1:, 0] = 0.0
    else:
        cost[1:, 1:] = km
    unreachable = ~np.isfinite(cost)
    cost = np.rint(np.where(unreachable, 0, cost) * _METRES_PER_KM).astype(np.int64)
    cost[unreachable] = cost.max() * 10 + 1_000_000  # a road network gap: allowed, but only as a last resort

    manager = pywrapcp.RoutingIndexManager(n + 1, 1, 0)
    model = pywrapcp.RoutingModel(manager)
    model.SetArcCostEvaluatorOfAllVehicles(model.RegisterTransitMatrix(cost.tolist()))
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    limit = time_limit_seconds if time_limit_seconds is not None else min(5.0, 0.2 + 0.028 * n)
    params.time_limit.FromMilliseconds(max(1, int(limit * 1000)))
    solution = model.SolveWithParameters(params)
    if solution is None:
        raise RuntimeError("the routing solver found no route; try a longer time_limit_seconds")
    nodes, index = [], model.Start(0)
    while not model.IsEnd(index):
        nodes.append(manager.IndexToNode(index))
        index = solution.Value(model.NextVar(index))
    order = [node - 1 for node in nodes[1:]]

    offset = 1 if start is not None else 0
    legs = np.zeros(n)
    for k, stop in enumerate(order):
        if k == 0:
            legs[k] = km[0, stop + 1] if start is not None else 0.0
        else:
            legs[k] = km[order[k - 1] + offset, stop + offset]
    back = float(km[order[-1] + 1, 0]) if return_to_start else 0.0
    source = "great-circle" if distances is None else getattr(distances, "label", "custom")
    coords = tuple((float(la[i]), float(lo[i])) for i in order)
    return Route(_annotated(stops, order, legs), order, float(legs.sum() + back), back, source, coords)


def _annotated(stops: pd.DataFrame, order: list[int], legs: np.ndarray) -> pd.DataFrame:
    out = stops.iloc[order].copy()
    out["visit"] = np.arange(1, len(order) + 1)
    out["leg_km"] = legs
    out["cumulative_km"] = np.cumsum(legs)
    return out
