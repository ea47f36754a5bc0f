"""Local HTTP stand-ins for geocoding providers and OSRM, for geopy's (and our) real clients.

One threaded server on 127.0.0.1 answers Google's, Mapbox's, Nominatim's,
ArcGIS's, Photon's and Pelias's geocoding endpoints and OSRM's ``table``
service, in each API's own JSON. Tests steer it per provider: answer
normally, refuse (403), throttle (429), fail (500), or answer too slowly,
and it records every request so tests can count them.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections import defaultdict, deque
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from local_http import LocalServer

GOOGLE_KEY = "AIzaFAKE-google-key-0123456789"
MAPBOX_TOKEN = "pk.FAKE-mapbox-token-abcdef"

#: Addresses the stand-ins know (normalised to lower case), with coordinates and a formatted address.
PLACES = {
    "10 downing street, london": (51.50344, -0.12770, "10 Downing St, London SW1A 2AA, UK"),
    "1600 amphitheatre parkway, mountain view, ca": (37.42199, -122.08405, "1600 Amphitheatre Pkwy, Mountain View, CA"),
    "eiffel tower": (48.85837, 2.29448, "Tour Eiffel, 5 Av. Anatole France, 75007 Paris, France"),
    "brandenburger tor, berlin": (52.51628, 13.37770, "Brandenburger Tor, Pariser Platz, 10117 Berlin, Germany"),
    "sagrada família, barcelona": (41.40363, 2.17436, "Basílica de la Sagrada Família, Barcelona, Spain"),
}


class StandIn:
    """The running server: ``url``, ``domain`` (host:port), ``mode``, ``script`` and ``requests``."""

    def __init__(self) -> None:
        self.mode: dict[str, str] = defaultdict(lambda: "ok")
        self.script: dict[str, deque[str]] = defaultdict(deque)
        self.requests: list[tuple[str, str, dict[str, Any]]] = []
        self.slow_seconds = 1.0
        self.table_calls = 0
        self._http = LocalServer(_Handler, self, quiet=True)
        self.domain, self.url = self._http.domain, self._http.url

    def stop(self) -> None:
        self._http.stop()

    def reset(self) -> None:
        self.mode.clear()
        self.script.clear()
        self.requests.clear()

    def count(self, provider: str) -> int:
        return sum(1 for p, _, _ in self.requests if p == provider)

    def outcome(self, provider: str) -> str:
        return self.script[provider].popleft() if self.script[provider] else self.mode[provider]


class _Handler(BaseHTTPRequestHandler):
    stand_in: StandIn

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        provider, answer = _route(parts.path, query, dict(self.headers))
        if provider is None:
            return self._send(404, {"error": "not found"})
        self.stand_in.requests.append((provider, parts.path, query))
        outcome = self.stand_in.outcome(provider)
        if outcome == "slow":
            time.sleep(self.stand_in.slow_seconds)
        elif outcome in ("403", "429", "500", "503"):
            headers = {"Retry-After": "0"} if outcome == "429" else {}
            return self._send(int(outcome), {"error": f"stand-in {outcome}"}, headers)
        elif outcome == "garbage":
            return self._send(200, "<html>not json</html>")
        self._send(*answer)

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        with contextlib.suppress(OSError):
            self.wfile.write(data)


def _find(text: str) -> tuple[float, float, str] | None:
    return PLACES.get(" ".join(text.lower().split()))


def _nearest(lat: float, lon: float) -> tuple[float, float, str]:
    return min(PLACES.values(), key=lambda p: (p[0] - lat) ** 2 + (p[1] - lon) ** 2)


def _route(path: str, q: dict[str, str], headers: dict[str, str]) -> tuple[str | None, tuple[int, Any]]:
    if path == "/maps/api/geocode/json":
        return "google", _google(q)
    if path.startswith("/geocoding/v5/mapbox.places/"):
        return "mapbox", _mapbox(unquote(path.split("/")[-2].removesuffix(".json")), q)
    if path in ("/search", "/reverse") and "format" in q:
        if headers.get("User-Agent", "").startswith("geopy/"):
            return "nominatim", (403, {"error": "Access blocked: identify your application"})
        return "nominatim", _nominatim(path, q)
    if path.startswith("/arcgis/rest/services/World/GeocodeServer/findAddressCandidates"):
        return "arcgis", _arcgis(q)
    if path in ("/api", "/api/", "/reverse"):
        return "photon", _geojson(q, {})
    if path in ("/v1/search", "/v1/reverse"):
        return "pelias", _geojson(q, {"confidence": 0.8})
    if path.startswith("/table/v1/"):
        return "osrm", _osrm_table(path, q)
    return None, (404, {})


def _google(q: dict[str, str]) -> tuple[int, Any]:
    if q.get("key") != GOOGLE_KEY:
        return 200, {"status": "REQUEST_DENIED", "error_message": "The provided API key is invalid.", "results": []}
    if "latlng" in q:
        lat, lon = map(float, q["latlng"].split(","))
        place = _nearest(lat, lon)
    else:
        place = _find(q.get("address", ""))
    if place is None:
        return 200, {"status": "ZERO_RESULTS", "results": []}
    lat, lon, address = place
    result = {
        "formatted_address": address,
        "geometry": {"location": {"lat": lat, "lng": lon}, "location_type": "ROOFTOP"},
        "place_id": "ChIJstand-in",
        "types": ["street_address"],
    }
    return 200, {"status": "OK", "results": [result]}


def _mapbox(text: str, q: dict[str, str]) -> tuple[int, Any]:
    if q.get("access_token") != MAPBOX_TOKEN:
        return 401, {"message": "Not Authorized - Invalid Token"}
    try:
        lon, lat = map(float, text.split(","))
        place: tuple[float, float, str] | None = _nearest(lat, lon)
    except ValueError:
        place = _find(text)
    features = []
    if place is not None:
        lat, lon, address = place
        features.append(
            {
                "id": "address.1",
                "type": "Feature",
                "place_type": ["address"],
                "relevance": 0.96,
                "place_name": address,
                "center": [lon, lat],
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
            }
        )
    return 200, {"type": "FeatureCollection", "query": text.split(), "features": features}


def _nominatim(path: str, q: dict[str, str]) -> tuple[int, Any]:
    if path == "/reverse":
        lat, lon, address = _nearest(float(q["lat"]), float(q["lon"]))
        return 200, {"place_id": 1, "lat": str(lat), "lon": str(lon), "display_name": address, "importance": 0.5}
    place = _find(q.get("q", ""))
    if place is None:
        return 200, []
    lat, lon, address = place
    return 200, [{"place_id": 1, "lat": str(lat), "lon": str(lon), "display_name": address, "importance": 0.62}]


def _arcgis(q: dict[str, str]) -> tuple[int, Any]:
    place = _find(q.get("singleLine", ""))
    candidates = []
    if place is not None:
        lat, lon, address = place
        candidates.append({"address": address, "location": {"x": lon, "y": lat}, "score": 97.5, "attributes": {}})
    return 200, {"spatialReference": {"wkid": 4326}, "candidates": candidates}


def _geojson(q: dict[str, str], extra: dict[str, Any]) -> tuple[int, Any]:
    """Photon's and Pelias's GeoJSON (Pelias adds ``label`` and a ``confidence``)."""
    if "lat" in q or "point.lat" in q:
        place: tuple[float, float, str] | None = _nearest(
            float(q.get("lat", q.get("point.lat"))), float(q.get("lon", q.get("point.lon")))
        )
    else:
        place = _find(q.get("q", q.get("text", "")))
    features = []
    if place is not None:
        lat, lon, address = place
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {"name": address, **({"label": address, **extra} if extra else {})},
            }
        )
    return 200, {"type": "FeatureCollection", "features": features}


def _osrm_table(path: str, q: dict[str, str]) -> tuple[int, Any]:
    """OSRM's table service: road distances stand in as 1.3 x great-circle metres (durations at 50 km/h)."""
    coords = [tuple(map(float, pair.split(","))) for pair in path.split("/", 4)[4].split(";")]
    metres = [[1300.0 * _km(a, b) for b in coords] for a in coords]
    body: dict[str, Any] = {"code": "Ok"}
    annotations = q.get("annotations", "duration").split(",")
    if "distance" in annotations:
        body["distances"] = metres
    if "duration" in annotations:
        body["durations"] = [[m / (50_000 / 3600) for m in row] for row in metres]
    return 200, body


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    (lon1, lat1), (lon2, lat2) = a, b
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(h))
