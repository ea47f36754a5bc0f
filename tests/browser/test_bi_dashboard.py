"""notebooks/bi.ipynb in Voila and Chromium, unconfigured and configured (Tableau and Looker stand-ins on 127.0.0.1).

Configured, the page embeds the Tableau view with the real bundled Embedding API v3 and links it to the branch
drill-down both ways, and shows a Looker dashboard's tiles, fetched by the real looker-sdk, as tables.
Tableau's ``firstinteractive`` needs its own cross-frame handshake, which no stand-in gives: the test dispatches
it on the element and gives the element a recording ``workbook`` (what ``applyFilterAsync`` is called on), so
the filters Python applies through ``view.apply_filter`` are seen where the library would receive them.
"""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import jwt
import pytest
from looker_stand_in import CLIENT_ID, LookerStandIn
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from secrets_sentinel import SecretsSentinel
from tableau_stand_in import TableauStandIn

import codex_jupyter

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
TABLEAU_SECRET = "tableau-bi-dashboard-secret-0123456789"
LOOKER_SECRET = "looker-bi-dashboard-secret-0123456789"

#: A recording workbook on the element, then the library's ``firstinteractive``: queued commands run against it.
INTERACTIVE = """() => {
  const viz = document.querySelector('tableau-viz');
  window.applied = [];
  const sheet = {sheetType: 'worksheet',
    applyFilterAsync: async (field, values, mode) => window.applied.push([field, values, mode]),
    clearFilterAsync: async (field) => window.applied.push([field, 'cleared'])};
  Object.defineProperty(viz, 'workbook', {configurable: true, value: {activeSheet: sheet}});
  viz.dispatchEvent(new CustomEvent('firstinteractive', {detail: {}}));
}"""
SELECT_MARKS = """(ids) => document.querySelector('tableau-viz').dispatchEvent(new CustomEvent('markselectionchanged', {
  detail: {worksheet: {name: 'Branches'}, getMarksAsync: async () => ({data: [{name: 'Branches',
    columns: [{fieldName: 'Branch ID', dataType: 'string'}], data: ids.map((id) => [{value: id}])}]})}}))"""


@pytest.fixture(scope="module")
def configured(
    serve_voila: Callable[[Path, dict[str, str], str], AbstractContextManager[str]],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, TableauStandIn, LookerStandIn]]:
    """Voila over a copy of bi.ipynb, its kernel configured for both stand-ins through the documented variables."""
    tableau, looker = TableauStandIn(), LookerStandIn(LOOKER_SECRET)
    folder = tmp_path_factory.mktemp("bi-configured")
    shutil.copy(ROOT / "notebooks" / "bi.ipynb", folder / "bi.ipynb")
    env = {
        "TABLEAU_SERVER": tableau.url,
        "TABLEAU_SITE": "bank",
        "TABLEAU_CLIENT_ID": "client-id-1",
        "TABLEAU_SECRET_ID": "secret-id-2",
        "TABLEAU_SECRET_VALUE": TABLEAU_SECRET,
        "TABLEAU_USER": "ann@example.com",
        "TABLEAU_VIEW_URL": f"{tableau.url}/#/site/bank/views/Branches/Overview",
        "LOOKERSDK_BASE_URL": looker.url,
        "LOOKERSDK_CLIENT_ID": CLIENT_ID,
        "LOOKERSDK_CLIENT_SECRET": LOOKER_SECRET,
        "LOOKERSDK_VERIFY_SSL": "false",
        "LOOKER_DASHBOARD": "7",
    }
    try:
        with serve_voila(folder, env, "voila-bi-configured.log") as url:
            yield f"{url.rstrip('/')}/voila/render/bi.ipynb", tableau, looker
    finally:
        tableau.stop()
        looker.stop()


def _open(browser: Any, url: str) -> Any:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(url, timeout=180_000)
    page.wait_for_selector(".codex-drill-table table", timeout=180_000)
    return page


def _table_ids(page: Any) -> list[str]:
    """The branch ids in the drill-down's table (its second column)."""
    return page.locator(".codex-drill-table tbody tr td:nth-child(2)").all_inner_texts()


def _pick_country(page: Any, gb: Any) -> str | None:
    """Pick GB once both charts are drawn, see the filter reach Tableau and the table follow; None when the branch
    chart follows too, else what the charts show.

    The branch chart's plotted data is checked, not its tick labels, which plotly thins out when they crowd (a numpy
    array in a chart update once left it showing the first country, and a chart drawn after the pick once drew the
    first country's stale state).
    """
    page.wait_for_function(
        "() => [...document.querySelectorAll('.js-plotly-plot')].filter(g => g.querySelector('.barlayer .point'))"
        ".length === 2",
        timeout=90_000,
    )
    page.evaluate(INTERACTIVE)
    page.locator(".widget-dropdown select").nth(0).select_option("GB")
    page.wait_for_function("() => window.applied.some(([f, v]) => f === 'Country' && v[0] === 'GB')")
    page.wait_for_function(f"() => document.querySelectorAll('.codex-drill-table tbody tr').length === {len(gb)}")
    try:
        page.wait_for_function(
            "cities => [...document.querySelectorAll('.js-plotly-plot')].some(g => (g.layout?.title?.text ?? '')"
            ".endsWith(' in GB') && cities.every(c => Array.from(g.data?.[0]?.x ?? []).includes(c)))",
            arg=gb.city.tolist(),
            timeout=90_000,
        )
    except PlaywrightTimeout:
        return str(
            page.evaluate(
                "() => [...document.querySelectorAll('.js-plotly-plot')]"
                ".map(g => [g.layout?.title?.text, g.data?.[0]?.x])"
            )
        )
    return None


