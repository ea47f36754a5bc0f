"""The maps dashboard served by Voila in Debian's Chromium, with no network: the offline basemap must carry it."""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import pytest
from chromium import FULL_HEIGHT_JS
from playwright.sync_api import TimeoutError as PlaywrightTimeout

pytestmark = pytest.mark.browser

#: Countries in the offline layer are SVG paths; more than this many means the basemap was drawn.
MIN_OUTLINE_PATHS = 150

#: True once the text of ``key()`` (a JS expression) has not changed for ``ms`` milliseconds (poll it).
STEADY = """([key, ms]) => {
    const now = Date.now(), text = String(eval(key)), seen = (window.__steady ??= {});
    if (!seen[key] || seen[key].text !== text) { seen[key] = { text, since: now }; return false; }
    return now - seen[key].since >= ms;
}"""
#: The first map's view: where its pane sits and its scale bar (both change while it pans or zooms).
FIRST_VIEW = (
    "(() => { const m = document.querySelector('.leaflet-container'); return m.querySelector('.leaflet-map-pane')"
    ".style.transform + '|' + (m.querySelector('.leaflet-control-scale-line')?.textContent ?? ''); })()"
)
FIRST_STATUS = "document.querySelector('.codex-map-status').textContent"


def test_maps_dashboard_draws_offline_basemap_layers_and_controls(
    voila_url: str, browser: object, artifacts: Path, served_preheated: object, voila_log: Path
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"{exc}\n{exc.stack}"))
    console: list[str] = []
    page.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}"))
    started = time.monotonic()
    page.goto(f"{voila_url}/voila/render/maps.ipynb", timeout=120_000)
    try:
        page.wait_for_selector(".leaflet-container", timeout=120_000)
    except PlaywrightTimeout:
        # Once in about 30 clean-clone runs the preheated page came with no map in 120 s (CI, 40625b7) and we could
        # not reproduce it: keep what the page and Voila showed, and reload as a reader would. A page that is broken
        # every time still fails below.
        page.screenshot(path=str(artifacts / "voila-maps-stuck.png"))
        (artifacts / "voila-maps-stuck.html").write_text(page.content())
        log = voila_log.read_text().splitlines()[-20:]
        warnings.warn(
            f"the preheated maps page showed no map within 120 s and was reloaded; console {console[-10:]}; "
            f"Voila log {log}; see artifacts/voila-maps-stuck.png",
            stacklevel=1,
        )
        page.reload(timeout=120_000)
        page.wait_for_selector(".leaflet-container", timeout=180_000)
    page.wait_for_function(
        f"() => document.querySelector('.leaflet-container').querySelectorAll('path').length > {MIN_OUTLINE_PATHS}",
        timeout=60_000,
    )
    first_map_s = time.monotonic() - started
    # Voila streams outputs as cells run; five maps means every cell ran.
    page.wait_for_function("() => document.querySelectorAll('.leaflet-container').length >= 5", timeout=180_000)
    page.wait_for_timeout(1500)
    page.screenshot(path=str(artifacts / "voila-maps.png"))
    page.set_viewport_size({"width": 1280, "height": 4200})
    page.wait_for_timeout(1000)
    page.screenshot(path=str(artifacts / "voila-maps-full.png"))
    print(f"first map with its offline basemap after {first_map_s:.1f} s")

    first = page.locator(".leaflet-container").first
    assert first.locator("path").count() > MIN_OUTLINE_PATHS  # countries, hexagons, lines
    legend = page.locator(".leaflet-control").filter(has_text="points per hexagon").first
    assert legend.is_visible()
    assert page.locator(".leaflet-control-layers").count() >= 5
    assert page.locator(".leaflet-draw").count() >= 5
    text = page.inner_text("body")
    assert "H3 cells" in text  # the aggregation's status line
    assert page.locator(".leaflet-popup").count() == 0  # branch popups stay closed until clicked
    assert "Traceback" not in page.content()
    assert page.locator(".codex-map-error").count() == 0
    # The demo preheats this page: its kernel ran the notebook before the reader came, and must still answer.
    assert served_preheated("maps.ipynb")

    # Zooming in re-aggregates the first map in the kernel, which rewrites its status line.
    status = page.locator(".codex-map-status").first
    world = status.inner_text()
    first.locator(".leaflet-control-zoom-in").click()
    first.locator(".leaflet-control-zoom-in").click()
    page.wait_for_function(
        "was => document.querySelector('.codex-map-status').textContent !== was", arg=world, timeout=30_000
    )
    assert "points" in status.inner_text()
    # Both zooms must have reached the kernel before the search: a view the browser sends after the kernel has
    # moved the map (the second zoom's) puts the map back where it was, mid-Atlantic, and the click below then
    # named no French place (3 of 27 clean-clone runs timed out there).
    page.wait_for_function(STEADY, arg=[FIRST_STATUS, 2000], polling=200, timeout=30_000)
    page.wait_for_function(STEADY, arg=[FIRST_VIEW, 1000], polling=200, timeout=30_000)

    # Searching the offline gazetteer recentres the first map and names the match in the map's note, which the
    # re-aggregation that the pan sets off leaves alone (it rewrites only the status line).
    before_search = status.inner_text()
    box = page.locator(".codex-map input[type=text]").first
    box.fill("Lyon, France")
    box.press("Enter")
    note = "() => document.querySelector('.codex-map-note')?.textContent ?? ''"
    page.wait_for_function(f"() => ({note})().includes('Lyon')", timeout=30_000)
    page.wait_for_function(
        "was => document.querySelector('.codex-map-status').textContent !== was",
        arg=before_search,
        timeout=30_000,
    )
    assert "Lyon" in page.evaluate(note)
    page.wait_for_function(STEADY, arg=[FIRST_VIEW, 1000], polling=200, timeout=30_000)  # the map is still
    page.screenshot(path=str(artifacts / "voila-maps-search.png"))

    # A click names the place there (the notebook's own on_click callback, run by the kernel): the search's
    # "(offline, confidence 1.00)" gives way to the bare address the callback writes into the note. The click goes
    # a little west of the map's centre, which the search put on Lyon: in France at any zoom of the search's
    # fly-to (a fixed spot north-east of the centre fell near the Swiss border while the map was still zoomed out,
    # and this wait timed out in 2 of 24 clean-clone runs).
    box = first.bounding_box()
    first.click(position={"x": box["width"] / 2 - 80, "y": box["height"] / 2 + 10})
    page.wait_for_function(
        f"() => {{ const s = ({note})(); return s.includes('France') && !s.includes('confidence'); }}",
        timeout=30_000,
    )
    assert not errors, errors


