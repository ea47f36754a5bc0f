"""Finding parameters and statements in Snowflake SQL."""

from __future__ import annotations

import pytest

from codex_jupyter.sources.warehouse.params import ParameterError, parse


def names(sql: str) -> list[tuple[str, ...]]:
    return [st.names for st in parse(sql)]


def test_colon_and_braced_parameters_are_found_in_order() -> None:
    assert names("select * from t where a = :first and b = {{ second }} and c = :first") == [("first", "second")]


@pytest.mark.parametrize(
    "sql",
    [
        "select ts::date from t",
        "select payload:device.id from t",
        'select src:"field" from t',
        "select arr[0]:x from t",
        "select ':notparam' from t",
        "select 'it''s :no' from t",
        "select $$ :no {{no}} $$",
        'select "col:no" from t',
        "select 1 -- :no\n",
        "select 1 /* {{no}} */",
        "select 1 // :no",
        "select '10:30'::time",
    ],
)
def test_casts_paths_literals_and_comments_are_not_parameters(sql: str) -> None:
    assert names(sql) == [()]


def test_statements_split_on_top_level_semicolons_only() -> None:
    statements = parse("create table t as select ';' as s; -- trailing; comment\ninsert into t values (:v);\n\n")
    assert [st.text for st in statements] == [
        "create table t as select ';' as s",
        "-- trailing; comment\ninsert into t values (:v)",
    ]
    assert statements[1].names == ("v",)


def test_comment_only_and_empty_cells_have_no_statements() -> None:
    assert parse("  \n -- just a note\n") == []
    assert parse(";;") == []


def test_render_styles() -> None:
    (st,) = parse("select :a, {{b}}, :a")
    assert st.render("${name}") == "select $a, $b, $a"
    assert st.render("?") == "select ?, ?, ?"
    assert st.qmark_values({"a": 1, "b": 2}) == [1, 2, 1]


def test_missing_parameter_names_the_variable_and_the_fix() -> None:
    (st,) = parse("select * from t where region = :region")
    with pytest.raises(ParameterError) as err:
        st.values({})
    message = str(err.value)
    assert "'region'" in message and "region = ..." in message and "\n" not in message
