"""Spatial helpers on the demo bank: distances, nearest branch, radius, clusters, geofences, hexes, routes."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import shapely

from codex_jupyter.analytics.spatial import (
    Geofences,
    dbscan_km,
    geodesic_km,
    great_circle_matrix,
    haversine_km,
    hex_bin,
    nearest,
    nearest_k,
    plan_route,
    within_radius,
)
from codex_jupyter.sources.demo import bank as demo_data

LONDON, PARIS = (51.50853, -0.12574), (48.85341, 2.3488)


@pytest.fixture(scope="module")
def branches() -> pd.DataFrame:
    return demo_data.branches()


@pytest.fixture(scope="module")
def customers(branches: pd.DataFrame) -> pd.DataFrame:
    return demo_data.customers(branches, n=2000)


def test_distances_agree_with_known_values() -> None:
    assert haversine_km(*LONDON, *PARIS) == pytest.approx(343.9, abs=0.5)
    assert geodesic_km(*LONDON, *PARIS)[()] == pytest.approx(343.9, rel=0.005)
    assert haversine_km(0, 179.5, 0, -179.5) == pytest.approx(111.2, abs=0.1)  # across the antimeridian
    assert np.isnan(geodesic_km([np.nan], [0], [0], [0])[0])


def test_nearest_branch_for_each_customer_matches_brute_force(branches: pd.DataFrame, customers) -> None:
    out = nearest(customers, branches, lat="home_lat", lon="home_lon", target_id="branch_id")
    assert out.index.equals(customers.index)
    brute = haversine_km(
        customers.home_lat.to_numpy()[:, None],
        customers.home_lon.to_numpy()[:, None],
        branches.lat.to_numpy()[None, :],
        branches.lon.to_numpy()[None, :],
    )
    np.testing.assert_allclose(out.distance_km, brute.min(axis=1), rtol=1e-6, atol=1e-6)
    # Customers live around their home branch (8 km jitter), so it is nearly always the nearest one.
    assert (out.nearest == customers.home_branch_id).mean() > 0.97


def test_nearest_k_and_unusable_points() -> None:
    idx, km = nearest_k([51.5, np.nan, 95.0], [-0.1, 0.0, 0.0], [LONDON[0], PARIS[0]], [LONDON[1], PARIS[1]], k=2)
    assert idx[0].tolist() == [0, 1] and km[0, 0] < 3 and 340 < km[0, 1] < 350
    assert idx[1].tolist() == [-1, -1] and np.isnan(km[2]).all()
    frame = nearest(
        pd.DataFrame({"lat": [48.9], "lon": [2.4]}), pd.DataFrame({"lat": [51.5, 48.85], "lon": [0, 2.35]}), k=2
    )
    assert list(frame.columns) == ["nearest", "distance_km", "nearest_2", "distance_km_2"] and frame.nearest[0] == 1
    with pytest.raises(ValueError, match="target"):
        nearest_k([0], [0], [np.nan], [0])


def test_within_radius(customers: pd.DataFrame) -> None:
    inside = within_radius(customers.home_lat, customers.home_lon, *LONDON, 30)
    assert inside.dtype == bool and 0 < inside.sum() < len(customers)
    assert (customers.home_city[inside] == "London").all()
    assert within_radius([np.nan, 51.5], [0, -0.12], *LONDON, 5).tolist() == [False, True]


def test_dbscan_in_kilometres_finds_each_city(customers: pd.DataFrame) -> None:
    labels = dbscan_km(customers.home_lat, customers.home_lon, eps_km=5, min_samples=10)
    big = customers.assign(label=labels)[labels >= 0]
    # Each cluster is one city: clusters never mix two branch cities.
    assert (big.groupby("label").home_city.nunique() == 1).all()
    assert big.home_city.nunique() >= 20
    assert dbscan_km([np.nan, 0], [0, 0], 1, min_samples=1).tolist() == [-1, 0]


def test_geofences_membership_and_filter(customers: pd.DataFrame) -> None:
    fences = Geofences(
        {
            "central london": [(51.45, -0.25), (51.45, 0.0), (51.56, 0.0), (51.56, -0.25)],
            "paris": shapely.box(2.2, 48.8, 2.5, 48.92),
            "geojson": {"type": "Polygon", "coordinates": [[[2.3, 48.8], [2.4, 48.8], [2.4, 48.9], [2.3, 48.8]]]},
        }
    )
    inside = fences.contains(customers.home_lat, customers.home_lon)
    assert list(inside.columns) == ["central london", "paris", "geojson"]
    assert (customers.home_city[inside["paris"].to_numpy()] == "Paris").all()
    picked = fences.filter(customers, lat="home_lat", lon="home_lon")
    assert set(picked.home_city) <= {"London", "Paris"} and len(picked) == inside.any(axis=1).sum()
    with pytest.raises(ValueError, match="at least 3"):
        Geofences({"bad": [(0, 0), (1, 1)]})


def test_enter_and_exit_events_along_tracks() -> None:
    fences = Geofences.circle("depot", 51.5, -0.12, radius_km=1.0)
    track = pd.DataFrame(
        {
            "device_id": ["a"] * 5 + ["b"] * 3,
            "ts": pd.Timestamp("2025-01-01 10:00") + pd.to_timedelta([0, 1, 2, 3, 4, 0, 1, 2], unit="min"),
            "lat": [51.6, 51.5, 51.5, np.nan, 51.7, 51.5, 51.5, 51.6],
            "lon": [-0.12] * 8,
        }
    ).sample(frac=1, random_state=1)  # arrival order does not matter
    events = fences.events(track)
    assert events[["device_id", "event"]].values.tolist() == [
        ["b", "enter"],
        ["a", "enter"],
        ["b", "exit"],
        ["a", "exit"],  # the missing position at 10:03 is a gap, not an exit
    ]
    assert events.ts.iloc[-1] == pd.Timestamp("2025-01-01 10:04")


def test_hex_bins_count_and_aggregate_within_bounds(customers: pd.DataFrame) -> None:
    bins = hex_bin(customers.home_lat, customers.home_lon, resolution=4)
    assert bins["count"].sum() == len(customers) and bins.h3.str.len().eq(15).all()
    values = np.ones(len(customers)) * 2
    summed = hex_bin(customers.home_lat, customers.home_lon, 4, values=values, agg="sum")
    assert (summed.value == summed["count"] * 2).all()
    europe = hex_bin(customers.home_lat, customers.home_lon, 4, bounds=(35, -15, 60, 20))
    assert 0 < europe["count"].sum() < len(customers) and europe.lon.between(-16, 21).all()
    with pytest.raises(ValueError):
        hex_bin([0], [0], resolution=16)


def test_route_is_optimal_on_small_instances(branches: pd.DataFrame) -> None:
    stops = branches[branches.country == "GB"].reset_index(drop=True)
    start = LONDON
    route = plan_route(stops, start=start, return_to_start=True, time_limit_seconds=0.5)
    assert sorted(route.order) == list(range(len(stops))) and route.stops.visit.tolist() == [1, 2, 3, 4, 5, 6]
    km = great_circle_matrix(np.r_[start[0], stops.lat], np.r_[start[1], stops.lon])
    best = min(
        km[0, p[0] + 1] + sum(km[a + 1, b + 1] for a, b in itertools.pairwise(p)) + km[p[-1] + 1, 0]
        for p in itertools.permutations(range(len(stops)))
    )
    assert route.total_km == pytest.approx(best, rel=1e-3)
    assert route.stops.cumulative_km.iloc[-1] + route.return_km == pytest.approx(route.total_km)
    assert route.path(start)[0] == start and route.path(start)[-1] == start


def test_open_route_without_start_and_bad_stops(branches: pd.DataFrame) -> None:
    route = plan_route(branches, time_limit_seconds=0.5)
    assert len(route.order) == len(branches) and route.stops.leg_km.iloc[0] == 0.0 and route.return_km == 0.0
    assert "great-circle" in repr(route)
    bad = branches.head(3).assign(lat=[1.0, np.nan, 2.0])
    with pytest.raises(ValueError, match="1 stop"):
        plan_route(bad)
    assert plan_route(branches.head(0)).order == []
