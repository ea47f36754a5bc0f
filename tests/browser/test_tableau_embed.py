"""The Tableau view in Voila, in Debian's Chromium, with the real bundled Embedding API v3 and a stand-in server.

The library signs in by POSTing ``{"siteName", "jwt"}`` to ``/vizportal/api/web/v1/auth/embed/signin`` on the
view's origin (after a CORS preflight); the stand-in records each token and answers 200 (then the view loads in
an iframe), 404 (the library falls back to ``/auth/embed/target?token=...``) or 401 (``vizloaderror``).
``firstinteractive`` needs Tableau's own cross-frame handshake, which no stand-in gives, so the selection path
is driven by dispatching an event with the library's detail interface (``getMarksAsync``) on the element.
"""

from __future__ import annotations

import os
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from secrets_sentinel import SecretsSentinel
from tableau_stand_in import TableauStandIn

from codex_jupyter.cli import voila_command

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SECRET = "tableau-browser-secret-value-0123456789"

NOTEBOOK_CELLS = [
    "import os, ipywidgets as w\nimport codex_jupyter\n"
    "view = codex_jupyter.tableau_view(os.environ['STAND_IN_VIEW'], user='ann@example.com',"
    " attributes={'Region': ['EMEA', 'APAC']}, filters={'Region': 'EMEA'}, height=300)\n"
    "said = w.HTML('waiting', _dom_classes=['python-said'])\n"
    "view.on_error(lambda e: setattr(said, 'value', 'error ' + e['code']))\n"
    "view.on_select(lambda marks: setattr(said, 'value', 'selected ' + ','.join(marks['Region'])))\n"
    "w.VBox([said, view])",
]


@pytest.fixture(scope="module")
def stand_in() -> Iterator[TableauStandIn]:
    s = TableauStandIn()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def voila(stand_in: TableauStandIn, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Voila over one notebook that embeds the stand-in's view; the kernel gets the settings from its environment."""
    import socket

    import nbformat

    folder = tmp_path_factory.mktemp("tableau-nb")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in NOTEBOOK_CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, folder / "tableau.ipynb")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TABLEAU_SERVER": stand_in.url,
        "TABLEAU_SITE": "sales",
        "TABLEAU_CLIENT_ID": "client-id-1",
        "TABLEAU_SECRET_ID": "secret-id-2",
        "TABLEAU_SECRET_VALUE": SECRET,
        "STAND_IN_VIEW": f"{stand_in.url}/#/site/sales/views/Superstore/Overview",
    }
    log = open(folder / "voila.log", "w")  # noqa: SIM115 - closed after the server stops
    command = voila_command(folder, port, "127.0.0.1", open_browser=False)
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(url + "/", timeout=2)
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"Voila exited: {(folder / 'voila.log').read_text()[-2000:]}")
                time.sleep(0.5)
        yield f"{url}/voila/render/tableau.ipynb"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, SECRET, algorithms=["HS256"], audience="tableau")


def _open(browser: Any, url: str) -> Any:
    page = browser.new_page(viewport={"width": 1100, "height": 700})
    page.goto(url, timeout=120_000)
    page.wait_for_selector("tableau-viz", state="attached", timeout=120_000)
    return page


def test_signin_token_verifies_and_a_reload_gets_a_fresh_one(
    secrets: SecretsSentinel, voila: str, browser: Any, stand_in: TableauStandIn, artifacts: Path
) -> None:
    secrets.add(SECRET)
    stand_in.mode, stand_in.signins[:] = 200, []
    page = _open(browser, voila)
    page.wait_for_function("() => document.querySelector('tableau-viz')?.iframe?.src.includes('127.0.0.1')")
    first = stand_in.signins[0]
    claims = _claims(first["jwt"])
    assert first["siteName"] == "sales" and claims["sub"] == "ann@example.com"
    assert claims["Region"] == ["EMEA", "APAC"] and claims["scp"] == ["tableau:views:embed"]
    assert jwt.get_unverified_header(first["jwt"])["kid"] == "secret-id-2"
    assert stand_in.preflights and stand_in.preflights[-1]["Access-Control-Request-Headers"] == "content-type"
    assert page.locator("tableau-viz viz-filter[field=Region][value=EMEA]").count() == 1
    page.screenshot(path=str(artifacts / "tableau-embed.png"))
    secrets.scan(page.content(), "the Voila page")
    page.reload()
    # The library sets the iframe's src only after a successful sign-in, so the second one has been recorded.
    page.wait_for_function("() => document.querySelector('tableau-viz')?.iframe?.src.includes('127.0.0.1')")
    assert len(stand_in.signins) >= 2
    assert _claims(stand_in.signins[-1]["jwt"])["jti"] != claims["jti"]

    # Selecting marks: the event the library dispatches, with its detail interface, reaches view.on_select.
    page.evaluate(
        """() => document.querySelector('tableau-viz').dispatchEvent(new CustomEvent('markselectionchanged', {
            detail: {worksheet: {name: 'Sales'}, getMarksAsync: async () => ({data: [{name: 'Sales',
              columns: [{fieldName: 'Region', dataType: 'string'}],
              data: [[{value: 'EMEA'}], [{value: 'APAC'}]]}]})}}))"""
    )
    page.wait_for_function("() => document.querySelector('.python-said').textContent.includes('selected EMEA,APAC')")
    page.close()


def test_a_refused_token_reaches_on_error_and_is_shown(
    secrets: SecretsSentinel, voila: str, browser: Any, stand_in: TableauStandIn, artifacts: Path
) -> None:
    secrets.add(SECRET)
    stand_in.mode = 401
    page = _open(browser, voila)
    page.wait_for_function("() => document.querySelector('.python-said').textContent.includes('error auth-failed')")
    status = page.locator(".codex-tableau-status")
    status.wait_for(state="visible")
    assert "auth-failed (HTTP 401)" in status.inner_text() and "check the connected app" in status.inner_text()
    page.screenshot(path=str(artifacts / "tableau-embed-401.png"))
    page.close()


def test_a_server_without_the_signin_endpoint_gets_the_redirect_fallback(
    voila: str, browser: Any, stand_in: TableauStandIn
) -> None:
    stand_in.mode, stand_in.targets[:] = 404, []
    page = _open(browser, voila)
    page.wait_for_function("() => document.querySelector('tableau-viz')?.iframe?.src.includes('embed/target')")
    for _ in range(300):  # until the iframe's request reaches the stand-in
        if stand_in.targets:
            break
        page.wait_for_timeout(100)
    assert stand_in.targets and _claims(stand_in.targets[-1]["token"])["sub"] == "ann@example.com"
    page.close()
