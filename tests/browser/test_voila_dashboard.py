"""The curated dashboards, served by Voila like ``make demo`` does, in Debian's Chromium, as a reader sees them.

Each page must render its parts, show reader tables (no index column, no developer hints such as "the full result
is in _"), raise no JavaScript error at all (``r.setData is not a function`` came from plain plotly figures at a
cell's top level; charts now sit in Output widgets), request nothing from the web, and stay within the screen at
1280x800 and at 390x844. Screenshots of both sizes are kept in artifacts/.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from chromium import FULL_HEIGHT_JS

import codex_jupyter

pytestmark = pytest.mark.browser

#: What shows that every cell of a page ran: a JavaScript condition per notebook.
DONE = {
    "analytics": "document.querySelectorAll('.codex-table-caption').length >= 1"
    " && document.querySelectorAll('.codex-explorer .js-plotly-plot').length >= 2",
    "anomalies": "document.querySelectorAll('.codex-kpis').length >= 2"
    " && document.querySelectorAll('.codex-reader-table').length >= 4",
    "forecasting": "document.querySelectorAll('.codex-reader-table').length >= 2"
    " && document.querySelectorAll('.js-plotly-plot').length >= 3",
    "bi": "document.querySelectorAll('.codex-drill-table table').length >= 1"
    " && document.querySelectorAll('.js-plotly-plot .main-svg').length >= 2",
    "feedback": "[...document.querySelectorAll('.codex-table-caption')].some(c => c.textContent.includes('Source'))",
}
DEVELOPER_HINTS = ("the full result is in", "showing the first", "query id", "Traceback", "Error displaying widget")


def _open(browser: object, url: str, name: str, errors: list[str]) -> object:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.on("pageerror", lambda exc: errors.append(f"{exc}\n{exc.stack}"))
    page.on("console", lambda msg: msg.type == "error" and "setData" in msg.text and errors.append(msg.text))
    # nothing from the web (Voila's lab page links Font Awesome from a CDN; our template drops the links)
    page.on(
        "request",
        lambda r: r.url.startswith(("http:", "https:")) and not r.url.startswith(url) and errors.append(r.url),
    )
    page.goto(f"{url}/voila/render/{name}.ipynb", timeout=120_000)
    page.wait_for_function(f"() => {DONE[name]}", timeout=240_000)
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=60_000)
    page.wait_for_timeout(1500)
    return page


def _shoot(page: object, artifacts: Path, name: str, width: int, height: int) -> None:
    """The first screen as the reader sees it, then the whole page (Voila scrolls inside its own container)."""
    page.set_viewport_size({"width": width, "height": height})
    page.wait_for_timeout(1000)
    page.screenshot(path=str(artifacts / f"voila-{name}-{width}x{height}.png"))
    full = page.evaluate(FULL_HEIGHT_JS)
    page.set_viewport_size({"width": width, "height": min(max(full, height), 12_000)})
    page.wait_for_timeout(1000)
    page.screenshot(path=str(artifacts / f"voila-{name}-{width}x{height}-full.png"))


def _assert_reads_as_a_dashboard(page: object, width: int) -> None:
    text = page.inner_text("body")
    for hint in DEVELOPER_HINTS:
        assert hint not in text, hint
    # Reader tables have no index column: no empty corner header, and no table of pandas' own styling.
    assert page.locator("table.codex-reader-table").count() >= 1
    assert page.locator("table.dataframe").count() == 0
    assert page.locator("table.codex-reader-table thead th:empty").count() == 0
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"the page is {overflow}px wider than a {width}px screen"
    # Every chart is drawn at a size a reader sees: plotly's responsive mode once left an explorer's charts in a
    # 0 px box, their SVG present but invisible.
    heights = page.evaluate("() => [...document.querySelectorAll('.js-plotly-plot')].map(p => p.offsetHeight)")
    assert not heights or min(heights) >= 100, f"charts drawn {heights} px high"
    # A long cell keeps a readable width: squeezed onto a phone, an alert's reason or a customer's comment wrapped a
    # word or two to a line, and the anomaly and feedback reviews' rows stood 230 to 320 px tall.
    tables = page.evaluate(
        """() => [...document.querySelectorAll('.codex-table-wrap')].map(w => ({
            cards_up_to: +w.querySelector('table').className.match(/codex-cards-(\\d+)/)[1],
            overflow: w.scrollWidth - w.clientWidth,
            width: w.clientWidth,
            rows: [...w.querySelectorAll('tbody tr')].map(r => ({
                height: r.offsetHeight,
                card: getComputedStyle(r).display === 'block',
                labelled: [...r.querySelectorAll('td')].every(
                    td => getComputedStyle(td, '::before').content === JSON.stringify(td.dataset.label)),
                // text from the left, numbers (in a table) from the right: JupyterLab's rules right-align all
                aligned: [...r.querySelectorAll('td')].every(td => getComputedStyle(td).textAlign === (
                    td.classList.contains('num') && getComputedStyle(r).display !== 'block' ? 'right' : 'left')),
            })),
            headings_left: [...w.querySelectorAll('th')].every(th => getComputedStyle(th).textAlign === 'left'),
        }))"""
    )
    assert all(t["width"] >= 100 for t in tables), f"a reader table drawn too narrow to read: {tables}"
    for table in tables:
        # A table too wide for the screen is a card per row, each line headed by its column, and nothing lies off to
        # the right: scrolling sideways on a phone, a reader saw an alert's time, device and episode, and had to find
        # that its reason was there. (On a desktop a wide table in a half-width column may still scroll.)
        cards = [r["card"] for r in table["rows"]]
        aligned = table["headings_left"] and all(r["aligned"] for r in table["rows"])
        assert aligned, f"a reader table's text is not aligned to its side: {table}"
        assert cards == [width <= table["cards_up_to"]] * len(cards), table
        if any(cards) or width <= 400:
            assert table["overflow"] <= 1, f"a reader table scrolls {table['overflow']} px sideways: {table}"
        if any(cards):
            assert all(r["labelled"] for r in table["rows"]), f"a card's lines do not name their columns: {table}"
        else:
            tallest = max((r["height"] for r in table["rows"]), default=0)
            assert tallest <= 140, f"a reader table's row is {tallest} px tall on a {width}px screen"


@pytest.mark.parametrize("name", sorted(DONE))
def test_dashboard_reads_as_a_dashboard_on_desktop_and_phone(
    name: str, voila_url: str, browser: object, artifacts: Path
) -> None:
    errors: list[str] = []
    page = _open(browser, voila_url, name, errors)
    for width, height in ((1280, 800), (390, 844)):
        _shoot(page, artifacts, name, width, height)
        _assert_reads_as_a_dashboard(page, width)
    assert not errors, errors  # no exception at all, setData included
    page.close()


def test_analytics_explorer_requeries_and_every_chart_follows(
    voila_url: str, browser: object, artifacts: Path, served_preheated: object
) -> None:
    errors: list[str] = []
    page = _open(browser, voila_url, "analytics", errors)
    kpis = page.inner_text(".codex-kpis")
    assert "CUSTOMERS" in kpis.upper() and "6,000" in kpis
    captions = page.locator(".codex-table-caption").all_inner_texts()
    assert any("local DuckDB" in c for c in captions), captions
    assert page.locator("table.codex-reader-table th").first.inner_text() == "Transaction"
    assert served_preheated("analytics.ipynb")  # as in the demo: the page's kernel ran before the reader came

    page.select_option(".codex-explorer select", "GB")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.codex-explorer .gtitle')].filter(t => t.textContent.includes(', GB'))"
        ".length >= 2",
        timeout=60_000,
    )
    page.screenshot(path=str(artifacts / "voila-analytics-gb.png"))
    assert not errors, errors


def test_anomaly_review_dashboard_shows_alerts_with_reasons(voila_url: str, browser: object) -> None:
    errors: list[str] = []
    page = _open(browser, voila_url, "anomalies", errors)
    text = page.inner_text("body")
    assert "LABELLED FAULT EPISODES CAUGHT" in text.upper() and "MADs" in text and "first use" in text
    assert not errors, errors


def _titles(page: object, scope: str) -> list[str]:
    """The chart titles under ``scope``, each as one line (long titles are broken into lines for phones)."""
    return page.locator(f"{scope} .gtitle").evaluate_all(
        "ts => ts.map(t => [...t.querySelectorAll('tspan')].map(s => s.textContent).join(' ') || t.textContent)"
    )


def _pick(page: object, option: str, title_part: str) -> list[str]:
    """Pick ``option`` in the page's filter and wait until a chart title names it; the titles then."""
    page.select_option(".codex-explorer select", option)
    page.wait_for_function(
        "part => [...document.querySelectorAll('.codex-explorer .gtitle')].some(t => t.textContent.includes(part))",
        arg=title_part,
        timeout=60_000,
    )
    page.wait_for_timeout(500)
    return _titles(page, ".codex-explorer")


