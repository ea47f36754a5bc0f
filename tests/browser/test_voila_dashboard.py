"""The analytics dashboard, served by Voila like ``make demo`` does, in Debian's Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.browser


def test_analytics_dashboard_renders_kpis_tables_and_charts(
    voila_url: str, browser: object, artifacts: Path, unexpected: object, served_preheated: object
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"{exc}\n{exc.stack}"))
    page.goto(f"{voila_url}/voila/render/analytics.ipynb", timeout=120_000)
    # Voila streams outputs as cells run; the last cell's dropdown means all ran.
    page.wait_for_selector(".widget-dropdown select", timeout=120_000)
    page.wait_for_selector(".codex-kpis", timeout=10_000)
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=60_000)
    # Voila scrolls inside its own container: a tall viewport captures the whole report.
    page.set_viewport_size({"width": 1280, "height": 3200})
    page.wait_for_timeout(500)
    page.screenshot(path=str(artifacts / "voila-analytics.png"))

    kpis = page.inner_text(".codex-kpis")
    assert "CUSTOMERS" in kpis.upper() and "6,000" in kpis
    summaries = page.locator(".codex-result-summary").all_inner_texts()
    assert any("local DuckDB" in s for s in summaries), summaries
    assert page.locator(".js-plotly-plot").count() >= 3
    assert "Traceback" not in page.content()
    assert served_preheated("analytics.ipynb")  # as in the demo: the page's kernel ran before the reader came

    # The explorer re-queries the warehouse when the reader picks another country.
    page.select_option(".widget-dropdown select", "GB")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.gtitle')].some(t => t.textContent.includes(', GB'))",
        timeout=30_000,
    )
    page.screenshot(path=str(artifacts / "voila-analytics-gb.png"))
    assert not unexpected(errors), errors


def test_anomaly_review_dashboard_shows_alerts_with_reasons(
    voila_url: str, browser: object, artifacts: Path, unexpected: object
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 3600})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"{exc}\n{exc.stack}"))
    page.goto(f"{voila_url}/voila/render/anomalies.ipynb", timeout=120_000)
    page.wait_for_function("() => document.querySelectorAll('.codex-kpis').length >= 2", timeout=180_000)
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=60_000)
    page.wait_for_timeout(1000)
    page.screenshot(path=str(artifacts / "voila-anomalies.png"))
    text = page.inner_text("body")
    assert "LABELLED FAULT EPISODES CAUGHT" in text.upper() and "MADs" in text and "first use" in text
    assert "Traceback" not in page.content()
    assert not unexpected(errors), errors


def test_live_fleet_monitor_updates_and_stops_by_itself(
    voila_url: str, browser: object, artifacts: Path, unexpected: object
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 2400})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"{exc}\n{exc.stack}"))
    page.goto(f"{voila_url}/voila/render/iot.ipynb", timeout=120_000)
    page.wait_for_selector(".codex-tail-counters", timeout=120_000)
    # The tail runs for 10 s: the counters must show it stopping, with records and alerts drawn.
    page.wait_for_function(
        "() => document.querySelector('.codex-tail-counters').innerText.includes('stopped')", timeout=90_000
    )
    page.wait_for_selector(".codex-alerts", timeout=30_000)
    page.wait_for_timeout(1000)
    page.screenshot(path=str(artifacts / "voila-iot.png"))
    counters = page.inner_text(".codex-tail-counters")
    assert "records" in counters and "anomalies" in counters
    assert page.locator(".js-plotly-plot .scatterlayer .trace").count() >= 2
    assert "Traceback" not in page.content()
    assert not unexpected(errors), errors
