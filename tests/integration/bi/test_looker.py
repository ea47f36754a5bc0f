"""Looker helpers and ``%looker`` through the real looker-sdk, over HTTP, against a stand-in on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from looker_stand_in import CLIENT_ID, LookerStandIn
from secrets_sentinel import SecretsSentinel

from codex_jupyter.errors import ConfigError, InputError, ServiceUnavailable
from codex_jupyter.magics.looker import LookerMagic
from codex_jupyter.sources.bi import looker

pytestmark = pytest.mark.integration

SECRET = "looker-client-secret-0123456789"


@pytest.fixture(scope="module")
def server() -> Iterator[LookerStandIn]:
    s = LookerStandIn(SECRET)
    yield s
    s.stop()


@pytest.fixture
def configured(
    secrets: SecretsSentinel, server: LookerStandIn, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> Iterator[LookerStandIn]:
    """looker-sdk configured from LOOKERSDK_* variables, each test with a fresh client and a clean server log."""
    secrets.add(SECRET)
    monkeypatch.chdir(tmp_path)  # no stray looker.ini
    monkeypatch.setenv("LOOKERSDK_BASE_URL", server.url)
    monkeypatch.setenv("LOOKERSDK_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("LOOKERSDK_CLIENT_SECRET", SECRET)
    monkeypatch.setenv("LOOKERSDK_VERIFY_SSL", "false")
    server.requests.clear()
    server.queries.clear()
    server.forbidden.clear()
    looker._CLIENTS.clear()
    yield server
    looker._CLIENTS.clear()


def test_run_look_gives_typed_columns_not_strings(configured: LookerStandIn) -> None:
    df = looker.run_look(42)
    assert list(df.columns) == ["orders.region", "orders.created_date", "orders.count", "orders.total_amount"]
    assert pd.api.types.is_datetime64_any_dtype(df["orders.created_date"])
    assert str(df["orders.count"].dtype) == "Int64" and df["orders.count"].sum() == 22
    assert df["orders.total_amount"].dtype == "float64" and pd.isna(df["orders.total_amount"].iloc[2])
    assert str(df["orders.region"].dtype) == "string"
    assert df["orders.created_date"].iloc[0] == pd.Timestamp("2024-03-01")
    method, path, headers, _ = configured.requests[-1]
    assert (method, path) == ("GET", "/api/4.0/looks/42/run/json_bi") and headers["Authorization"].startswith("Bearer")
    login = next(r for r in configured.requests if r[1] == "/api/4.0/login")
    assert login[2]["Content-Type"] == "application/x-www-form-urlencoded"


def test_inline_query_sends_fields_filters_sorts_and_limit(configured: LookerStandIn) -> None:
    df = looker.query(
        "shop",
        "orders",
        ["orders.region", "orders.created_month", "orders.is_online", "orders.count"],
        filters={"orders.region": "EMEA,APAC"},
        sorts=["orders.count desc"],
        limit=10,
    )
    sent = configured.queries[-1]
    assert sent["model"] == "shop" and sent["view"] == "orders" and sent["limit"] == "10"
    assert sent["filters"] == {"orders.region": "EMEA,APAC"} and sent["sorts"] == ["orders.count desc"]
    assert list(df["orders.region"]) == ["EMEA", "APAC"]
    assert df["orders.created_month"].iloc[0] == pd.Timestamp("2024-03-01")
    assert df["orders.is_online"].tolist() == [True, False] and str(df["orders.is_online"].dtype) == "boolean"


def test_lists_and_dashboard_tiles_with_their_queries(configured: LookerStandIn) -> None:
    assert looker.looks().loc[0, "title"] == "Orders by region" and looker.looks().loc[0, "folder"] == "Shared"
    assert looker.dashboards().loc[0, "id"] == "7"
    board = looker.dashboard(7)
    assert [t.id for t in board.tiles] == ["70", "71", "72"]
    by_region, notes, from_look = board.tiles
    assert by_region.filters == {"orders.region": "EMEA,APAC"} and by_region.limit == 50
    assert not notes.has_query and notes.title == "Notes"
    assert from_look.title == "Orders by region" and from_look.fields == ("orders.created_date", "orders.total_amount")
    assert "By region" in board._repr_html_()
    frames = looker.dashboard_frames(7)
    assert list(frames) == ["By region", "Orders by region"]
    assert frames["By region"]["orders.region"].tolist() == ["EMEA", "APAC"]
    assert pd.api.types.is_datetime64_any_dtype(frames["Orders by region"]["orders.created_date"])


def test_a_token_the_server_expired_is_renewed_once(configured: LookerStandIn) -> None:
    looker.run_look(42)
    logins = configured.logins
    configured.expire_tokens()
    assert len(looker.run_look(42)) == 3
    assert configured.logins == logins + 1


def test_bad_credentials_are_one_line_with_the_servers_message(
    configured: LookerStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOOKERSDK_CLIENT_SECRET", "not-the-right-secret")
    with pytest.raises(ConfigError) as err:
        looker.run_look(42)
    message = str(err.value)
    assert "rejected the API credentials (404 Not found)" in message and "LOOKERSDK_CLIENT_SECRET" in message
    assert "\n" not in message and "not-the-right-secret" not in message


def test_unknown_look_forbidden_and_bad_field_are_one_line_each(configured: LookerStandIn) -> None:
    with pytest.raises(InputError, match=r"has no look 99 \(Not found\)"):
        looker.run_look(99)
    configured.forbidden.add("/api/4.0/dashboards/7")
    with pytest.raises(ConfigError, match=r"denied access to dashboard 7 \(403 Forbidden"):
        looker.dashboard(7)
    with pytest.raises(InputError, match=r"refused the query on shop.orders \(422 Validation Failed; Unknown field"):
        looker.query("shop", "orders", ["orders.nope"])


def test_unreachable_host_and_missing_settings(configured: LookerStandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("LOOKERSDK_BASE_URL", f"http://127.0.0.1:{port}")
    with pytest.raises(ServiceUnavailable, match=rf"cannot reach Looker at http://127.0.0.1:{port}") as err:
        looker.looks()
    assert "\n" not in str(err.value)
    monkeypatch.delenv("LOOKERSDK_BASE_URL")
    with pytest.raises(ConfigError, match="Looker is not configured: set LOOKERSDK_BASE_URL"):
        looker.looks()


def test_base_url_keeps_scheme_host_port_and_looker_ini_works(
    configured: LookerStandIn, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    for name in ("LOOKERSDK_BASE_URL", "LOOKERSDK_CLIENT_ID", "LOOKERSDK_CLIENT_SECRET"):
        monkeypatch.delenv(name)
    ini = tmp_path / "looker.ini"
    ini.write_text(
        f"[Other]\nbase_url=http://127.0.0.1:9\n\n[Prod]\nbase_url={configured.url}/api/4.0/\n"
        f"client_id={CLIENT_ID}\nclient_secret={SECRET}\nverify_ssl=False\n"
    )
    monkeypatch.setenv("CODEX_JUPYTER_LOOKER_SECTION", "Prod")
    client = looker.client()
    assert client.base_url == configured.url and repr(client) == f"LookerClient({configured.url!r})"
    assert looker.me(client)["display_name"] == "API User" and looker.me()["id"] == "5"


@pytest.fixture
def ip(configured: LookerStandIn) -> InteractiveShell:
    shell = InteractiveShell.instance()
    shell.register_magics(LookerMagic(shell))
    return shell


def test_magic_look_query_and_dashboard(ip: InteractiveShell, configured: LookerStandIn) -> None:
    ip.run_line_magic("looker", "look 42 -o df")
    assert ip.user_ns["df"]["orders.count"].sum() == 22
    out = ip.run_line_magic(
        "looker",
        'query shop.orders orders.region orders.count --filter orders.region=EMEA --sort "orders.count desc" '
        "--limit 5 -o q",
    )
    assert out is ip.user_ns["q"] and out["orders.region"].tolist() == ["EMEA"]
    assert configured.queries[-1]["sorts"] == ["orders.count desc"] and configured.queries[-1]["limit"] == "5"
    board = ip.run_line_magic("looker", "dashboard 7 -o tiles")
    assert board.title == "Sales" and list(ip.user_ns["tiles"]) == ["By region", "Orders by region"]


def test_magic_user_mistakes_are_one_line(ip: InteractiveShell) -> None:
    with pytest.raises(UsageError, match="has no look 99"):
        ip.run_line_magic("looker", "look 99")
    with pytest.raises(UsageError, match=r"needs MODEL\.VIEW"):
        ip.run_line_magic("looker", "query orders.count")
    with pytest.raises(UsageError, match="unknown action 'lok'"):
        ip.run_line_magic("looker", "lok 42")
    with pytest.raises(UsageError, match="--filter needs FIELD=EXPR"):
        ip.run_line_magic("looker", "query shop.orders orders.count --filter EMEA")
