"""codex-jupyter's JupyterLab extension in a real JupyterLab 4, driven by Debian's Chromium."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

CURATED = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))

pytestmark = pytest.mark.browser


def _notebook(path: Path, *sources: str) -> str:
    """Write an nbformat 4 notebook of code cells; return its name for a ``/lab/tree/`` URL."""
    cells = [
        {"cell_type": "code", "metadata": {}, "source": s, "outputs": [], "execution_count": None} for s in sources
    ]
    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": kernel}, "cells": cells}
    path.write_text(json.dumps(nb))
    return path.name


def _open(browser: object, lab_url: str, name: str, cells: int = 1) -> tuple[object, list[str]]:
    """Open a notebook in JupyterLab, wait for its first ``cells`` editors; collect page and console errors."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"{exc}\n{exc.stack}"))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    parts = urlsplit(lab_url)
    page.goto(urlunsplit(parts._replace(path=f"{parts.path}/tree/{name}")), timeout=120_000)
    page.wait_for_function(
        f"() => document.querySelectorAll('.jp-Notebook .jp-Cell .cm-content').length >= {cells}", timeout=120_000
    )
    return page, errors


def _codex_errors(errors: list[str]) -> list[str]:
    return [e for e in errors if "codex" in e.lower()]


def test_snowflake_cells_are_highlighted_as_sql_and_python_cells_are_not(
    browser: object, lab_url: str, lab_root: Path, artifacts: Path
) -> None:
    name = _notebook(
        lab_root / "highlight.ipynb",
        "%%snowflake -o df\nselect branch_id, count(*) as n\nfrom branches\nwhere country = 'GB'\ngroup by 1",
        "select = 1\nfrom_ = 'branches'",
    )
    page, errors = _open(browser, lab_url, name, cells=2)
    sql_cell, python_cell = page.locator(".jp-Notebook .jp-Cell .cm-content").all()
    sql_cell.locator(".tok-keyword", has_text="select").first.wait_for(timeout=30_000)
    keywords = {t.lower() for t in sql_cell.locator(".tok-keyword").all_inner_texts()}
    assert {"select", "from", "where", "group", "by"} <= keywords, keywords
    assert sql_cell.locator(".tok-string", has_text="'GB'").count() == 1
    assert python_cell.locator("[class*='tok-']").count() == 0  # Python stays Python: `select` is a name there
    # JupyterLab's own theme colours the SQL keyword like any keyword
    colour = "el => getComputedStyle(el).color"
    sql_select = sql_cell.locator(".tok-keyword", has_text="select").first.evaluate(colour)
    plain_text = python_cell.locator(".cm-line").first.evaluate(colour)  # `select = 1`: a plain name in Python
    assert sql_select != plain_text
    page.screenshot(path=str(artifacts / "jupyterlab-snowflake-highlight.png"))

    # Editing the magic away turns the cell back into Python
    sql_cell.click()
    page.keyboard.press("Control+Home")
    page.keyboard.press("Delete")
    page.locator(".jp-Notebook .jp-Cell .cm-content").first.locator(".tok-keyword").first.wait_for(
        state="detached", timeout=30_000
    )
    assert not _codex_errors(errors), errors
    page.close()


def _open_sidebar(page: object) -> object:
    page.locator(".jp-SideBar [data-id='codex-sidebar']").click()
    sidebar = page.locator("#codex-sidebar")
    sidebar.wait_for(state="visible", timeout=30_000)
    return sidebar


def test_without_the_server_api_the_sidebar_says_so(
    browser: object, lab_url: str, lab_root: Path, artifacts: Path
) -> None:
    page, errors = _open(browser, lab_url, _notebook(lab_root / "no-api.ipynb", "1 + 1"))
    sidebar = _open_sidebar(page)
    for section in ("connections", "catalog", "dashboards", "jobs"):
        missing = sidebar.locator(f".codex-{section} .codex-server-missing")
        missing.wait_for(timeout=30_000)
        assert "Server extension not available" in missing.inner_text()
    page.screenshot(path=str(artifacts / "jupyterlab-sidebar-no-api.png"))
    assert not [e for e in _codex_errors(errors) if "404" not in e], errors
    page.close()


