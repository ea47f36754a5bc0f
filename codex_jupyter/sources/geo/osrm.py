"""Road distances from an OSRM server's ``table`` service, for route planning.

OSRM (Open Source Routing Machine) is usually self-hosted; point
``CODEX_JUPYTER_OSRM_URL`` (or ``url=``) at it. Only its ``table`` endpoint
is used: one request returns the all-pairs road distances for up to a few
hundred stops (the server's ``--max-table-size``).
"""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.parse
import urllib.request
from functools import partial
from typing import Any

import numpy as np

from codex_jupyter import config
from codex_jupyter.errors import ServiceUnavailable


class OsrmError(ServiceUnavailable):
    """The OSRM server could not be reached or refused the request."""


def table_km(
    lat: np.ndarray, lon: np.ndarray, *, url: str | None = None, profile: str = "driving", timeout: float = 30.0
) -> np.ndarray:
    """All-pairs road kilometres between the points (``inf`` where OSRM finds no road)."""
    base = (url or config.osrm_url()).rstrip("/")
    if not base:
        raise OsrmError("no OSRM server configured: set CODEX_JUPYTER_OSRM_URL or pass url=")
    coords = ";".join(f"{float(b):.6f},{float(a):.6f}" for a, b in zip(lat, lon, strict=True))
    request = f"{base}/table/v1/{profile}/{coords}?annotations=distance"
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body: dict[str, Any] = json.load(response)
    except urllib.error.HTTPError as exc:
        raise OsrmError(f"OSRM answered HTTP {exc.code} for a {len(lat)}-point table") from None
    except (urllib.error.URLError, TimeoutError, json.JSONDecodeError) as exc:
        host = urllib.parse.urlsplit(base).hostname  # never echo credentials a URL may carry
        raise OsrmError(f"OSRM at {host} is unreachable or answered garbage ({type(exc).__name__})") from None
    if body.get("code") != "Ok" or "distances" not in body:
        raise OsrmError(f"OSRM refused the table request: {body.get('code')} {body.get('message', '')}".strip())
    metres = np.array([[math.inf if d is None else d for d in row] for row in body["distances"]], dtype=float)
    return metres / 1000.0


def road_distances(url: str | None = None, profile: str = "driving") -> Any:
    """A distance function for :func:`codex_jupyter.analytics.spatial.routing.plan_route` backed by OSRM."""
    fn = partial(table_km, url=url, profile=profile)
    fn.label = f"OSRM {profile}"  # type: ignore[attr-defined]
    return fn
