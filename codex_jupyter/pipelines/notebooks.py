"""The curated notebooks as files: where they are, what their ``parameters`` cell declares, their SQL cells.

Notebooks are read as JSON (nbformat 4), never executed here, so listing,
checking parameters and finding lineage cost no kernel. Parameters follow
papermill's convention: the cell tagged ``parameters`` assigns each one a
default (``country = "GB"``, optionally annotated: ``min_amount: int = 2000``),
and the default's type is the type a run must pass. A notebook without such a
cell takes no parameters.
"""

from __future__ import annotations

import ast
import json
import re
import reprlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codex_jupyter.errors import ConfigError, InputError

#: JSON types a parameter may declare, by the name papermill and the API report.
_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "list": (list,),
    "dict": (dict,),
}


class NotebookNotFound(InputError, LookupError):
    """A notebook name that is not one of the curated notebooks."""


@dataclass(frozen=True)
class Parameter:
    """One assignment of a ``parameters`` cell: its name, its type ("any" when the default is not a literal)."""

    name: str
    type: str
    default: Any

    def to_dict(self) -> dict[str, Any]:
        """What the API shows for it."""
        return {"name": self.name, "type": self.type, "default": self.default}


def curated_dir() -> Path:
    """The curated notebooks: in the wheel (``codex_jupyter/notebooks``), or the source tree's ``notebooks/``."""
    package = Path(__file__).resolve().parents[1]
    for candidate in (package / "notebooks", package.parent / "notebooks"):
        if candidate.is_dir():
            return candidate
    raise NotebookNotFound("the curated notebooks are missing from this install; reinstall codex-jupyter")


def names(root: Path) -> list[str]:
    """The notebooks in ``root`` (``analytics.ipynb``, ...), sorted."""
    return sorted(p.name for p in root.glob("*.ipynb") if p.is_file())


def find(root: Path, name: str) -> Path:
    """The notebook ``name`` (with or without ``.ipynb``) in ``root``; only names listed there, never a path."""
    wanted = name if name.endswith(".ipynb") else f"{name}.ipynb"
    known = names(root)
    if wanted not in known:
        raise NotebookNotFound(f"no notebook named {name!r}; the notebooks are: {', '.join(known) or 'none'}")
    return root / wanted


def read(path: Path) -> dict[str, Any]:
    """The notebook as nbformat 4 JSON."""
    return json.loads(path.read_text(encoding="utf-8"))


def source(cell: dict[str, Any]) -> str:
    """A cell's source as one string (nbformat allows a list of lines)."""
    text = cell.get("source", "")
    return "".join(text) if isinstance(text, list) else str(text)


def parameters(notebook: dict[str, Any]) -> dict[str, Parameter]:
    """What the cell tagged ``parameters`` assigns, in order; empty when there is no such cell."""
    found: dict[str, Parameter] = {}
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            for node in ast.parse(source(cell)).body:
                parameter = _parameter(node)
                if parameter is not None:
                    found[parameter.name] = parameter
    return found


def _parameter(node: ast.stmt) -> Parameter | None:
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
        default = _literal(node.value)
        declared = node.annotation.id if isinstance(node.annotation, ast.Name) else ""
        return Parameter(node.target.id, declared if declared in _TYPES else _type_of(default), default)
    if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
        default = _literal(node.value)
        return Parameter(node.targets[0].id, _type_of(default), default)
    return None


_NOT_LITERAL = object()


def _literal(node: ast.expr) -> Any:
    try:
        return ast.literal_eval(node)
    except ValueError:
        return _NOT_LITERAL


def _type_of(default: Any) -> str:
    for name, kind in (("bool", bool), ("int", int), ("float", float), ("str", str), ("list", list), ("dict", dict)):
        if type(default) is kind:
            return name
    return "any"


