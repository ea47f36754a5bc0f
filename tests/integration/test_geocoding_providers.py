"""The provider chain through geopy's real GoogleV3, MapBox, Nominatim, ArcGIS, Photon and Pelias classes.

Each provider talks HTTP to a local stand-in that speaks its API, so request
building, response parsing and error mapping are geopy's own; the stand-in
refuses, throttles or stalls on demand to exercise the fallback.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from geo_stand_ins import GOOGLE_KEY, MAPBOX_TOKEN, StandIn
from geopy.extra.rate_limiter import RateLimiter
from geopy.geocoders import GoogleV3
from secrets_sentinel import SecretsSentinel

from codex_jupyter.errors import ConfigError
from codex_jupyter.sources.geo.cache import GeocodeCache
from codex_jupyter.sources.geo.geocoding import GeocoderChain, geocode_frame, reverse_frame
from codex_jupyter.sources.geo.providers import ProviderSpec, specs_from_environment

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _secrets_stay_secret(secrets: SecretsSentinel) -> None:
    """No log, frame, repr or output of these tests shows a provider's key."""
    for value in (GOOGLE_KEY, MAPBOX_TOKEN):
        secrets.add(value)


@pytest.fixture(scope="module")
def server() -> Iterator[StandIn]:
    s = StandIn()
    yield s
    s.stop()


@pytest.fixture(autouse=True)
def _fresh(server: StandIn) -> None:
    server.reset()


def spec(server: StandIn, name: str, **options: object) -> ProviderSpec:
    keys = {"google": {"api_key": GOOGLE_KEY}, "mapbox": {"api_key": MAPBOX_TOKEN}}
    base = {"domain": server.domain, "scheme": "http", **keys.get(name, {})}
    if name == "nominatim":
        base["user_agent"] = "codex-jupyter-tests/1.0"
    return ProviderSpec(name, {**base, **options})


def chain(server: StandIn, *names: str, **kwargs: object) -> GeocoderChain:
    specs = [ProviderSpec("offline") if n == "offline" else spec(server, n) for n in names]
    return GeocoderChain(specs, **{"cache": False, "backoff_seconds": 0.01, "timeout": 0.3, **kwargs})


def test_google_answer_with_confidence_from_location_type(server: StandIn) -> None:
    answer = chain(server, "google").geocode("10 Downing Street, London")
    best = answer.best
    assert best is not None and best.provider == "google"
    assert (round(best.lat, 4), round(best.lon, 4)) == (51.5034, -0.1277)
    assert best.confidence == 1.0  # ROOFTOP street_address
    assert server.requests[0][2]["address"] == "10 Downing Street, London"


def test_fallback_from_a_refusing_primary_asks_it_once_per_batch(server: StandIn) -> None:
    server.mode["google"] = "403"
    df = pd.DataFrame({"address": ["Eiffel Tower", "10 Downing Street, London", "Brandenburger Tor, Berlin"] * 2})
    out = geocode_frame(df, "address", chain=chain(server, "google", "mapbox"))
    assert out.provider.tolist() == ["mapbox"] * 6
    assert out.geocode_error.isna().all() and (out.confidence == 0.96).all()
    assert server.count("google") == 1  # a 403 is not retried, and google is skipped for the rest
    assert server.count("mapbox") == 3  # equal addresses are geocoded once
    summary = out.attrs["geocode_summary"]
    assert summary["provider_errors"] == {"google: forbidden (403)": 3}
    assert summary["by_provider"] == {"mapbox": 6}


def test_rate_limited_primary_is_retried_with_backoff_then_answers(server: StandIn) -> None:
    server.script["google"].extend(["429", "429"])
    answer = chain(server, "google", "mapbox", retries=2).geocode("Eiffel Tower")
    assert answer.best is not None and answer.best.provider == "google"
    assert server.count("google") == 3 and server.count("mapbox") == 0


