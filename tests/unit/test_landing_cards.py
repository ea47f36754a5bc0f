"""The landing page's data: cards from the notebooks themselves, and Voila's page-config hook."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from codex_jupyter.landing import cards, dashboard_links, first_sentence, page_config_hook

CURATED = Path(__file__).resolve().parents[2] / "notebooks"


def _notebook(folder: Path, name: str, markdown: str, codex: dict | None = None) -> None:
    cells = [{"cell_type": "markdown", "metadata": {}, "source": markdown}]
    metadata = {"codex": codex} if codex else {}
    (folder / name).write_text(json.dumps({"cells": cells, "metadata": metadata, "nbformat": 4, "nbformat_minor": 5}))


def test_cards_follow_the_notebooks_order_then_names_and_keep_one_line(tmp_path: Path) -> None:
    _notebook(tmp_path, "b.ipynb", "# Beta\n\nFirst sentence. Second sentence.")
    _notebook(tmp_path, "a.ipynb", "# Alpha\n\nAbout alpha.")
    _notebook(tmp_path, "z.ipynb", "# Zed <overview>\n\nLong text.", {"order": 0, "icon": "map", "summary": "Short."})
    listed = cards(tmp_path)
    assert [c["name"] for c in listed] == ["z.ipynb", "a.ipynb", "b.ipynb"]
    assert [c["summary"] for c in listed] == ["Short.", "About alpha.", "First sentence."]
    assert [c["icon"] for c in listed] == ["map", "chart", "chart"]


def test_first_sentence_keeps_abbreviation_free_text_whole() -> None:
    assert first_sentence("One. Two.") == "One."
    assert first_sentence("Only one line") == "Only one line"


def test_every_curated_dashboard_has_a_card_with_title_summary_and_the_overview_first() -> None:
    listed = cards(CURATED)
    assert {c["name"] for c in listed} == {p.name for p in CURATED.glob("*.ipynb")}
    assert listed[0]["name"] == "overview.ipynb"
    assert all(c["title"] and c["summary"] and len(c["summary"]) <= 200 for c in listed)


def test_hook_adds_cards_to_folder_pages_with_paths_from_the_server_root(tmp_path: Path) -> None:
    (tmp_path / "dash").mkdir()
    _notebook(tmp_path / "dash", "a.ipynb", "# Alpha\n\nAbout alpha.")
    settings = {"contents_manager": SimpleNamespace(root_dir=str(tmp_path)), "server_root_dir": "/"}
    config = page_config_hook({"x": 1}, settings=settings, notebook_path="dash", base_url="/")
    assert config["x"] == 1 and [c["path"] for c in config["codexDashboards"]] == ["dash/a.ipynb"]
    # a notebook's own page gets no cards, and the dict is returned for Voila's notebook handler
    page = {"x": 2}
    assert page_config_hook(page, settings=settings, notebook_path="dash/a.ipynb") is page
    assert "codexDashboards" not in page


def test_links_are_relative_escaped_and_leave_out_the_page_showing_them(tmp_path: Path) -> None:
    _notebook(tmp_path, "a b.ipynb", "# <Alpha>\n\nAbout alpha.")
    _notebook(tmp_path, "overview.ipynb", "# Overview\n\nAll.")
    html = dashboard_links(tmp_path, exclude="overview.ipynb")
    assert "href='a%20b.ipynb'" in html and "&lt;Alpha&gt;" in html and "overview" not in html
