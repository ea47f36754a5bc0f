"""Lineage of the curated notebooks: for each one, the tables its cells read and write.

Read from the notebook files without running them. Two kinds of cell count:
``%%snowflake`` cells, and Python cells that pass SQL written in the cell to a
warehouse's ``.query("...")`` or name the table of a ``.write(frame, "table")``
(dashboards keep their SQL in Python so one section is one query and one view).
The SQL is parsed with sqlglot as Snowflake SQL
(:func:`~codex_jupyter.sources.warehouse.lineage.sql_lineage`), and whatever
it cannot place is listed under ``unknown`` rather than guessed. SQL built at
run time (a variable, an f-string) is not followed.
"""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path
from typing import Any

from codex_jupyter.pipelines import notebooks
from codex_jupyter.sources.warehouse.lineage import Lineage, sql_lineage

_MAGIC = "%%snowflake"


def notebook_lineage(path: Path) -> dict[str, Any]:
    """One notebook's ``%%snowflake`` cells (index, connection, reads, writes, unknown) and their union."""
    cells = []
    total = Lineage()
    for index, cell in enumerate(notebooks.read(path).get("cells", [])):
        text = notebooks.source(cell)
        if cell.get("cell_type") != "code":
            continue
        if text.startswith(_MAGIC):
            line, _, sql = text.partition("\n")
            found, connection = sql_lineage(sql), _connection(line)
        else:
            found, connection = _python_lineage(text), None
            if not (found.reads or found.writes or found.unknown):
                continue
        cells.append({"cell": index, "connection": connection, **found.to_dict()})
        total.reads += [t for t in found.reads if t not in total.reads]
        total.writes += [t for t in found.writes if t not in total.writes]
        total.unknown += [f"cell {index}: {u}" for u in found.unknown]
    return {"notebook": path.name, **total.to_dict(), "cells": cells}


def lineage(root: Path) -> list[dict[str, Any]]:
    """:func:`notebook_lineage` of every notebook in ``root``."""
    return [notebook_lineage(root / name) for name in notebooks.names(root)]


#: An IPython line magic or shell escape, alone (``%load_ext x``) or assigned (``fleet = %iot_tail ...``).
_MAGIC_LINE = re.compile(r"^(\s*)(?:([\w.]+\s*=\s*)?[%!].*)$")


def _python_lineage(text: str) -> Lineage:
    """Tables of the ``.query("SQL")`` and ``.write(frame, "table")`` calls of a Python cell.

    Magic lines become ``None``/``pass`` so the rest parses as plain Python; a cell magic (``%%time``) or a cell
    that still does not parse has nothing to say about tables.
    """
    found = Lineage()
    if text.lstrip().startswith("%%"):
        return found
    python = "\n".join(
        _MAGIC_LINE.sub(lambda m: f"{m[1]}{m[2] or ''}{'None' if m[2] else 'pass'}", line) for line in text.splitlines()
    )
    try:
        tree = ast.parse(python)
    except SyntaxError:
        return found
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        literal = [a.value if isinstance(a, ast.Constant) and isinstance(a.value, str) else None for a in node.args]
        if node.func.attr == "query" and literal and literal[0]:
            one = sql_lineage(literal[0])
        elif node.func.attr == "write" and len(literal) > 1 and literal[1]:
            one = Lineage(writes=[literal[1].lower()])
        else:
            continue
        found.reads += [t for t in one.reads if t not in found.reads]
        found.writes += [t for t in one.writes if t not in found.writes]
        found.unknown += [u for u in one.unknown if u not in found.unknown]
    return found


def _connection(line: str) -> str | None:
    """The ``-c`` / ``--connection`` of a ``%%snowflake`` line: None means the resolved default warehouse."""
    try:
        words = shlex.split(line)[1:]
    except ValueError:
        return None
    for i, word in enumerate(words):
        if word in ("-c", "--connection") and i + 1 < len(words):
            return words[i + 1]
        if word.startswith("--connection="):
            return word.partition("=")[2]
    return None