def test_timeouts_and_server_errors_fall_back_after_retries(server: StandIn) -> None:
    server.mode["google"] = "slow"
    server.slow_seconds = 0.6
    answer = chain(server, "google", "mapbox", retries=1).geocode("Eiffel Tower")
    assert answer.best is not None and answer.best.provider == "mapbox"
    assert answer.provider_errors == (("google", "timeout"),)
    server.reset()
    server.mode["google"] = "500"
    answer = chain(server, "google", "mapbox", retries=1).geocode("Eiffel Tower")
    assert answer.provider_errors == (("google", "service error"),) and answer.best.provider == "mapbox"


def test_every_row_keeps_a_reason_when_all_online_providers_fail(server: StandIn) -> None:
    server.mode["google"] = "403"
    server.mode["mapbox"] = "429"
    df = pd.DataFrame({"address": ["Eiffel Tower", None, "", "London"]}, index=[10, 5, 7, 1])
    out = geocode_frame(df, "address", chain=chain(server, "google", "mapbox", retries=0))
    assert out.index.tolist() == [10, 5, 7, 1]
    assert out.geocode_error.tolist() == [
        "google: forbidden (403); mapbox: rate limited (429)",
        "missing",
        "empty",
        "google: forbidden (403); mapbox: rate limited (429)",
    ]
    # With the offline gazetteer last, cities still resolve.
    out = geocode_frame(df, "address", chain=chain(server, "google", "mapbox", "offline", retries=0))
    assert out.loc[1, "provider"] == "offline" and out.loc[1, "matched"] == "London, United Kingdom"
    assert out.loc[10, "geocode_error"] == "no match"


def test_wrong_key_and_unreadable_responses_are_reasons_not_crashes(server: StandIn) -> None:
    bad = ProviderSpec("google", {"api_key": "wrong-key-123", "domain": server.domain, "scheme": "http"})
    answer = GeocoderChain([bad], cache=False).geocode("Eiffel Tower")
    assert answer.error == "google: request rejected"
    server.mode["mapbox"] = "garbage"
    answer = chain(server, "mapbox").geocode("Eiffel Tower")
    assert answer.error == "mapbox: unreadable response"


def test_nominatim_needs_a_user_agent_and_answers_forward_and_reverse(server: StandIn) -> None:
    with pytest.raises(ConfigError, match="user agent"):
        GeocoderChain([ProviderSpec("nominatim", {"domain": server.domain, "scheme": "http"})], cache=False)
    public = ProviderSpec("nominatim", {"user_agent": "x"})
    assert public.delay == 1.0 and spec(server, "nominatim").delay == 0.0  # the public server's 1 request/s
    c = chain(server, "nominatim")
    assert c.geocode("Sagrada Família, Barcelona").best.address.startswith("Basílica")
    pts = pd.DataFrame({"lat": [52.5163, 95.0, np.nan], "lon": [13.3777, 0.0, 1.0]})
    out = reverse_frame(pts, "lat", "lon", chain=c)
    assert out.matched[0].startswith("Brandenburger Tor") and out.provider[0] == "nominatim"
    assert out.distance_km[0] < 0.1
    assert out.geocode_error.tolist() == [None, "latitude out of range", "missing coordinates"]
    assert server.count("nominatim") == 2


@pytest.mark.parametrize(("name", "expected"), [("arcgis", 0.975), ("photon", None), ("pelias", 0.8)])
def test_arcgis_photon_and_self_hosted_pelias(server: StandIn, name: str, expected: float | None) -> None:
    best = chain(server, name).geocode("Eiffel Tower").best
    assert best is not None and best.provider == name and round(best.lat, 3) == 48.858
    assert np.isnan(best.confidence) if expected is None else best.confidence == expected


def test_mapbox_reverse(server: StandIn) -> None:
    answer = chain(server, "mapbox").reverse(48.8584, 2.2945)
    assert answer.best.address.startswith("Tour Eiffel") and answer.best.confidence == 0.96


