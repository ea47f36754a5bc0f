"""Every import and dotted name the README and ``docs/`` show a user exists: the docs cannot drift from the layout."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = "\n".join(path.read_text() for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))])
IMPORTS = sorted(
    {
        (module, name.strip())
        for module, names in re.findall(r"from (codex_jupyter[\w.]*) import ([\w, ]+)", README)
        for name in names.split(",")
        if name.strip()
    }
)
DOTTED = sorted(set(re.findall(r"\b(codex_jupyter(?:\.[A-Za-z_]\w*)+)", README)))


def _resolve(dotted: str) -> object:
    """Import the longest module prefix of ``dotted``, then follow attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ModuleNotFoundError(dotted)


def test_the_readme_shows_imports_at_all() -> None:
    assert IMPORTS and len(DOTTED) >= 10


@pytest.mark.parametrize(("module", "name"), IMPORTS)
def test_every_import_in_the_readme_works(module: str, name: str) -> None:
    assert getattr(importlib.import_module(module), name) is not None


@pytest.mark.parametrize("dotted", DOTTED)
def test_every_dotted_name_in_the_readme_exists(dotted: str) -> None:
    assert _resolve(dotted) is not None


def test_every_name_codex_jupyter_exports_is_importable() -> None:
    import codex_jupyter

    for name in codex_jupyter.__all__:
        assert getattr(codex_jupyter, name) is not None, name
