"""Geocoding and spatial figures from one run: ``python benchmarks/maps.py [--quick]``.

Prints offline forward lookups per second (a column with repeats, and all
distinct names), offline reverse points per second, nearest branch for
customers x branches, and a planned route. The map-widget figures the issue
asks for (1M points to widget state, first frame in Voila) need MapView,
which is not built yet; this script says so instead of inventing numbers.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from codex_jupyter.analytics.spatial import nearest_k, plan_route
from codex_jupyter.sources.gazetteer import load_gazetteer
from codex_jupyter.sources.geocoding import GeocoderChain, geocode_frame, reverse_frame


def _timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (CI), well under 30 s")
    args = parser.parse_args(argv)
    n_rows = 100_000 if args.quick else 1_000_000
    n_points = 200_000 if args.quick else 1_000_000
    n_customers = 200_000 if args.quick else 1_000_000
    n_stops = 30 if args.quick else 100
    rng = np.random.default_rng(0)

    gaz, load_s = _timed(lambda: load_gazetteer(15000))
    print(f"gazetteer load (34k cities, names index, KD-tree): {load_s:.2f} s (once per process)")
    chain = GeocoderChain(["offline"], cache=False)

    names = gaz.name[rng.integers(0, 5000, n_rows)]
    frame = pd.DataFrame({"city": names})
    out, secs = _timed(lambda: geocode_frame(frame, "city", chain=chain, progress=False))
    distinct = frame.city.nunique()
    print(
        f"forward, column of {n_rows:,} rows ({distinct:,} distinct): {secs:.2f} s = {n_rows / secs:,.0f} rows/s; "
        f"matched {out.geocode_error.isna().mean():.1%}"
    )
    unique = pd.DataFrame({"city": pd.unique(gaz.name)[:20_000]})
    _, secs = _timed(lambda: geocode_frame(unique, "city", chain=chain, progress=False))
    print(f"forward, {len(unique):,} distinct names: {secs:.2f} s = {len(unique) / secs:,.0f} lookups/s")

    near = rng.integers(0, len(gaz.lat), n_points)
    pts = pd.DataFrame(
        {"lat": gaz.lat[near] + rng.normal(0, 0.05, n_points), "lon": gaz.lon[near] + rng.normal(0, 0.05, n_points)}
    )
    _, secs = _timed(lambda: reverse_frame(pts, "lat", "lon", chain=chain))
    print(f"reverse, {n_points:,} points near places: {secs:.2f} s = {n_points / secs:,.0f} points/s")
    glob = pd.DataFrame({"lat": rng.uniform(-60, 75, n_points), "lon": rng.uniform(-180, 180, n_points)})
    _, secs = _timed(lambda: reverse_frame(glob, "lat", "lon", chain=chain))
    print(f"reverse, {n_points:,} uniform points (mostly ocean): {secs:.2f} s = {n_points / secs:,.0f} points/s")

    branches = rng.integers(0, len(gaz.lat), 1000)
    home = rng.integers(0, 1000, n_customers)
    c_lat = gaz.lat[branches][home] + rng.normal(0, 0.08, n_customers)
    c_lon = gaz.lon[branches][home] + rng.normal(0, 0.08, n_customers)
    _, secs = _timed(lambda: nearest_k(c_lat, c_lon, gaz.lat[branches], gaz.lon[branches], k=1))
    print(f"nearest branch, {n_customers:,} customers x 1,000 branches: {secs:.2f} s")

    stops = pd.DataFrame({"lat": rng.uniform(51.3, 51.7, n_stops), "lon": rng.uniform(-0.5, 0.3, n_stops)})
    route, secs = _timed(lambda: plan_route(stops, start=(51.5074, -0.1278), return_to_start=True))
    print(f"route, {n_stops} stops (OR-Tools, guided local search): {secs:.2f} s, {route.total_km:,.1f} km")
    print("map widget state / Voila first frame / zoom re-aggregation: not measured (MapView is not built yet)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
