"""Lineage of the curated notebooks: for each one, the tables its ``%%snowflake`` cells read and write.

Read from the notebook files without running them; the SQL is parsed with
sqlglot as Snowflake SQL (:func:`~codex_jupyter.sources.warehouse.lineage.sql_lineage`),
and whatever it cannot place is listed under ``unknown`` rather than guessed.
SQL passed to ``wh.query(...)`` in Python code is not looked at.
"""

from __future__ import annotations

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
        if cell.get("cell_type") != "code" or not text.startswith(_MAGIC):
            continue
        line, _, sql = text.partition("\n")
        found = sql_lineage(sql)
        cells.append({"cell": index, "connection": _connection(line), **found.to_dict()})
        total.reads += [t for t in found.reads if t not in total.reads]
        total.writes += [t for t in found.writes if t not in total.writes]
        total.unknown += [f"cell {index}: {u}" for u in found.unknown]
    return {"notebook": path.name, **total.to_dict(), "cells": cells}


def lineage(root: Path) -> list[dict[str, Any]]:
    """:func:`notebook_lineage` of every notebook in ``root``."""
    return [notebook_lineage(root / name) for name in notebooks.names(root)]


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
