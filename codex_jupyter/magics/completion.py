"""Table and column names inside ``%%snowflake`` cells, completed by the kernel.

The kernel answers completion requests, so doing it here (an IPython matcher
over the warehouse's ``tables()`` and ``columns()``) serves JupyterLab,
Notebook 7, VS Code and the terminal alike. Names are cached per connection
for ``ttl`` seconds: Tab is pressed far more often than tables change, and a
Snowflake round trip per key press would be felt.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from IPython.core.completer import CompletionContext, SimpleCompletion, SimpleMatcherResult, context_matcher

from codex_jupyter.magics.base import options as option_table
from codex_jupyter.magics.snowflake import SnowflakeMagic, split_options

#: A cell IPython runs as ``%%snowflake`` (leading blank lines are dropped), and its option line.
_CELL = re.compile(r"\A(?:[ \t]*\n)*%%snowflake(?=\s|\Z)(?P<options>[^\n]*)")
_CONNECTION = re.compile(r"(?:-c|--connection)(?:=|\s+)(?P<name>\S+)")
#: Tables a query names after FROM or JOIN, possibly qualified or quoted.
_TABLE_REFERENCE = re.compile(r'\b(?:from|join)\s+(?P<table>[\w$."]+)', re.IGNORECASE)


class WarehouseNames:
    """The table and column names of each connection, read through ``connect(name)`` and cached."""

    def __init__(
        self, connect: Callable[[str | None], Any], ttl: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._connect, self._ttl, self._clock = connect, ttl, clock
        self._cache: dict[tuple[str | None, str | None], tuple[float, list[tuple[str, str, str]]]] = {}

    def tables(self, connection: str | None) -> list[tuple[str, str, str]]:
        """``(database, schema, name)`` of every table and view."""
        return self._cached(connection, None, lambda wh: _records(wh.tables(), ("database", "schema", "name")))

    def columns(self, connection: str | None, table: str) -> list[str]:
        """Column names of ``table`` (``name`` or ``schema.name``); none when there is no such table."""
        return [name for name, *_ in self._cached(connection, table.lower(), lambda wh: _column_rows(wh, table))]

    def _cached(
        self, connection: str | None, table: str | None, read: Callable[[Any], list[tuple[str, ...]]]
    ) -> list[Any]:
        key, now = (connection, table), self._clock()
        hit = self._cache.get(key)
        if hit is None or now - hit[0] > self._ttl:
            hit = (now, read(self._connect(connection)))
            self._cache[key] = hit
        return hit[1]


def _records(frame: Any, columns: tuple[str, ...]) -> list[tuple[str, ...]]:
    return [tuple(str(v) for v in row) for row in frame[list(columns)].itertuples(index=False)]


def _column_rows(wh: Any, table: str) -> list[tuple[str, ...]]:
    from codex_jupyter.errors import CodexError

    try:
        return _records(wh.columns(table), ("name",))
    except CodexError:  # not a table (a typo in progress): nothing to offer
        return []


def _unquote(name: str) -> str:
    return ".".join(part.strip('"') for part in name.split("."))


def completions(names: WarehouseNames, cell: str, line: int, token: str) -> list[SimpleCompletion]:
    """What to offer for ``token`` on ``line`` (0-based) of ``cell``: nothing outside a ``%%snowflake`` SQL body."""
    magic = _CELL.match(cell)
    if magic is None or line <= cell[: magic.end()].count("\n"):
        return []
    options, _ = split_options(magic.group("options"), option_table(SnowflakeMagic.execute))
    connection = m.group("name") if (m := _CONNECTION.search(options)) else None
    if "." in token:
        return _dotted(names, connection, token)
    typed = token.lower()
    offered: dict[str, str] = {name: "table" for _, _, name in names.tables(connection)}
    for reference in _TABLE_REFERENCE.finditer(cell):
        table = _unquote(reference.group("table")).split(".")[-2:]
        offered.update({c: "column" for c in names.columns(connection, ".".join(table)) if c not in offered})
    matching = sorted((text, kind) for text, kind in offered.items() if text.lower().startswith(typed))
    return [SimpleCompletion(text, type=kind) for text, kind in matching]


def _dotted(names: WarehouseNames, connection: str | None, token: str) -> list[SimpleCompletion]:
    """``table.col`` offers columns; ``schema.ta`` and ``database.schema.ta`` offer tables."""
    prefix, _, typed = token.rpartition(".")
    parts = _unquote(prefix).lower().split(".")
    found = [
        SimpleCompletion(f"{prefix}.{name}", type="table")
        for database, schema, name in names.tables(connection)
        if parts in ([schema.lower()], [database.lower(), schema.lower()]) and name.lower().startswith(typed.lower())
    ]
    columns = names.columns(connection, ".".join(parts[-2:]))
    found += [SimpleCompletion(f"{prefix}.{c}", type="column") for c in columns if c.lower().startswith(typed.lower())]
    return found


def snowflake_matcher(names: WarehouseNames) -> Callable[[CompletionContext], SimpleMatcherResult]:
    """An IPython matcher offering only warehouse names inside ``%%snowflake`` cells (Python names elsewhere)."""

    @context_matcher()
    def match_snowflake_names(context: CompletionContext) -> SimpleMatcherResult:
        try:
            found = completions(names, context.full_text, context.cursor_line, context.token)
        except Exception:  # a warehouse that cannot answer must not break Tab: Python completion goes on
            found = []
        return {"completions": found, "suppress": bool(found)}

    return match_snowflake_names


def register(shell: Any) -> None:
    """Add the matcher to ``shell``'s completer once (``%reload_ext`` must not stack copies)."""
    from codex_jupyter.sources.warehouse import connect

    matchers = shell.Completer.custom_matchers
    if not any(getattr(m, "__name__", "") == "match_snowflake_names" for m in matchers):
        matchers.append(snowflake_matcher(WarehouseNames(connect)))
