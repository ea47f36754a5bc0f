"""Route planning on road distances from an OSRM ``table`` service (a local stand-in speaking its API)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from geo_stand_ins import StandIn

from codex_jupyter.analytics.spatial import great_circle_matrix, plan_route
from codex_jupyter.sources.geo.osrm import OsrmError, road_distances, table_km

pytestmark = pytest.mark.integration

ATMS = pd.DataFrame(
    {
        "atm": ["Bank", "Camden", "Greenwich", "Hammersmith", "Stratford"],
        "lat": [51.5134, 51.5390, 51.4826, 51.4927, 51.5416],
        "lon": [-0.0890, -0.1426, -0.0077, -0.2239, -0.0034],
    }
)


@pytest.fixture(scope="module")
def server() -> Iterator[StandIn]:
    s = StandIn()
    yield s
    s.stop()


def test_table_km_reads_osrm_distances(server: StandIn) -> None:
    km = table_km(ATMS.lat.to_numpy(), ATMS.lon.to_numpy(), url=server.url)
    np.testing.assert_allclose(km, 1.3 * great_circle_matrix(ATMS.lat, ATMS.lon), rtol=1e-4, atol=1e-3)
    path = next(p for name, p, _ in server.requests if name == "osrm")
    assert path.startswith("/table/v1/driving/-0.089000,51.513400;")


def test_plan_route_on_road_distances(server: StandIn) -> None:
    route = plan_route(ATMS, start=(51.5074, -0.1278), distances=road_distances(server.url), time_limit_seconds=0.3)
    assert route.distances == "OSRM driving" and sorted(route.order) == list(range(5))
    plain = plan_route(ATMS, start=(51.5074, -0.1278), time_limit_seconds=0.3)
    # The stand-in's roads are 1.3 x the great circle, so the same order at 1.3 x the length.
    assert route.order == plain.order and route.total_km == pytest.approx(1.3 * plain.total_km, rel=1e-3)


def test_osrm_failures_are_clear(server: StandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CODEX_JUPYTER_OSRM_URL", raising=False)
    with pytest.raises(OsrmError, match="CODEX_JUPYTER_OSRM_URL"):
        table_km(np.array([0.0]), np.array([0.0]))
    server.mode["osrm"] = "500"
    try:
        with pytest.raises(OsrmError, match="HTTP 500"):
            table_km(np.array([0.0]), np.array([0.0]), url=server.url)
    finally:
        server.mode["osrm"] = "ok"
    with pytest.raises(OsrmError, match="unreachable") as failure:
        table_km(np.array([0.0]), np.array([0.0]), url="http://user:s3cret@127.0.0.1:9", timeout=2)
    assert "s3cret" not in str(failure.value)
