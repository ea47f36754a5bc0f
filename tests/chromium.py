"""Debian's Chromium for the browser tests and the benchmarks (kept out of the wheel: users never need it).

Debian's Chromium, run headless as CI runs it: no sandbox (CI runs as root
in a container), no GPU, and nothing that phones home, so a page's timing and
errors are the dashboard's own and the run needs no network.
"""

from __future__ import annotations

from typing import Any

#: Debian's package installs it here (``scripts/install-system-deps.sh``).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def launch_chromium(playwright: Any) -> Any:
    """Headless Debian Chromium from a started ``sync_playwright()`` (Playwright's own builds need a download)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_FLAGS), headless=True)


#: A page's full height, for a whole-page screenshot: Voila scrolls inside its own container, so the tallest
#: element counts, except plotly's off-screen text-measuring SVG (``#js-plotly-tester``, 9,000 px high), which
#: otherwise made every full screenshot 9,000 px with its lower part blank.
FULL_HEIGHT_JS = (
    "() => Math.max(...[...document.querySelectorAll('body, body *:not(#js-plotly-tester, #js-plotly-tester *)')]"
    ".map(e => e.scrollHeight))"
)