def test_sidebar_lists_surfaces_tables_and_dashboards_from_the_server_api_and_inserts_a_preview(
    browser: object, lab_with_api: tuple[str, Path], artifacts: Path
) -> None:
    url, root = lab_with_api
    page, errors = _open(browser, url, _notebook(root / "scratch.ipynb", "%load_ext codex_jupyter"))
    sidebar = _open_sidebar(page)

    # one row per surface of GET /codex/api/health, with its state and detail
    sidebar.locator(".codex-connection").nth(7).wait_for(timeout=30_000)
    names = sidebar.locator(".codex-connection-name").all_inner_texts()
    assert names == ["warehouse", "geocoding", "routing", "kafka", "mqtt", "kinesis", "tableau", "looker"], names
    warehouse = sidebar.locator(".codex-surface-warehouse")
    assert warehouse.locator(".codex-state").inner_text() == "embedded"
    assert "embedded local DuckDB warehouse" in warehouse.locator(".codex-hint").inner_text()
    assert "great-circle" in sidebar.locator(".codex-surface-routing .codex-hint").inner_text()
    states = set(sidebar.locator(".codex-connection .codex-state").all_inner_texts())
    assert states <= {"configured", "embedded", "available", "missing-extra"}, states
    # the connection names of connections.toml, never its settings
    options = sidebar.locator(".codex-connection-select option").all_inner_texts()
    assert options == ["default (local)", "local", "fake"], options
    assert "s3cr3t" not in sidebar.inner_text()

    dashboards = sidebar.locator(".codex-dashboard")
    dashboards.nth(4).wait_for(timeout=30_000)
    titles = dashboards.all_inner_texts()
    assert titles[0] == "Demo Bank — analytics" and len(titles) == len(CURATED), titles
    about = sidebar.locator(".codex-dashboard-row .codex-description").first.inner_text()
    assert about.startswith("Card spend, customers and branch sales of Demo Bank."), about
    voila = sidebar.locator(".codex-voila").first.get_attribute("href")
    assert voila.endswith("/voila/render/notebooks/analytics.ipynb"), voila
    assert sidebar.locator(".codex-jobs").inner_text().endswith("No runs yet.")

    branches = sidebar.locator(".codex-table", has_text="branches").first
    branches.wait_for(timeout=60_000)
    sidebar.locator(".codex-catalog-search").fill("daily sales")
    assert sidebar.locator(".codex-table").all_inner_texts() == ["daily_sales"]
    sidebar.locator(".codex-catalog-search").fill("")
    row = sidebar.locator(".codex-table-row", has=page.locator(".codex-table", has_text="branches")).first
    row.locator(".codex-columns summary").click()  # the columns came with the catalog: drawn on the spot
    row.locator(".codex-column-list li", has_text="branch_id").wait_for(timeout=5_000)

    branches.click()
    editors = page.locator(".jp-Notebook .jp-Cell .cm-content")
    editors.nth(1).locator(".tok-keyword", has_text="select").wait_for(timeout=30_000)
    preview = editors.nth(1).inner_text()
    assert preview.startswith("%%snowflake\nselect *\nfrom ") and "branches\nlimit 100" in preview, preview
    page.screenshot(path=str(artifacts / "jupyterlab-sidebar.png"))

    # a dashboard opens as a notebook in JupyterLab
    dashboards.first.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "jupyterlab-sidebar-dashboards.png"))
    dashboards.first.click()
    page.locator("#jp-main-dock-panel .lm-TabBar-tabLabel", has_text="analytics.ipynb").wait_for(timeout=30_000)
    assert not _codex_errors(errors), errors
    page.close()