def test_anomalies_device_filter_drives_the_kpis_tables_and_chart(
    voila_url: str, browser: object, artifacts: Path
) -> None:
    errors: list[str] = []
    page = _open(browser, voila_url, "anomalies", errors)
    explorer = page.locator(".codex-explorer")
    before = (explorer.locator(".codex-kpis").inner_text(), explorer.locator("table").first.inner_text())
    assert any("the four devices" in t for t in _titles(page, ".codex-explorer"))
    titles = _pick(page, "hvac", "hvac devices")
    after = (explorer.locator(".codex-kpis").inner_text(), explorer.locator("table").first.inner_text())
    assert after[0] != before[0] and after[1] != before[1]
    hvac = set(codex_jupyter.connect().query("SELECT device_id FROM iot_devices WHERE kind = 'hvac'").df().device_id)
    devices = explorer.locator("table").first.locator("tbody tr td:nth-child(2)").all_inner_texts()
    assert devices and set(devices) <= hvac, devices
    subplots = page.locator(".codex-explorer .annotation-text").all_text_contents()
    assert subplots and set(subplots) <= hvac, (titles, subplots)
    page.screenshot(path=str(artifacts / "voila-anomalies-hvac.png"))
    page.set_viewport_size({"width": 390, "height": 844})
    explorer.locator(".js-plotly-plot").first.scroll_into_view_if_needed()
    page.wait_for_timeout(1000)
    page.screenshot(path=str(artifacts / "voila-anomalies-hvac-390x844.png"))
    assert not errors, errors


