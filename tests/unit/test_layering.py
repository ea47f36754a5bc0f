"""The one direction of flow in DESIGN.md: sources -> analytics -> widgets, magics and pipelines on top.

Two rules, both read from the source (imports inside function bodies count too,
since a lazy import is still a dependency):

- a layer imports nothing above or beside it;
- no module imports, directly or through others, a module that imports it
  back (an import cycle), which is what keeps shared types in base modules.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "codex_jupyter"
#: What each layer may not import, even for type checking (a view takes plain data).
_FRONT_DOORS = ("codex_jupyter.magics", "codex_jupyter.server", "codex_jupyter.cli")
#: The notebook's own machinery: only views and front doors touch it, so the rest runs from a plain script.
_NOTEBOOK = ("IPython", "ipywidgets")
FORBIDDEN = {
    "sources": (
        "codex_jupyter.analytics",
        "codex_jupyter.widgets",
        "codex_jupyter.pipelines",
        *_FRONT_DOORS,
        *_NOTEBOOK,
    ),
    "analytics": (
        "codex_jupyter.sources",
        "codex_jupyter.widgets",
        "codex_jupyter.pipelines",
        *_FRONT_DOORS,
        *_NOTEBOOK,
    ),
    "widgets": ("codex_jupyter.sources", "codex_jupyter.pipelines", *_FRONT_DOORS),
    # long-running work knows no views (they subscribe), no front door and no notebook
    "pipelines": ("codex_jupyter.widgets", *_FRONT_DOORS, *_NOTEBOOK),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """Nodes under ``if TYPE_CHECKING:``: never executed, so they make no cycle (they still count for layers)."""
    return {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
        for stmt in node.body
        for inner in ast.walk(stmt)
    }


def _imports(path: Path, *, runtime_only: bool = False) -> set[str]:
    """Every module ``path`` imports; ``from pkg import sub`` counts as ``pkg.sub`` when ``sub`` is a module."""
    here = _module_name(path).split(".")
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text())
    skip = _type_checking_nodes(tree) if runtime_only else set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = here if is_package else here[:-1]
                base = ".".join([*anchor[: len(anchor) - node.level + 1], *([base] if base else [])])
            submodules = {f"{base}.{alias.name}" for alias in node.names} & MODULES.keys()
            names.update(submodules)
            if len(submodules) < len(node.names):
                names.add(base)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def _graph() -> dict[str, set[str]]:
    return {
        name: {m for m in _imports(path, runtime_only=True) if m in MODULES and m != name}
        for name, path in MODULES.items()
    }


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_above_or_beside_it(layer: str) -> None:
    crossings = [
        f"{path.relative_to(PACKAGE.parent)} imports {name}"
        for path in sorted((PACKAGE / layer).rglob("*.py"))
        for name in sorted(_imports(path))
        if name.startswith(FORBIDDEN[layer])
    ]
    assert not crossings, crossings


def test_no_module_imports_itself_through_others() -> None:
    assert not _cycles(_graph())


def test_the_cycle_check_sees_a_cycle_hidden_in_a_function_body() -> None:
    graph = _graph()
    graph["codex_jupyter.sources.warehouse.base"] = graph["codex_jupyter.sources.warehouse.base"] | {
        "codex_jupyter.sources.warehouse.local"
    }
    assert ["codex_jupyter.sources.warehouse.base", "codex_jupyter.sources.warehouse.local"] in _cycles(graph)
