"""The landing page's data: Voila's ``page_config_hook`` that hands the dashboards' cards to the ``codex`` template.

Voila's tree page only knows file names; the cards need each notebook's
title, one-line description and icon, which live in the notebook (its first
heading and paragraph, and ``metadata.codex``). Voila has no other way to give
a template data computed in Python, so ``notebooks/voila.py`` installs this
hook; ``notebooks/voila.json`` carries every plain setting.
"""

from __future__ import annotations

import os
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote

from codex_jupyter.pipelines.notebooks import dashboards, read

#: Where a dashboard goes when its notebook does not say (``metadata.codex.order``): after those that do.
_LAST = 1_000


def cards(folder: Path) -> list[dict[str, Any]]:
    """The landing page's cards for ``folder``: title, description, icon and path, in the notebooks' own order.

    ``metadata.codex`` may give ``summary`` (the card's line; else the first
    sentence of the notebook's first paragraph), ``order`` (smaller first;
    then by name) and ``icon`` (a name from the template's ``icons.macro.html.j2``).
    """
    listed = []
    for card in dashboards(folder, folder):
        meta = read(folder / card["name"]).get("metadata", {}).get("codex", {})
        summary = meta.get("summary") or first_sentence(card["description"])
        listed.append(
            {**card, "summary": summary, "icon": meta.get("icon", "chart"), "order": meta.get("order", _LAST)}
        )
    return sorted(listed, key=lambda card: (card["order"], card["name"]))


def dashboard_links(folder: Path | None = None, exclude: str = "") -> str:
    """HTML links to the dashboards of ``folder`` (default: the working folder, where Voila runs a notebook).

    Relative links, so they resolve beside the page that shows them: under
    Voila's ``/voila/render/`` and next to an exported report alike.
    """
    items = "".join(
        f"<li><a href='{quote(card['name'])}'>{escape(card['title'])}</a>: {escape(card['summary'])}</li>"
        for card in cards(folder or Path.cwd())
        if card["name"] != exclude
    )
    return f"<ul class='codex-links' style='line-height:1.7;padding-left:1.2em'>{items}</ul>"


def first_sentence(text: str) -> str:
    """Up to the first full stop followed by a space: a card shows one line, the notebook tells the rest."""
    head, stop, _ = text.partition(". ")
    return head + "." if stop else text


def page_config_hook(
    page_config: dict[str, Any], *, settings: dict[str, Any], notebook_path: str = "", **_: Any
) -> dict[str, Any]:
    """Add ``codexDashboards`` to a folder page's config (Voila calls this for folder and notebook pages alike).

    Paths in the cards are relative to the server's root, as Voila's
    ``/voila/render/`` URLs want them. The tree handler ignores the return
    value and the notebook handler uses it, so the dict is changed in place
    and returned.
    """
    root = Path(os.path.expanduser(_server_root(settings)))
    folder = root / notebook_path
    if folder.is_dir():
        prefix = f"{notebook_path.strip('/')}/" if notebook_path.strip("/") else ""
        page_config["codexDashboards"] = [{**card, "path": prefix + card["name"]} for card in cards(folder)]
    return page_config


def _server_root(settings: dict[str, Any]) -> str:
    """The folder page paths are relative to: the contents manager's (standalone Voila sets server_root_dir to /)."""
    manager = settings.get("contents_manager")
    return manager.root_dir if manager is not None else settings["server_root_dir"]
