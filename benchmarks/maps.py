"""Geocoding and spatial figures from one run: ``python benchmarks/maps.py [--quick]``.

Prints the one-time cost of the first forward column in a process (the
folding table, name index and answers table), offline forward lookups per
second (a column with repeats, and all distinct names), offline reverse points per second, nearest branch for
customers x branches, a planned route, and the map view: N points (lat,
lon, one float value) to a map-ready ``MapView`` state (seconds, and the JSON
bytes its layers would send to the browser) next to the same points as
GeoJSON, and re-aggregation on zoom and pan.

``python benchmarks/maps.py --voila`` measures instead the first frame of a
map page in Voila, in Debian's Chromium: seconds from opening the page until
the map shows the basemap and the data layer, for 100 points (the baseline)
and 1,000,000 points, each from a cold server and from a preheated one (the
notebook already ran in a waiting kernel, as ``codex-jupyter demo`` serves
the map dashboard), and how long the preheated pool took to fill.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import pandas as pd

from codex_jupyter import config
from codex_jupyter.analytics.spatial import nearest_k, plan_route
from codex_jupyter.sources.geo.gazetteer import load_gazetteer
from codex_jupyter.sources.geo.geocoding import GeocoderChain, geocode_frame, reverse_frame


def _timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (CI), well under 30 s")
    parser.add_argument("--voila", action="store_true", help="only: Voila first map frame, cold and preheated")
    args = parser.parse_args(argv)
    if args.voila:
        voila_first_frame()
        return 0
    n_rows = 100_000 if args.quick else 1_000_000
    n_points = 200_000 if args.quick else 1_000_000
    n_customers = 200_000 if args.quick else 1_000_000
    n_stops = 30 if args.quick else 100
    rng = np.random.default_rng(0)

    cached = any(config.cache_dir().glob("gazetteer-names-*-15000-*.json"))
    gaz, load_s = _timed(lambda: load_gazetteer(15000))
    how = "name index read from the disk cache" if cached else "name index built, then cached on disk"
    print(f"gazetteer load (34k cities, names index, KD-tree): {load_s:.2f} s (once per process; {how})")
    chain = GeocoderChain(["offline"], cache=False)

    names = gaz.name[rng.integers(0, 5000, n_rows)]
    frame = pd.DataFrame({"city": names})
    _, secs = _timed(lambda: geocode_frame(frame.head(1), "city", chain=chain, progress=False))
    print(f"forward, first column (folding table, name index, answers table): {secs:.2f} s (once per process)")
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
    _map_figures(rng, 200_000 if args.quick else 1_000_000)
    return 0


def _map_figures(rng: np.random.Generator, n: int) -> None:
    """MapView state for ``n`` points vs GeoJSON, and re-aggregation as a reader zooms and pans."""
    from codex_jupyter.widgets.map import MapView

    frame = pd.DataFrame(
        {"lat": rng.uniform(-60, 70, n), "lon": rng.uniform(-180, 180, n), "value": rng.gamma(2.0, 10.0, n)}
    )
    view, secs = _timed(lambda: MapView(frame, color="value"))
    print(
        f"map view, {n:,} points to widget state: {secs:.2f} s, {view.payload_bytes / 1e6:.2f} MB "
        f"({view.shown}, {len(view._data.data['features']):,} H3 cells at resolution {view.resolution})"
    )
    geojson_n = min(n, 200_000)
    features = [
        {"type": "Feature", "properties": {"value": v}, "geometry": {"type": "Point", "coordinates": [x, y]}}
        for y, x, v in zip(
            frame.lat[:geojson_n].tolist(),
            frame.lon[:geojson_n].tolist(),
            frame.value[:geojson_n].tolist(),
            strict=True,
        )
    ]
    text, secs = _timed(lambda: json.dumps({"type": "FeatureCollection", "features": features}))
    scale = n / geojson_n
    note = "" if scale == 1 else f" (measured on {geojson_n:,}, scaled x{scale:g})"
    print(f"same points as GeoJSON: {secs * scale:.2f} s, {len(text) * scale / 1e6:.1f} MB{note}")
    moves = [
        (40, -10, 60, 30, 5),
        (44, 0, 52, 10, 7),
        (44.6, 0.6, 52.6, 10.6, 7),
        (47, 4, 49, 6, 10),
        (-80, -180, 85, 180, 2),
    ]
    for south, west, north, east, zoom in moves:
        m = view.map
        start = time.perf_counter()
        with m.hold_trait_notifications():
            for name, value in zip(("south", "west", "north", "east"), (south, west, north, east), strict=True):
                m.set_trait(name, value)
            m.zoom = zoom
        ms = (time.perf_counter() - start) * 1000
        print(
            f"  zoom {zoom:>2} over ({south}, {west})-({north}, {east}): {ms:6.0f} ms, "
            f"{view.payload_bytes / 1e3:,.0f} kB, {view.shown} at resolution {view.resolution}"
        )


_MAP_NOTEBOOK = """\
import numpy as np, pandas as pd
from codex_jupyter.widgets.map import MapView
rng = np.random.default_rng(0)
n = {n}
df = pd.DataFrame({{"lat": rng.uniform(-60, 70, n), "lon": rng.uniform(-180, 180, n), "value": rng.normal(size=n)}})
MapView(df, lat="lat", lon="lon", color="value")
"""


def voila_first_frame(sizes: tuple[int, ...] = (100, 1_000_000), repeats: int = 3) -> None:
    """Seconds from opening a Voila page until its map shows the basemap and the data layer (Chromium).

    Each page is opened ``repeats`` times from a cold server (every page starts a kernel, imports and runs
    the notebook) and then from a preheated one (``voila_command(preheat=1)``: the notebook already ran in a
    waiting kernel). The 100-point page is the baseline: what every map page pays whatever its size.
    A preheated page is opened only when every pool is full again, which each notebook reports by touching
    a file in ``CODEX_BENCH_READY`` once it has run, so filling the pool is timed apart from first frames.
    """
    import functools
    import os
    import socket
    import statistics
    import subprocess
    import tempfile
    import urllib.request
    from collections import Counter
    from collections.abc import Callable
    from pathlib import Path

    import nbformat
    from playwright.sync_api import Browser, sync_playwright

    from codex_jupyter.cli import voila_command

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from chromium import launch_chromium

    ready_cell = (
        "import os, pathlib\n"
        "if 'CODEX_BENCH_READY' in os.environ:  # this kernel has run the page: the benchmark may open it\n"
        "    pathlib.Path(os.environ['CODEX_BENCH_READY'], f'{{os.getpid()}}.{name}').touch()"
    )

    def wait_until(done: Callable[[], bool], what: str, server: subprocess.Popen, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"voila_first_frame: no {what} within {timeout:.0f} s (Voila: {server.poll()})")
            time.sleep(0.1)

    def answers(port: int) -> bool:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
        except OSError:
            return False
        return True

    def first_frame(browser: Browser, url: str) -> float:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        start = time.perf_counter()
        page.goto(url, timeout=180_000)
        page.wait_for_function(
            "() => { const m = document.querySelector('.leaflet-container');"
            " return m && m.querySelectorAll('path').length > 150; }",
            timeout=180_000,
        )
        seconds = time.perf_counter() - start
        page.close(run_before_unload=True)  # like a reader closing the tab: Voila shuts the kernel down
        return seconds

    seconds: dict[tuple[str, int], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="codex-bench-voila-") as folder:
        root, ready = Path(folder) / "notebooks", Path(folder) / "ready"
        root.mkdir()
        ready.mkdir()
        names = {n: f"map_{n}.ipynb" for n in sizes}
        for n, name in names.items():
            nb = nbformat.v4.new_notebook()
            nb.cells = [
                nbformat.v4.new_code_cell(_MAP_NOTEBOOK.format(n=n)),
                nbformat.v4.new_code_cell(ready_cell.format(name=name)),
            ]
            nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
            nbformat.write(nb, str(root / name))
        # Markers each page has left once its pool is full: one per preheated kernel Voila has started for it.
        runs: Counter[str] = Counter()

        def pools_full() -> bool:
            return all(len(list(ready.glob(f"*.{name}"))) >= k for name, k in runs.items())

        with sync_playwright() as pw:
            browser = launch_chromium(pw)
            for mode, preheat in (("cold", 0), ("preheated", 1)):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", 0))
                    port = sock.getsockname()[1]
                launched = time.perf_counter()
                server = subprocess.Popen(
                    voila_command(root, port, "127.0.0.1", False, preheat=preheat, preheated=names.values()),
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    env={**os.environ, "CODEX_BENCH_READY": str(ready)} if preheat else None,
                )
                try:
                    wait_until(functools.partial(answers, port), "answer from Voila", server, timeout=60)
                    if preheat:
                        runs.update({name: preheat for name in names.values()})
                        wait_until(pools_full, "full pool", server)
                        print(
                            f"Voila preheat pool ({len(names)} kernels, one per page) filled "
                            f"{time.perf_counter() - launched:.1f} s after launch"
                        )
                    for _ in range(repeats):
                        for n, name in names.items():
                            wait_until(pools_full, "refilled pool", server)
                            url = f"http://127.0.0.1:{port}/voila/render/{name}"
                            seconds.setdefault((mode, n), []).append(first_frame(browser, url))
                            runs[name] += preheat  # the page took a waiting kernel: Voila starts another
                finally:
                    server.terminate()
                    server.wait(20)
            browser.close()
    print(f"Voila first frame, seconds (median of {repeats}, min-max):")
    for n in sizes:
        cold, hot = seconds[("cold", n)], seconds[("preheated", n)]
        print(
            f"  {n:>9,} points: cold {statistics.median(cold):.2f} ({min(cold):.2f}-{max(cold):.2f}), "
            f"preheated {statistics.median(hot):.2f} ({min(hot):.2f}-{max(hot):.2f})"
        )


if __name__ == "__main__":
    raise SystemExit(main())
