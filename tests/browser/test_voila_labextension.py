"""Voila loads labextensions too: codex-jupyter's must load there and stay quiet (its plugins are JupyterLab's)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.browser


def test_the_labextension_loads_in_voila_without_errors(voila_url: str, browser: object, artifacts: Path) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    loaded: list[str] = []
    errors: list[str] = []
    page.on("request", lambda request: loaded.append(request.url))
    page.on("pageerror", lambda exc: errors.append(f"{exc}\n{exc.stack}"))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type in ("error", "warning") else None)
    page.goto(f"{voila_url}/voila/render/analytics.ipynb", timeout=120_000)
    page.wait_for_selector(".codex-kpis", timeout=120_000)
    assert [u for u in loaded if "/labextensions/codex-jupyter/static/remoteEntry." in u], loaded
    assert page.locator("#codex-sidebar").count() == 0
    assert not [e for e in errors if "codex" in e.lower()], errors
    page.screenshot(path=str(artifacts / "voila-with-labextension.png"))
    page.close()
