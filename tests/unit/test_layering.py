"""The one direction of flow in DESIGN.md: sources -> analytics -> widgets, magics and pipelines on top."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "codex_jupyter"
#: What each layer may not import, even for type checking (a view takes plain data).
FORBIDDEN = {
    "sources": ("codex_jupyter.analytics", "codex_jupyter.widgets", "codex_jupyter.magics", "codex_jupyter.pipelines"),
    "analytics": ("codex_jupyter.sources", "codex_jupyter.widgets", "codex_jupyter.magics", "codex_jupyter.pipelines"),
    "widgets": ("codex_jupyter.sources", "codex_jupyter.magics", "codex_jupyter.pipelines"),
}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_above_or_beside_it(layer: str) -> None:
    crossings = [
        f"{path.relative_to(PACKAGE.parent)} imports {name}"
        for path in sorted((PACKAGE / layer).rglob("*.py"))
        for name in sorted(_imports(path))
        if name.startswith(FORBIDDEN[layer])
    ]
    assert not crossings, crossings