def test_cache_answers_repeat_runs_without_requests_and_stores_no_key(server: StandIn, tmp_path) -> None:
    cache = GeocodeCache(tmp_path / "geo.sqlite3")
    df = pd.DataFrame({"address": ["Eiffel Tower", "nowhere at all", "Eiffel Tower"]})
    first = geocode_frame(df, "address", chain=chain(server, "google", cache=cache))
    assert server.count("google") == 2
    second = geocode_frame(df, "address", chain=chain(server, "google", cache=cache))
    assert server.count("google") == 2  # the match and the "no match" both came from the cache
    pd.testing.assert_frame_equal(first, second)
    assert second.geocode_error.tolist() == [None, "no match", None]
    with sqlite3.connect(cache.path) as db:
        dump = "\n".join(db.iterdump())
    assert "Tour Eiffel" in dump and GOOGLE_KEY not in dump
    # Another server is another cache namespace: a local stand-in never answers for the real Google.
    assert {row[0] for row in sqlite3.connect(cache.path).execute("select provider from geocode_cache")} == {
        f"google@{server.domain}"
    }


def test_failures_are_not_cached(server: StandIn, tmp_path) -> None:
    cache = GeocodeCache(tmp_path / "geo.sqlite3")
    server.mode["google"] = "500"
    assert chain(server, "google", cache=cache, retries=0).geocode("Eiffel Tower").best is None
    server.mode["google"] = "ok"
    assert chain(server, "google", cache=cache).geocode("Eiffel Tower").best.provider == "google"


def test_keys_never_reach_reprs_frames_or_logs(server: StandIn, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    closed = ProviderSpec("google", {"api_key": GOOGLE_KEY, "domain": "127.0.0.1:9", "scheme": "http"})
    c = GeocoderChain([closed, spec(server, "mapbox")], cache=False, retries=1, backoff_seconds=0.01)
    out = geocode_frame(pd.DataFrame({"a": ["Eiffel Tower", "nowhere"]}), "a", chain=c)
    assert out.provider[0] == "mapbox"
    shown = "\n".join([repr(c), repr(closed), out.to_string(), out.to_html(), repr(out.attrs), caplog.text])
    assert "127.0.0.1:9" in caplog.text  # geopy did log the request URLs ...
    assert GOOGLE_KEY not in shown and MAPBOX_TOKEN not in shown  # ... with the keys scrubbed
    assert out.attrs["geocode_summary"]["provider_errors"] == {"google: unavailable": 2}


def test_user_built_geopy_geocoders_and_rate_limiter_work_in_the_chain(server: StandIn) -> None:
    google = GoogleV3(api_key=GOOGLE_KEY, domain=server.domain, scheme="http")
    c = GeocoderChain([google], cache=False)
    assert c.providers == [f"google@{server.domain}"] and GOOGLE_KEY not in repr(c)
    assert c.geocode("Eiffel Tower").best.provider == "google"
    limited = RateLimiter(google.geocode, min_delay_seconds=0.0)
    assert limited("Eiffel Tower").latitude == pytest.approx(48.85837)


def test_providers_from_the_environment(server: StandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    assert [s.name for s in specs_from_environment({})] == ["offline"]
    env = {"GOOGLE_MAPS_API_KEY": GOOGLE_KEY, "MAPBOX_ACCESS_TOKEN": MAPBOX_TOKEN}
    assert [s.name for s in specs_from_environment(env)] == ["google", "mapbox", "offline"]
    monkeypatch.setenv("GOOGLE_MAPS_API_KEY", GOOGLE_KEY)
    monkeypatch.setenv("CODEX_JUPYTER_GOOGLE_URL", server.url)
    monkeypatch.setenv("CODEX_JUPYTER_GEOCODERS", "google,offline")
    c = GeocoderChain(cache=False)
    assert c.providers == [f"google@{server.domain}", "offline"]
    assert c.geocode("Eiffel Tower").best.provider == "google"
    assert GOOGLE_KEY not in repr(specs_from_environment())
