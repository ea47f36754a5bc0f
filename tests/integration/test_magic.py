"""``%%snowflake`` in a real IPython shell, and jupysql on the same connection."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from codex_jupyter.widgets.table import QueryFrame

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def ip() -> Iterator[InteractiveShell]:
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "codex_jupyter")
    yield shell


def run(ip: InteractiveShell, line: str, cell: str) -> object:
    return ip.run_cell_magic("snowflake", line, cell)


def test_load_ext_registers_the_magic_and_its_config(ip: InteractiveShell) -> None:
    assert "snowflake" in ip.magics_manager.magics["cell"]
    assert "snowflake" in ip.magics_manager.magics["line"]
    assert any(type(c).__name__ == "SnowflakeMagic" for c in ip.configurables)


def test_cell_returns_a_dataframe_and_out_stores_it(ip: InteractiveShell) -> None:
    out = run(ip, "-o top", "select city from branches order by city_population desc limit 3")
    assert isinstance(out, pd.DataFrame) and isinstance(out, QueryFrame)
    assert ip.user_ns["top"] is out and out.city.tolist()[0] == "London"
    # Derived frames are plain DataFrames: the banner never describes data it does not match.
    assert type(out.head(1)) is pd.DataFrame


def test_result_lands_in_underscore_through_a_real_cell(ip: InteractiveShell) -> None:
    result = ip.run_cell("%%snowflake\nselect 41 + 1 as answer\n", store_history=True)
    assert result.success
    assert ip.user_ns["_"].answer.iloc[0] == 42


def test_line_form(ip: InteractiveShell) -> None:
    assert ip.run_line_magic("snowflake", "select 'a' as x").x.iloc[0] == "a"


def test_display_is_bounded_and_escaped(ip: InteractiveShell) -> None:
    ip.run_line_magic("config", "SnowflakeMagic.displaylimit = 3")
    try:
        out = run(ip, "", "select '<script>alert(1)</script>' as payload, range as i from range(10)")
    finally:
        ip.run_line_magic("config", "SnowflakeMagic.displaylimit = 20")
    html = out._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert html.count("<tr") == 4  # header + 3 rows
    assert "showing the first 3 rows" in html and "10 rows" in html and "local DuckDB" in html
    assert "10 rows" in repr(out) and len(out) == 10


def test_notebook_variables_are_bound(ip: InteractiveShell) -> None:
    ip.user_ns["country"] = "FR"
    ip.user_ns["min_pop"] = 400_000
    out = run(ip, "", "select city from branches where country = :country and city_population > {{min_pop}} order by 1")
    assert out.city.tolist() == ["Lyon", "Marseille", "Paris", "Toulouse"]


def test_limit_and_explain(ip: InteractiveShell) -> None:
    assert len(run(ip, "--limit 4", "select * from customers")) == 4
    plan = run(ip, "--explain", "select name from customers where segment = 'student'")
    assert "customers" in repr(plan)


@pytest.mark.parametrize(
    ("line", "cell", "fragment"),
    [
        ("-c a --connection b", "select 1", "--connection is given more than once"),
        ("-o 1bad", "select 1", "-o needs a Python variable name"),
        ("--limit -1", "select 1", "--limit must be zero or more"),
        ("--bogus", "select 1", "unknown option --bogus; known options: "),
        ("--limt 5", "select 1", "unknown option --limt; did you mean --limit?"),
        ("-c nope", "select 1", "unknown connection 'nope'"),
        ("", "select * from nowhere", "Table with name nowhere does not exist"),
        ("", "select :not_defined_anywhere", "parameter 'not_defined_anywhere' is not set"),
        ("", "-- only a comment", "the cell has no SQL"),
        ("extra words", "select 1", "put the SQL in the cell"),
    ],
)
def test_user_mistakes_are_one_line_usage_errors(ip: InteractiveShell, line: str, cell: str, fragment: str) -> None:
    with pytest.raises(UsageError) as err:
        run(ip, line, cell)
    assert fragment in str(err.value) and "\n" not in str(err.value).strip()


def test_jupysql_uses_the_same_connection(ip: InteractiveShell) -> None:
    run(ip, "", "create or replace table shared_with_jupysql as select 7 as seven")
    ip.run_line_magic("load_ext", "sql")
    ip.run_line_magic("config", "SqlMagic.displaycon = False")
    rows = ip.run_line_magic("sql", "select seven from shared_with_jupysql")
    assert rows.DataFrame().seven.tolist() == [7]
    assert ip.run_line_magic("sql", "select count(*) as n from branches").DataFrame().n.iloc[0] == 40
    tables = str(ip.run_line_magic("sqlcmd", "tables"))
    assert "transactions" in tables and "shared_with_jupysql" in tables
    import matplotlib

    matplotlib.use("Agg")
    axes = ip.run_line_magic("sqlplot", "histogram --table daily_sales --column products_sold")
    assert axes.get_title() and len(axes.patches) > 0


def test_reader_mode_shows_results_as_a_report(ip: InteractiveShell) -> None:
    ip.run_line_magic("config", "SnowflakeMagic.reader = True")
    try:
        out = run(ip, "", "select range as i, range * 1000.5 as amount from range(30)")
    finally:
        ip.run_line_magic("config", "SnowflakeMagic.reader = False")
    html = out._repr_html_()
    assert "the full result is in" not in html and " s · " not in html  # no developer hint, no timing
    assert "20 of 30 rows" in html and "Source: local DuckDB" in html and "19,009.50" in html
    assert "<th></th>" not in html and len(out) == 30  # no index column; the full result is kept