def test_unconfigured_says_how_to_set_up_and_still_shows_the_warehouse_bi(
    browser: Any, voila_url: str, artifacts: Path
) -> None:
    page = _open(browser, f"{voila_url}/voila/render/bi.ipynb")
    notice = page.locator(".codex-notice").inner_text()
    assert "Tableau is not configured: set TABLEAU_SERVER" in notice and "LOOKERSDK_BASE_URL" in notice
    assert page.locator(".codex-kpis").count() == 1 and page.locator("tableau-viz").count() == 0
    assert page.locator(".codex-tiles").count() == 0 and len(_table_ids(page)) == 14  # the US branches
    page.screenshot(path=str(artifacts / "bi-unconfigured.png"))
    page.locator(".codex-drill-table").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "bi-unconfigured-drilldown.png"))
    page.close()


def test_configured_links_tableau_and_the_branch_table_both_ways_and_shows_looker_tiles(
    secrets: SecretsSentinel, browser: Any, configured: tuple[str, TableauStandIn, LookerStandIn], artifacts: Path
) -> None:
    secrets.add(TABLEAU_SECRET)
    secrets.add(LOOKER_SECRET)
    url, tableau, looker = configured
    page = _open(browser, url)
    page.wait_for_function("() => document.querySelector('tableau-viz')?.iframe?.src.includes('127.0.0.1')")
    claims = jwt.decode(tableau.signins[-1]["jwt"], TABLEAU_SECRET, algorithms=["HS256"], audience="tableau")
    assert claims["sub"] == "ann@example.com" and tableau.signins[-1]["siteName"] == "bank"
    assert page.locator("tableau-viz viz-filter[field=Country][value=US]").count() == 1
    assert page.locator(".codex-notice").count() == 0

    # Looker: the dashboard's data tiles as tables, typed (a float is formatted as one; a date is a date)
    tiles = page.locator(".codex-tile")
    assert tiles.count() == 2 and "By region" in tiles.nth(0).inner_text()
    assert "1,520.50" in tiles.nth(1).inner_text() and "2024-03-01" in tiles.nth(1).inner_text()
    assert any(p == "/api/4.0/queries/run/json_bi" for _, p, _, _ in looker.requests)
    page.screenshot(path=str(artifacts / "bi-configured.png"))

    # notebook -> Tableau: picking a country, then a branch, filters the view
    gb = codex_jupyter.connect().query("SELECT branch_id, city FROM branches WHERE country = 'GB'").df()
    shown = _pick_country(page, gb)
    if shown is not None:
        # The known limit (README, bi.ipynb): on a page opened while its notebook ran, a chart view drawn before
        # anywidget bound plotly's widget again hears no change. Said, then tried once on a fresh page.
        warnings.warn(
            f"known limit: the branch chart did not follow the pick of GB; the charts show {shown}", stacklevel=1
        )
        page.close()
        page = _open(browser, url)
        page.wait_for_function("() => document.querySelector('tableau-viz')?.iframe?.src.includes('127.0.0.1')")
        shown = _pick_country(page, gb)
    if shown is not None:
        pytest.fail(f"the branch chart did not follow the pick of GB ({', '.join(gb.city)}) on two pages: {shown}")
    page.locator(".widget-dropdown select").nth(1).select_option(label=f"{gb.city[1]} ({gb.branch_id[1]})")
    page.wait_for_function(f"() => window.applied.some(([f, v]) => f === 'Branch ID' && v[0] === '{gb.branch_id[1]}')")

    # Tableau -> notebook: marks selected in the view leave only their branches in the table
    page.evaluate(SELECT_MARKS, [gb.branch_id[0], gb.branch_id[2]])
    page.wait_for_function("() => document.querySelectorAll('.codex-drill-table tbody tr').length === 2")
    assert sorted(_table_ids(page)) == sorted([gb.branch_id[0], gb.branch_id[2]])
    assert "selected in the linked view" in page.locator(".codex-drill-note").inner_text()
    page.locator(".codex-drill-table").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "bi-configured-linked.png"))
    page.locator(".codex-tiles").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "bi-configured-looker.png"))
    secrets.scan(page.content(), "the Voila page")
    page.close()
