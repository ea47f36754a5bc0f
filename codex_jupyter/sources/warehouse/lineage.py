"""Which tables a piece of Snowflake SQL reads and writes, parsed with sqlglot, never run.

What sqlglot does not understand is reported, not guessed: a statement that
does not parse, one sqlglot keeps only as an opaque command, a stage
(``@stage/path``) or a table named at run time (``IDENTIFIER(:name)``) each
add one line to :attr:`Lineage.unknown` and no table. Names are kept as
written (``analytics.public.orders``); CTE names are not tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from codex_jupyter.sources.warehouse.params import parse

#: Statements whose target (the table under ``this``) is written.
_WRITING = (exp.Insert, exp.Create, exp.Merge, exp.Update, exp.Delete, exp.Copy, exp.Drop, exp.Alter, exp.TruncateTable)


@dataclass
class Lineage:
    """Tables read and written, in order of first mention, and what could not be read from the SQL."""

    reads: list[str] = field(default_factory=list)
    writes: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, list[str]]:
        """Plain lists for JSON."""
        return {"reads": self.reads, "writes": self.writes, "unknown": self.unknown}


def sql_lineage(sql: str) -> Lineage:
    """The tables ``sql`` (one or more statements, ``:name`` / ``{{name}}`` parameters allowed) reads and writes."""
    found = Lineage()
    for number, statement in enumerate(parse(sql), 1):
        try:
            tree = sqlglot.parse_one(statement.render(":{name}"), read="snowflake")
        except ParseError as exc:
            reason = str(exc).splitlines()[0]
            found.unknown.append(f"statement {number} does not parse as Snowflake SQL ({reason}); tables not reported")
            continue
        _add(found, number, tree)
    return found


def _add(found: Lineage, number: int, tree: exp.Expression) -> None:
    if isinstance(tree, exp.Command):
        keyword = str(tree.this).upper()
        found.unknown.append(f"statement {number}: sqlglot keeps {keyword} as an opaque command; tables not reported")
        return
    if not _moves_table_data(tree):
        return  # SHOW, USE, GRANT, PUT, CREATE STAGE ...: no table is read or written
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    targets = _targets(tree)
    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            found.unknown.append(f"statement {number}: {table.sql(dialect='snowflake')} is not a named table")
            continue
        name = exp.table_name(table, dialect="snowflake")
        if id(table) in targets:
            _once(found.writes, name)
        elif not (not table.db and name.lower() in ctes):
            _once(found.reads, name)


def _moves_table_data(tree: exp.Expression) -> bool:
    if isinstance(tree, exp.Create | exp.Drop | exp.Alter):
        return str(tree.args.get("kind") or "").upper().endswith(("TABLE", "VIEW"))
    return isinstance(tree, (exp.Query, *_WRITING))


def _targets(tree: exp.Expression) -> set[int]:
    """The tables a writing statement writes (``INSERT INTO t (a, b)`` wraps its table in a schema)."""
    if not isinstance(tree, _WRITING):
        return set()
    if isinstance(tree, exp.TruncateTable | exp.Drop):
        listed = [*(tree.args.get("tables") or []), *tree.expressions]
        return {id(t) for t in listed if isinstance(t, exp.Table)}
    written = tree.this
    if not isinstance(written, exp.Table):
        written = written.find(exp.Table) if isinstance(written, exp.Expression) else None
    return {id(written)} if written is not None else set()


def _once(names: list[str], name: str) -> None:
    if name not in names:
        names.append(name)
