"""The Tableau view in Voila and JupyterLab (Debian's Chromium), with the real bundled Embedding API v3 and a stand-in.

The library signs in by POSTing ``{"siteName", "jwt"}`` to ``/vizportal/api/web/v1/auth/embed/signin`` on the
view's origin (after a CORS preflight); the stand-in records each token and answers 200 (then the view loads in
an iframe), 404 (the library falls back to ``/auth/embed/target?token=...``) or 401 (``vizloaderror``).
``firstinteractive`` needs Tableau's own cross-frame handshake, which no stand-in gives, so the selection path
is driven by dispatching an event with the library's detail interface (``getMarksAsync``) on the element.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import jwt
import nbformat
import pytest
from secrets_sentinel import SecretsSentinel
from tableau_stand_in import TableauStandIn

pytestmark = pytest.mark.browser

SECRET = "tableau-browser-secret-value-0123456789"

#: What the library dispatches when marks are selected, with its detail interface (``getMarksAsync``).
MARKS = """() => document.querySelector('tableau-viz').dispatchEvent(new CustomEvent('markselectionchanged', {
    detail: {worksheet: {name: 'Sales'}, getMarksAsync: async () => ({data: [{name: 'Sales',
      columns: [{fieldName: 'Region', dataType: 'string'}],
      data: [[{value: 'EMEA'}], [{value: 'APAC'}]]}]})}}))"""
NOTEBOOK_CELLS = [
    "import os, ipywidgets as w\nimport codex_jupyter\n"
    "view = codex_jupyter.tableau_view(os.environ['STAND_IN_VIEW'], user='ann@example.com',"
    " attributes={'Region': ['EMEA', 'APAC']}, filters={'Region': 'EMEA'}, height=300)\n"
    "said = w.HTML('waiting', _dom_classes=['python-said'])\n"
    "view.on_error(lambda e: setattr(said, 'value', 'error ' + e['code']))\n"
    "view.on_select(lambda marks: setattr(said, 'value', 'selected ' + ','.join(marks['Region'])))\n"
    "w.VBox([said, view])",
]


def _settings(stand_in: TableauStandIn) -> dict[str, str]:
    """The kernel's settings: the Connected App, and the stand-in's view."""
    return {
        "TABLEAU_SERVER": stand_in.url,
        "TABLEAU_SITE": "sales",
        "TABLEAU_CLIENT_ID": "client-id-1",
        "TABLEAU_SECRET_ID": "secret-id-2",
        "TABLEAU_SECRET_VALUE": SECRET,
        "STAND_IN_VIEW": f"{stand_in.url}/#/site/sales/views/Superstore/Overview",
    }


@pytest.fixture(scope="module")
def stand_in() -> Iterator[TableauStandIn]:
    s = TableauStandIn()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def voila(
    serve_voila: Callable[[Path, dict[str, str], str], AbstractContextManager[str]],
    stand_in: TableauStandIn,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """Voila over one notebook that embeds the stand-in's view; the kernel gets the settings from its environment."""
    folder = tmp_path_factory.mktemp("tableau-nb")
    _write_notebook(folder / "tableau.ipynb")
    with serve_voila(folder, _settings(stand_in), "voila-tableau.log") as url:
        yield f"{url.rstrip('/')}/voila/render/tableau.ipynb"


def _write_notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in NOTEBOOK_CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


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
    page.evaluate(MARKS)
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


@pytest.fixture(scope="module")
def lab(
    serve_lab: Callable[[Path, dict[str, str], str], AbstractContextManager[str]],
    stand_in: TableauStandIn,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, Path]]:
    """JupyterLab whose kernels get the Connected App settings from their environment, as in the Voila fixture."""
    root = tmp_path_factory.mktemp("tableau-lab")
    with serve_lab(root, _settings(stand_in), "jupyterlab-tableau.log") as url:
        yield url, root


def _run_first_cell(page: Any) -> None:
    """Run the notebook's one cell as a user does, once the kernel is idle: click into it, Ctrl+Enter."""
    page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=120_000)
    page.locator(".jp-Notebook .jp-Cell .cm-content").first.click()
    page.keyboard.press("Control+Enter")


def test_in_jupyterlab_the_token_verifies_a_selection_reaches_python_and_a_401_is_shown(
    secrets: SecretsSentinel, lab: tuple[str, Path], browser: Any, stand_in: TableauStandIn, artifacts: Path
) -> None:
    secrets.add(SECRET)
    url, root = lab
    _write_notebook(root / "tableau-lab.ipynb")
    stand_in.mode, stand_in.signins[:] = 200, []
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    parts = urlsplit(url)
    page.goto(urlunsplit(parts._replace(path=f"{parts.path}/tree/tableau-lab.ipynb")), timeout=120_000)
    page.wait_for_selector(".jp-Notebook .jp-Cell .cm-content", timeout=120_000)
    _run_first_cell(page)
    page.wait_for_function(
        "() => document.querySelector('tableau-viz')?.iframe?.src.includes('127.0.0.1')", timeout=120_000
    )
    signin = stand_in.signins[-1]
    claims = _claims(signin["jwt"])
    assert signin["siteName"] == "sales" and claims["sub"] == "ann@example.com" and claims["Region"] == ["EMEA", "APAC"]
    page.evaluate(MARKS)
    page.wait_for_function("() => document.querySelector('.python-said').textContent.includes('selected EMEA,APAC')")
    page.screenshot(path=str(artifacts / "jupyterlab-tableau.png"))

    # the same cell again, against a server that refuses the token: on_error hears it and the view shows it
    stand_in.mode = 401
    _run_first_cell(page)
    page.wait_for_function("() => document.querySelector('.python-said')?.textContent.includes('error auth-failed')")
    status = page.locator(".codex-tableau-status")
    status.wait_for(state="visible")
    assert "auth-failed (HTTP 401)" in status.inner_text() and "check the connected app" in status.inner_text()
    page.screenshot(path=str(artifacts / "jupyterlab-tableau-401.png"))
    secrets.scan(page.content(), "the JupyterLab page")
    page.close()