def test_forecasting_branch_filter_drives_the_chart_scores_and_models(
    voila_url: str, browser: object, artifacts: Path
) -> None:
    errors: list[str] = []
    page = _open(browser, voila_url, "forecasting", errors)
    explorer = page.locator(".codex-explorer")
    kpis = explorer.locator(".codex-kpis").inner_text()
    assert any("six largest branches" in t for t in _titles(page, ".codex-explorer"))
    titles = _pick(page, "BR003", "in BR003")
    assert not any("six largest" in t for t in titles) and "Forecast model chosen per branch" not in titles
    assert explorer.locator(".codex-kpis").inner_text() != kpis
    assert "BR003" in explorer.locator("table.codex-reader-table").inner_text()
    page.screenshot(path=str(artifacts / "voila-forecasting-br003.png"))
    assert not errors, errors


def test_live_fleet_monitor_updates_and_stops_by_itself(voila_url: str, browser: object, artifacts: Path) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"{exc}\n{exc.stack}"))
    page.goto(f"{voila_url}/voila/render/iot.ipynb", timeout=120_000)
    page.wait_for_selector(".codex-tail-counters", timeout=120_000)
    # The tail runs for 10 s: the counters must show it stopping, with records and alerts drawn.
    page.wait_for_function(
        "() => document.querySelector('.codex-tail-counters').innerText.includes('stopped')", timeout=90_000
    )
    page.wait_for_selector(".codex-alerts", timeout=30_000)
    page.wait_for_function("() => document.querySelectorAll('.codex-reader-table').length >= 2", timeout=60_000)
    page.wait_for_timeout(1000)
    for width, height in ((1280, 800), (390, 844)):
        _shoot(page, artifacts, "iot", width, height)
        _assert_reads_as_a_dashboard(page, width)
    counters = page.inner_text(".codex-tail-counters")
    assert "records" in counters and "anomalies" in counters
    assert page.locator(".js-plotly-plot .scatterlayer .trace").count() >= 2
    assert not errors, errors
