"""TableauView in the kernel: a fresh token per load request, events to handlers, commands out, errors shown."""

from __future__ import annotations

import json

import jwt
import pytest
from IPython.core.interactiveshell import InteractiveShell
from secrets_sentinel import SecretsSentinel

import codex_jupyter
from codex_jupyter.magics.tableau import TableauMagic

SECRET = "tableau-secret-value-for-view-tests-0123"
URL = "https://tableau.example.com/#/site/sales/views/Superstore/Overview"


@pytest.fixture(autouse=True)
def env(secrets: SecretsSentinel, monkeypatch: pytest.MonkeyPatch) -> None:
    secrets.add(SECRET)
    for name, value in {
        "TABLEAU_SERVER": "https://tableau.example.com",
        "TABLEAU_SITE": "sales",
        "TABLEAU_CLIENT_ID": "cid",
        "TABLEAU_SECRET_ID": "sid",
        "TABLEAU_SECRET_VALUE": SECRET,
        "TABLEAU_USER": "ann@example.com",
    }.items():
        monkeypatch.setenv(name, value)


def _sent(view) -> list[dict]:
    out: list[dict] = []
    view.send = out.append  # what would go to the browser
    return out


def test_each_load_gets_a_fresh_token_never_kept_in_state() -> None:
    view = codex_jupyter.tableau_view(URL, attributes={"Region": "EMEA"}, filters={"Region": "EMEA,APAC"})
    sent = _sent(view)
    view._on_message(view, {"type": "token"}, None)
    view._on_message(view, {"type": "token"}, None)
    first, second = (jwt.decode(m["token"], SECRET, algorithms=["HS256"], audience="tableau") for m in sent)
    assert first["sub"] == "ann@example.com" and first["Region"] == "EMEA" and first["jti"] != second["jti"]
    state = json.dumps({k: v for k, v in view.get_state().items() if k != "_esm"})
    assert "token" not in state.replace('"type"', "") and view.filters == {"Region": ["EMEA", "APAC"]}
    assert view.attributes["src"] == URL and view.tokens_sent == 2


def test_events_reach_handlers_and_load_errors_are_shown_with_advice() -> None:
    view = codex_jupyter.tableau_view(URL)
    _sent(view)
    selected, errors = [], []
    view.on_select(selected.append)
    view.on_error(errors.append)
    tables = [{"name": "Sales", "columns": ["Region", "Sales"], "rows": [["EMEA", 12.5], ["APAC", 3.0]]}]
    view._on_message(view, {"type": "event", "name": "markselectionchanged", "detail": {"tables": tables}}, None)
    assert selected[0]["Sales"].sum() == 15.5 and selected[0]["Sales"].dtype == "float64"
    message = json.dumps({"statusCode": 401, "errorMessage": "bad token"})
    view._on_message(
        view, {"type": "event", "name": "vizloaderror", "detail": {"code": "auth-failed", "message": message}}, None
    )
    assert errors[0]["code"] == "auth-failed" and "check the connected app" in errors[0]["advice"]
    assert view.error.startswith("Tableau view error auth-failed (HTTP 401): Tableau refused the sign-in token")


def test_commands_go_to_the_view_and_a_refused_command_is_an_error() -> None:
    view = codex_jupyter.tableau_view(URL)
    sent = _sent(view)
    view.apply_filter("Region", ["EMEA"], mode="add")
    view.clear_filter("Region")
    view.refresh()
    assert [(m["op"], m.get("values"), m.get("mode")) for m in sent] == [
        ("apply_filter", ["EMEA"], "add"),
        ("clear_filter", None, None),
        ("refresh", None, None),
    ]
    view._on_message(view, {"type": "result", "id": 1, "ok": False, "error": "Invalid field name Regio"}, None)
    assert "command-failed" in view.error


def test_a_token_that_cannot_be_minted_is_shown_in_the_view(monkeypatch: pytest.MonkeyPatch) -> None:
    view = codex_jupyter.tableau_view(URL)
    sent = _sent(view)
    monkeypatch.delenv("TABLEAU_SECRET_VALUE")
    view._token_provider = lambda: codex_jupyter.sources.bi.tableau.mint_token("ann")
    view._on_message(view, {"type": "token"}, None)
    assert sent == [{"type": "token", "token": None}] and "set TABLEAU_SECRET_VALUE" in view.error


def test_magic_shows_the_view_and_writes_snippets(tmp_path, secrets: SecretsSentinel) -> None:
    ip = InteractiveShell.instance()
    ip.register_magics(TableauMagic(ip))
    view = ip.run_line_magic(
        "tableau_embed", f'"{URL}" --attr Region=EMEA --filter "Region=EMEA,APAC" --toolbar top --hide-tabs -o v'
    )
    assert ip.user_ns["v"] is view and view.attributes["toolbar"] == "top" and "hide-tabs" in view.attributes
    note = ip.run_line_magic("tableau_embed", f"{URL} --snippet {tmp_path}/page.html")
    assert "its token expires at" in note and "token=" in (tmp_path / "page.html").read_text()
    note = ip.run_line_magic("tableau_embed", f"{URL} --snippet {tmp_path}/p2.html --token-url https://app/t")
    assert "fetches tokens from https://app/t" in note
    secrets.scan(tmp_path)
    with pytest.raises(Exception, match="at least one value"):
        ip.run_line_magic("tableau_embed", f"{URL} --filter Region=")
    with pytest.raises(Exception, match="--attr needs NAME=VALUE"):
        ip.run_line_magic("tableau_embed", f"{URL} --attr EMEA")