def test_maps_dashboard_fits_a_laptop_and_a_phone(voila_url: str, browser: object, artifacts: Path) -> None:
    """Every map within the screen at 1280x800 and 390x844: no sideways scroll, no page error; screenshots kept."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"{exc}\n{exc.stack}"))
    page.on("console", lambda msg: msg.type == "error" and "setData" in msg.text and errors.append(msg.text))
    page.goto(f"{voila_url}/voila/render/maps.ipynb", timeout=120_000)
    page.wait_for_function("() => document.querySelectorAll('.leaflet-container').length >= 5", timeout=240_000)
    for width, height in ((1280, 800), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(1500)
        page.screenshot(path=str(artifacts / f"voila-maps-{width}x{height}.png"))
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"the maps page is {overflow}px wider than a {width}px screen"
        widest = page.evaluate(
            "() => Math.max(...[...document.querySelectorAll('.leaflet-container')]"
            ".map(m => m.getBoundingClientRect().right))"
        )
        assert widest <= width + 1, f"a map reaches {widest}px on a {width}px screen"
        full = page.evaluate(FULL_HEIGHT_JS)
        page.set_viewport_size({"width": width, "height": min(max(full, height), 12_000)})
        page.wait_for_timeout(1000)
        page.screenshot(path=str(artifacts / f"voila-maps-{width}x{height}-full.png"))
    assert "Traceback" not in page.content()
    assert not errors, errors
    page.close()
