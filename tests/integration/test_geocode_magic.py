"""``%geocode`` in a real IPython shell: single addresses, points, columns, providers and user mistakes."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from geo_stand_ins import GOOGLE_KEY, StandIn
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from secrets_sentinel import SecretsSentinel

from codex_jupyter.magics.geocode import GeocodeMagic
from codex_jupyter.widgets.geocode_view import GeocodedFrame, GeocodeMatches

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _secrets_stay_secret(secrets: SecretsSentinel) -> None:
    """No log, display, widget or output of ``%geocode`` shows a provider's key."""
    for value in (GOOGLE_KEY,):
        secrets.add(value)


@pytest.fixture(scope="module")
def ip() -> Iterator[InteractiveShell]:
    shell = InteractiveShell.instance()
    shell.register_magics(GeocodeMagic(shell))
    yield shell


@pytest.fixture(scope="module")
def server() -> Iterator[StandIn]:
    s = StandIn()
    yield s
    s.stop()


def test_single_address_shows_matches_escaped(ip: InteractiveShell) -> None:
    out = ip.run_line_magic("geocode", '"Springfield, IL"')
    assert isinstance(out, GeocodeMatches) and out.answer.best.address == "Springfield, IL, US"
    assert "Springfield, IL, US" in out._repr_html_() and "Springfield" in repr(out)
    bad = ip.run_line_magic("geocode", '"<script>alert(1)</script> nowhere"')
    assert bad.answer.best is None and "<script>" not in bad._repr_html_() and "&lt;script&gt;" in bad._repr_html_()
    assert "no match" in repr(bad)


def test_single_address_shows_its_matches_on_a_small_map(ip: InteractiveShell) -> None:
    from IPython.utils.capture import capture_output

    from codex_jupyter.widgets.map import MapView

    out = ip.run_line_magic("geocode", '"Springfield"')
    view = out.map()
    assert isinstance(view, MapView) and len(view.df) == len(out.answer.matches) > 1
    assert view.df.address.iloc[0] == out.answer.best.address and view.map.layout.height == "280px"
    with capture_output() as shown:
        out._ipython_display_()
    assert "Springfield" in shown.outputs[0].data["text/html"]
    assert "application/vnd.jupyter.widget-view+json" in shown.outputs[1].data
    assert ip.run_line_magic("geocode", '"zzzz-no-such-place"').map() is None


def test_reverse_point(ip: InteractiveShell) -> None:
    out = ip.run_line_magic("geocode", "--reverse 48.853,2.349 -o here")
    assert out.answer.best.address == "Paris, France" and ip.user_ns["here"] is out
    assert ip.run_line_magic("geocode", "--reverse 95,0").answer.error == "latitude out of range"


def test_column_forms_keep_rows_and_store_out(ip: InteractiveShell) -> None:
    ip.user_ns["df"] = pd.DataFrame({"address": ["Lyon", None, "Lyon", "🍕"], "home city": ["Paris"] * 4})
    out = ip.run_line_magic("geocode", "df.address -o geo")
    assert isinstance(out, GeocodedFrame) and ip.user_ns["geo"] is out and len(out) == 4
    assert out.geocode_error.tolist() == [None, "missing", None, "no letters or digits"]
    assert "2 of 4 rows matched" in repr(out) and "2 of 4 rows matched" in out._repr_html_()
    assert ip.run_line_magic("geocode", "df['home city']").matched.tolist() == ["Paris, France"] * 4
    ip.user_ns["pts"] = pd.DataFrame({"lat": [51.5, np.nan], "lon": [-0.12, 0]})
    rev = ip.run_line_magic("geocode", "pts --reverse lat,lon")
    assert rev.matched[0] == "London, United Kingdom" and rev.geocode_error[1] == "missing coordinates"


def test_provider_option_uses_the_configured_server(
    ip: InteractiveShell, server: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_MAPS_API_KEY", GOOGLE_KEY)
    monkeypatch.setenv("CODEX_JUPYTER_GOOGLE_URL", server.url)
    out = ip.run_line_magic("geocode", '--provider google,offline "10 Downing Street, London"')
    assert out.answer.best.provider == "google", repr(out)
    assert GOOGLE_KEY not in out._repr_html_() + repr(out)
    server.mode["google"] = "403"
    out = ip.run_line_magic("geocode", '-p google,offline "Manchester"')
    assert out.answer.best.provider == "offline" and "google: forbidden (403)" in repr(out)


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("", "give an address"),
        ("-o 1x Paris", "-o needs a Python variable name"),
        ("-p gogle Paris", "unknown geocoding provider 'gogle'"),
        ("-p mapbox Paris", "MAPBOX_ACCESS_TOKEN"),
        ("--reverse north,south", "--reverse needs a point"),
        ("df.nope", "df has no column 'nope'"),
        ("df", "name the column"),
        ("df --reverse lat", "--reverse needs the two column names"),
        ("df --reverse a,b", "no column 'a'"),
        ("-o a -o b Paris", "option --out is given more than once"),
        ('"unclosed', "check the quotes"),
    ],
)
def test_user_mistakes_are_one_line_usage_errors(ip: InteractiveShell, line: str, fragment: str) -> None:
    ip.user_ns["df"] = pd.DataFrame({"address": ["Lyon"], "other": [1]})
    with pytest.raises(UsageError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        ip.run_line_magic("geocode", line)


def test_config_sets_default_providers(ip: InteractiveShell) -> None:
    ip.run_line_magic("config", 'GeocodeMagic.providers = "offline"')
    try:
        assert ip.run_line_magic("geocode", "Lyon").answer.best.provider == "offline"
    finally:
        ip.run_line_magic("config", 'GeocodeMagic.providers = ""')
