"""The embedded local warehouse: Snowflake SQL on DuckDB over the demo dataset."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pandas as pd
import pytest

from codex_jupyter.sources.warehouse import WarehouseError, connect

pytestmark = pytest.mark.integration


def test_connect_returns_the_local_warehouse_and_reuses_it() -> None:
    wh = connect()
    assert wh.kind == "local" and connect() is wh and connect("local") is wh


def test_query_result_shape_and_summary() -> None:
    res = connect().query("select branch_id, city from branches where country = 'GB' order by branch_id")
    assert res.row_count == 6 and res.columns == ["branch_id", "city"]
    assert res.df().city.iloc[0] == "London"
    assert res.arrow().num_rows == 6 and res.arrow().column_names == ["branch_id", "city"]
    assert res.warehouse.startswith("local DuckDB") and res.query_id is None and res.elapsed > 0
    assert res.summary().startswith("6 rows · ")


def test_parameters_are_bound_so_injection_is_only_a_value() -> None:
    wh = connect()
    wh.query("create or replace table notes as select 'keep me' as note")
    evil = "x'; drop table notes; --"
    res = wh.query("select * from notes where note = :v or note = {{v}}", {"v": evil})
    assert res.row_count == 0
    assert "$v" in res.sql and evil not in res.sql
    assert wh.query("select count(*) as n from notes").df().n.iloc[0] == 1
    assert wh.query("select :v as echoed", {"v": evil}).df().echoed.iloc[0] == evil


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("select iff(1 > 0, 'yes', 'no') as v", "yes"),
        ("select '2025-03-07'::date as v", pd.Timestamp("2025-03-07")),
        ("select dayname('2025-03-07'::date) as v", "Fri"),
        ("select date_trunc('month', '2025-03-07'::date)::date as v", pd.Timestamp("2025-03-01")),
        ("select datediff(day, '2025-01-01'::date, '2025-03-01'::date) as v", 59),
        ('select parse_json(\'{"a": {"b": 7}}\'):a.b::int as v', 7),
        ("select listagg(x, ',') within group (order by x) as v from (select 'b' x union all select 'a')", "a,b"),
        ("select city as v from branches qualify row_number() over (order by city_population desc) = 1", "London"),
    ],
)
def test_snowflake_dialect_features_used_by_the_notebooks(sql: str, expected: object) -> None:
    value = connect().query(sql).df().v.iloc[0]
    assert value == expected


def test_dateadd_returns_a_timestamp_on_duckdb_not_a_date() -> None:
    """A known transpiling gap (Snowflake returns DATE): documented in the README."""
    value = connect().query("select dateadd(day, 1, '2025-01-31'::date) as v").df().v.iloc[0]
    assert pd.Timestamp(value) == pd.Timestamp("2025-02-01")


def test_duckdb_statements_sqlglot_misreads_still_run() -> None:
    frame = connect().query("summarize branches").df()
    assert "column_name" in frame.columns and "city" in set(frame.column_name)


def test_multiple_statements_return_the_last_result() -> None:
    res = connect().query("create or replace table t1 as select 1 a union all select 2; select sum(a) s from t1;")
    assert res.df().s.iloc[0] == 3


def test_limit_fetches_only_the_first_rows() -> None:
    res = connect().query("select * from transactions order by ts", limit=7)
    assert res.row_count == 7 and "limited to 7" in res.summary()
    assert res.df().txn_id.tolist() == [f"T{i:07d}" for i in range(1, 8)]


def test_explain_shows_duckdbs_plan() -> None:
    plan = connect().explain("select count(*) from transactions where amount > :m", {"m": 100})
    assert "transactions" in plan.plan and "amount" in plan.plan
    assert "<pre>" in plan._repr_html_()


def test_schema_discovery() -> None:
    wh = connect()
    wh.query("create or replace table scratch as select 1 as id")
    tables = wh.tables()
    demo = tables[tables.database == "demo_bank"].name.tolist()
    assert demo == [
        "accounts",
        "branches",
        "customers",
        "daily_sales",
        "feedback",
        "iot_devices",
        "iot_telemetry",
        "transactions",
    ]
    assert ("memory", "scratch", "table") in set(zip(tables.database, tables.name, tables.kind, strict=True))
    assert not ((tables.database == "memory") & (tables.name == "branches")).any()
    cols = wh.columns("branches")
    assert cols.name.tolist()[:3] == ["branch_id", "name", "city"] and "type" in cols
    assert wh.columns(["demo_bank", "main.branches"][1]).equals(cols)
    with pytest.raises(WarehouseError, match="no table named 'nope'"):
        wh.columns("nope")


@pytest.mark.parametrize(
    ("sql", "fragment"),
    [
        ("selec 1", "syntax error"),
        ("select * from nope", "Table with name nope does not exist"),
        ("select nocol from branches", 'column "nocol" not found'),
        ("select :undefined_var", "parameter 'undefined_var' is not set"),
        ("  -- nothing\n", "the cell has no SQL"),
    ],
)
def test_errors_are_one_clear_line(sql: str, fragment: str) -> None:
    with pytest.raises(WarehouseError) as err:
        connect().query(sql)
    message = str(err.value)
    assert fragment in message and "\n" not in message
    assert " -- " in message or "assign" in message or "write a query" in message


def test_two_processes_read_the_demo_warehouse_at_once() -> None:
    """Voila runs a kernel per page: the demo file must not be locked by one of them."""
    wh = connect()
    assert wh.query("select count(*) n from branches").df().n.iloc[0] == 40
    script = textwrap.dedent(
        """
        from codex_jupyter import connect
        wh = connect()
        wh.query("create table mine as select 1 as x")
        print(wh.query("select count(*) n from customers").df().n.iloc[0])
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "6000"
    assert wh.query("select count(*) n from customers").df().n.iloc[0] == 6000
