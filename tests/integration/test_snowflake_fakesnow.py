"""The Snowflake path through the real snowflake-connector-python API, on fakesnow.

Two fakesnow modes cover both fetch branches: ``fakesnow.patch()`` swaps in a
cursor that has ``fetch_pandas_all`` but no ``fetch_arrow_all``; ``fakesnow.server()``
is an HTTP server the *unpatched* connector talks to, so its real cursor
fetches Arrow -- and answers some statements in JSON, which exercises the
fallback to rows.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator

import fakesnow
import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from secrets_sentinel import SecretsSentinel

from codex_jupyter.config import SnowflakeSettings
from codex_jupyter.sources.warehouse import WarehouseError, connect
from codex_jupyter.sources.warehouse.snowflake import SnowflakeWarehouse

SECRET = os.environ["CODEX_JUPYTER_TEST_SECRET"]  # the password in the test connections.toml

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _secrets_stay_secret(secrets: SecretsSentinel) -> None:
    """No log, display, widget or output of these tests shows the Snowflake password."""
    for value in (SECRET,):
        secrets.add(value)


@pytest.fixture
def patched() -> Iterator[None]:
    with fakesnow.patch():
        yield


@pytest.fixture(scope="module")
def server_kwargs() -> Iterator[dict]:
    with fakesnow.server() as kwargs:
        yield kwargs


@pytest.fixture
def served(server_kwargs: dict, request: pytest.FixtureRequest) -> Iterator[SnowflakeWarehouse]:
    db = f"DB_{request.node.name.upper()[:40].replace('[', '_').replace(']', '_').replace('-', '_')}"
    wh = SnowflakeWarehouse(SnowflakeSettings("served", {**server_kwargs, "password": SECRET}))
    wh.query(f"create database if not exists {db}; use database {db}; create schema if not exists s; use schema s")
    yield wh
    wh.close()


def test_named_connection_runs_on_snowflake_via_the_pandas_branch(patched: None) -> None:
    wh = connect("fake")
    assert wh.kind == "snowflake" and connect("fake") is wh
    res = wh.query(
        "create table t (a int, b varchar); insert into t values (1, 'x'), (2, 'y'); select * from t order by a"
    )
    assert res.df().to_dict("list") == {"A": [1, 2], "B": ["x", "y"]}
    assert res._table is None  # fakesnow's cursor: fetch_pandas_all
    assert res.query_id and res.warehouse == "Snowflake fakesnow (connection 'fake')"
    assert res.summary().endswith(f"query id {res.query_id}")


def test_each_statement_logs_its_snowflake_query_id(patched: None, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="codex_jupyter.sources.warehouse.snowflake")
    res = connect("fake").query("create temporary table q (a int); select count(*) from q")
    ran = [r for r in caplog.records if r.getMessage() == "query ran"]
    assert [r.statement for r in ran] == ["1/2", "2/2"]  # type: ignore[attr-defined]
    assert ran[-1].query_id == res.query_id and ran[0].query_id  # type: ignore[attr-defined]
    assert all(r.surface == "warehouse" and "select" not in str(r.__dict__) for r in ran)  # type: ignore[attr-defined]


def test_parameters_are_bound_server_side_on_snowflake(patched: None) -> None:
    wh = connect("fake")
    wh.query("create table notes (note varchar); insert into notes values ('keep')")
    evil = "x'; drop table notes; --"
    res = wh.query("select * from notes where note = :v or note = {{v}}", {"v": evil})
    assert res.row_count == 0 and evil not in res.sql and "?" in res.sql
    assert wh.query("select count(*) as n from notes").df().iloc[0, 0] == 1


def test_schema_discovery_on_snowflake(patched: None) -> None:
    wh = connect("fake")
    wh.query("create table customers (id int, name varchar)")
    assert ("PUBLIC", "CUSTOMERS") in set(zip(wh.tables().schema, wh.tables().name, strict=True))
    assert wh.columns("customers").name.tolist() == ["ID", "NAME"]


def test_magic_on_snowflake_never_shows_the_password(patched: None) -> None:
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "codex_jupyter")
    out = ip.run_cell_magic("snowflake", "-c fake", "select 1 as one")
    assert out.ONE.iloc[0] == 1
    with pytest.raises(UsageError) as err:
        ip.run_cell_magic("snowflake", "-c fake", "select * from missing_table")
    assert "does not exist" in str(err.value)
    for text in (repr(out), out._repr_html_(), str(err.value), repr(connect("fake").settings)):
        assert SECRET not in text


def test_jupysql_runs_on_the_snowflake_connection(patched: None) -> None:
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "codex_jupyter")
    ip.run_cell_magic("snowflake", "-c fake", "create table shared (x int); insert into shared values (5)")
    ip.run_line_magic("load_ext", "sql")
    ip.run_line_magic("config", "SqlMagic.displaycon = False")
    assert ip.run_line_magic("sql", "select x from shared").DataFrame().iloc[0, 0] == 5


def test_arrow_branch_on_the_real_connector(served: SnowflakeWarehouse) -> None:
    res = served.query("create table t (a int, b varchar); insert into t values (1, 'x'), (2, 'y'); select * from t")
    assert res._table is not None and res.arrow().num_rows == 2  # fetch_arrow_all, no row-by-row fetch
    assert sorted(res.df().A.tolist()) == [1, 2]
    limited = served.query("select * from t", limit=1)
    assert limited.row_count == 1


def test_json_answers_fall_back_to_rows_without_failing(served: SnowflakeWarehouse) -> None:
    served.query("create table t (a int)")
    res = served.query(
        "insert into t values (1), (2), (3)"
    )  # answered in JSON: fetch_arrow_all raises NotSupportedError
    assert res._table is None and res.df().iloc[0, 0] == 3


def test_bound_parameters_over_http(served: SnowflakeWarehouse) -> None:
    served.query("create table t (a int, b varchar); insert into t values (1, 'x'), (2, 'y')")
    assert served.query("select b from t where a = :a", {"a": 2}).df().B.tolist() == ["y"]


def test_connection_is_reused_across_queries(served: SnowflakeWarehouse) -> None:
    """Re-opening a dropped session is covered in tests/unit/test_snowflake_retry.py."""
    first = served.dbapi_connection
    served.query("select 1")
    served.query("select 2")
    assert served.dbapi_connection is first


def test_unreachable_account_is_one_clear_line() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    params = {
        "account": "unreachable",
        "user": "u",
        "password": SECRET,
        "host": "127.0.0.1",
        "port": port,
        "protocol": "http",
        "login_timeout": 3,
        "network_timeout": 3,
    }
    wh = SnowflakeWarehouse(SnowflakeSettings("down", params))
    with pytest.raises(WarehouseError) as err:
        wh.query("select 1")
    message = str(err.value)
    assert message.startswith("could not connect to Snowflake unreachable") and "-c local" in message
    assert SECRET not in message and "\n" not in message