def check_parameters(notebook_name: str, declared: dict[str, Parameter], given: Any) -> dict[str, Any]:
    """``given`` if every name is declared and every value has its declared type; else :class:`InputError`."""
    if not isinstance(given, dict):
        raise InputError(f"parameters must be a JSON object of name: value, not {type(given).__name__}")
    if given and not declared:
        raise InputError(f"{notebook_name} takes no parameters (it has no cell tagged 'parameters')")
    for name, value in given.items():
        if name not in declared:
            raise InputError(f"{notebook_name} has no parameter {name!r}; its parameters are: {', '.join(declared)}")
        expected = declared[name]
        if not _fits(expected.type, value):
            raise InputError(
                f"parameter {name!r} of {notebook_name} takes a {expected.type} (default {expected.default!r}), "
                f"not {type(value).__name__} {reprlib.repr(value)}"
            )
    return dict(given)


def _fits(kind: str, value: Any) -> bool:
    if kind == "any":
        return True
    if isinstance(value, bool) and kind != "bool":
        return False  # JSON true is not the number 1
    return isinstance(value, _TYPES[kind])


#: A Markdown ATX heading line (``# Title``, optionally closed by ``#``s).
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$")
#: Inline Markdown a one-line description drops: emphasis and code marks, and a link's target.
_INLINE = [
    (re.compile(r"\[([^\]]*)\]\([^)]*\)"), r"\1"),
    (re.compile(r"(\*\*|__|`)"), ""),
    (re.compile(r"\*([^*\s][^*]*)\*"), r"\1"),
]


def dashboards(root: Path, server_root: Path | None) -> list[dict[str, Any]]:
    """Each notebook of ``root`` as the panel lists it: ``{name, title, description, path}``, sorted by name.

    ``title`` is the first Markdown heading (else the name without ``.ipynb``),
    ``description`` the first paragraph of text, as one plain line.
    ``path`` is where Jupyter's contents API finds the notebook (relative to
    ``server_root``, ``/``-separated), or ``None`` when ``root`` lies outside
    the server's root and the notebook cannot be opened there.
    """
    listed = []
    for name in names(root):
        title, description = _title_and_description(read(root / name))
        listed.append(
            {
                "name": name,
                "title": title or name.removesuffix(".ipynb"),
                "description": description,
                "path": _contents_path(root / name, server_root),
            }
        )
    return listed


#: Where ``POST /codex/api/dashboards/{name}/copy`` puts a curated notebook, under the server's root.
COPY_FOLDER = "codex-dashboards"


def copy_into(root: Path, name: str, server_root: Path | None) -> str:
    """Copy the notebook ``name`` of ``root`` to ``codex-dashboards/`` in ``server_root``; its contents API path.

    An installed package's notebooks lie outside the server's root, where
    Jupyter cannot open them. An existing copy is never overwritten (the
    user's edits are kept; exclusive creation also refuses to write through a
    symlink), and its path is returned as it is.
    """
    if server_root is None:
        raise ConfigError("the Jupyter server has no root folder to copy the dashboard into; start it with --root-dir")
    curated = find(root, name)
    target = server_root / COPY_FOLDER / curated.name
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with target.open("xb") as copy:
            copy.write(curated.read_bytes())
    except FileExistsError:
        pass
    return f"{COPY_FOLDER}/{curated.name}"


def title(notebook: dict[str, Any]) -> str:
    """The notebook's first Markdown heading, or ``""`` when it has none (a report's and the panel's title)."""
    return _title_and_description(notebook)[0]


def _title_and_description(notebook: dict[str, Any]) -> tuple[str, str]:
    title, paragraph = "", []
    lines = [
        line.strip()
        for cell in notebook.get("cells", [])
        if cell.get("cell_type") == "markdown"
        for line in [*source(cell).splitlines(), ""]  # a cell ends a paragraph
    ]
    for line in lines:
        heading = _HEADING.match(line)
        if heading and not title:
            title = heading.group(1)
        elif line and not heading:
            paragraph.append(line)
        elif paragraph:
            break
    description = " ".join(paragraph)
    for pattern, replacement in _INLINE:
        description = pattern.sub(replacement, description)
    return title, description


def _contents_path(path: Path, server_root: Path | None) -> str | None:
    if server_root is None:
        return None
    try:
        return path.resolve().relative_to(server_root.resolve()).as_posix()
    except ValueError:
        return None
