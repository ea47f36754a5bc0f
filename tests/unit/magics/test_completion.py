"""Tab in a ``%%snowflake`` cell offers the warehouse's tables and columns, through IPython's own completer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from IPython.core.completer import provisionalcompleter
from IPython.core.interactiveshell import InteractiveShell

from codex_jupyter.magics.completion import WarehouseNames
from codex_jupyter.sources.warehouse import connect


@pytest.fixture(scope="module")
def ip() -> Iterator[InteractiveShell]:
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "codex_jupyter")
    yield shell


def complete(ip: InteractiveShell, cell: str, at: str | None = None) -> list[tuple[str, str]]:
    """``(text, type)`` offered with the cursor after the first ``at`` in ``cell`` (its end by default)."""
    cursor = len(cell) if at is None else cell.index(at) + len(at)
    with provisionalcompleter():
        return [(c.text, c.type) for c in ip.Completer.completions(cell, cursor)]


def test_table_names_complete_in_a_snowflake_cell_and_python_names_do_not(ip: InteractiveShell) -> None:
    offered = complete(ip, "%%snowflake\nselect * from bra")
    assert offered == [("branches", "table")]


def test_columns_of_the_tables_the_query_reads_complete(ip: InteractiveShell) -> None:
    cell = "%%snowflake -o df\nselect city, cou\nfrom branches"
    assert ("country", "column") in complete(ip, cell, at="cou")
    assert ("city_population", "column") in complete(ip, cell, at="select ci")


def test_dotted_names_complete_columns_of_the_table_and_tables_of_the_schema(ip: InteractiveShell) -> None:
    assert complete(ip, "%%snowflake\nselect branches.ci") == [
        ("branches.city", "column"),
        ("branches.city_population", "column"),
    ]
    assert ("main.daily_sales", "table") in complete(ip, "%%snowflake\nselect * from main.dai")


def test_python_cells_and_the_magic_line_get_python_completion(ip: InteractiveShell) -> None:
    assert ("branches", "table") not in complete(ip, "bra")
    assert "breakpoint" in [text for text, _ in complete(ip, "brea")]  # its type depends on jedi's state
    assert ("branches", "table") not in complete(ip, "%%snowflake -c bra")


def test_reloading_the_extension_keeps_one_matcher(ip: InteractiveShell) -> None:
    ip.run_line_magic("reload_ext", "codex_jupyter")
    names = [getattr(m, "__name__", "") for m in ip.Completer.custom_matchers]
    assert names.count("match_snowflake_names") == 1


def test_names_are_read_once_per_connection_until_the_cache_expires() -> None:
    calls: list[str | None] = []
    now = [0.0]

    def counting_connect(name: str | None) -> object:
        calls.append(name)
        return connect(name)

    names = WarehouseNames(counting_connect, ttl=30.0, clock=lambda: now[0])
    first = names.tables("local")
    assert names.tables("local") == first and len(calls) == 1
    assert "branch_id" in names.columns("local", "branches") and names.columns("local", "BRANCHES")
    assert len(calls) == 2  # one read for the tables, one for the table's columns (case-insensitive)
    now[0] = 31.0
    names.tables("local")
    assert len(calls) == 3
    assert names.columns("local", "no_such_table") == []
