"""The landing page and the overview dashboard, served by Voila like ``make demo`` does, in Debian's Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest

from codex_jupyter.landing import cards

pytestmark = pytest.mark.browser

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
#: The two screens the dashboards are checked at: a laptop and a phone.
VIEWPORTS = {"desktop": (1280, 800), "phone": (390, 844)}


def _no_sideways_scroll(page: object) -> bool:
    """Nothing wider than the screen: a phone reader never scrolls sideways to read a page."""
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.parametrize("screen", VIEWPORTS)
def test_landing_page_shows_one_card_per_dashboard_overview_first(
    voila_url: str, browser: object, artifacts: Path, screen: str
) -> None:
    width, height = VIEWPORTS[screen]
    page = browser.new_page(viewport={"width": width, "height": height})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    page.goto(f"{voila_url}/", timeout=60_000)
    page.wait_for_selector(".codex-card", timeout=30_000)
    page.screenshot(path=str(artifacts / f"voila-landing-{screen}.png"), full_page=True)

    assert page.title() == "Codex Analytics: dashboards"
    expected = cards(NOTEBOOKS)
    titles = page.locator(".codex-card h2").all_inner_texts()
    assert titles == [card["title"] for card in expected]
    assert page.locator(".codex-card p").all_inner_texts() == [card["summary"] for card in expected]
    hrefs = page.locator(".codex-card a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert hrefs == [f"/voila/render/{card['name']}" for card in expected]
    assert "Select items to open" not in page.content()  # not Voila's raw file list
    assert _no_sideways_scroll(page)
    assert not errors, errors


@pytest.mark.parametrize("screen", VIEWPORTS)
def test_overview_shows_kpis_map_forecast_sentiment_and_starts_the_live_strip_on_request(
    voila_url: str, browser: object, artifacts: Path, served_preheated: object, screen: str
) -> None:
    width, height = VIEWPORTS[screen]
    page = browser.new_page(viewport={"width": width, "height": height})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"{exc}\n{exc.stack}"))
    page.goto(f"{voila_url}/voila/render/overview.ipynb", wait_until="commit", timeout=240_000)
    page.wait_for_selector(".codex-links", timeout=240_000)  # the last cell: every cell ran
    page.wait_for_selector(".leaflet-container", timeout=30_000)
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot .main-svg').length >= 2", timeout=60_000)
    page.screenshot(path=str(artifacts / f"voila-overview-{screen}.png"))

    kpis = page.inner_text(".codex-kpis").upper()
    for tile in ("DEPOSITS", "TRANSACTIONS", "CARD SPEND", "FRAUD FLAGS", "DEVICES ONLINE", "OPEN ALERTS"):
        assert tile in kpis
    assert page.locator(".codex-bar .codex-home").get_attribute("href") == "/"
    links = page.locator(".codex-links a").all_inner_texts()
    assert len(links) == len(cards(NOTEBOOKS)) - 1 and "Demo Bank — overview" not in links
    assert "Traceback" not in page.content()
    assert _no_sideways_scroll(page)
    assert served_preheated("overview.ipynb")  # the landing page's first card opens at once

    # The live strip starts only when the reader asks (a preheated kernel ran long before they came).
    assert page.locator(".codex-tail-counters").count() == 0
    page.get_by_role("button", name="Watch the fleet live").click()
    page.wait_for_function(
        "() => /records\\s+[1-9]/.test(document.querySelector('.codex-tail-counters')?.innerText ?? '')",
        timeout=60_000,
    )
    page.screenshot(path=str(artifacts / f"voila-overview-live-{screen}.png"))
    assert not errors, errors
