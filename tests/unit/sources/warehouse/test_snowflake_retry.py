"""Retry rules, reconnect and fetch fallbacks of the Snowflake path, with scripted connections.

The real connector runs in tests/integration/test_snowflake_fakesnow.py and, with
answers lost after the server ran a statement, tests/integration/test_snowflake_write_retries.py;
fakesnow cannot drop a session, so that failure and the rules around it are scripted here.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from snowflake.connector import errors

from codex_jupyter.config import SnowflakeSettings
from codex_jupyter.errors import CodexError, OutcomeUnknown
from codex_jupyter.sources.warehouse import WarehouseError
from codex_jupyter.sources.warehouse import snowflake as sw


class ScriptedCursor:
    """Raises the scripted errors in turn (``None``: that execution succeeds), then answers one Arrow table."""

    def __init__(self, conn: ScriptedConnection) -> None:
        self.conn = conn
        self.description = [("A",)]
        self.sfqid: str | None = None  # as on the connector's cursor: set once an answer came back

    def execute(self, sql: str, params: Any = None, _no_retry: bool = False) -> None:
        self.conn.executed.append((sql, params))
        self.conn.no_retry.append(_no_retry)
        failure = self.conn.script.pop(0) if self.conn.script else None
        if failure is not None:
            raise failure
        self.sfqid = "01b2-query"

    def fetch_arrow_all(self, force_return_table: bool = False) -> pa.Table:
        if self.conn.fetch_script:
            raise self.conn.fetch_script.pop(0)
        return pa.table({"A": [1, 2, 3]})

    def fetch_arrow_batches(self) -> Any:
        yield pa.table({"A": [1, 2]})
        yield pa.table({"A": [3]})

    def close(self) -> None:
        pass


class ScriptedConnection:
    def __init__(self, state: dict[str, Any]) -> None:
        self.script: list[BaseException | None] = state["script"]
        self.fetch_script: list[BaseException] = state["fetch_script"]
        self.executed: list = state["executed"]
        self.no_retry: list[bool] = state["no_retry"]
        self.database = state["database"]
        self.schema = self.warehouse = self.role = None
        self.closed = False

    def cursor(self) -> ScriptedCursor:
        return ScriptedCursor(self)

    def is_closed(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(sw, "BACKOFF", 0.0)
    state: dict[str, Any] = {
        "script": [],
        "fetch_script": [],
        "executed": [],
        "no_retry": [],
        "opened": 0,
        "database": "DEMO",
    }

    def open_connection(self: sw.SnowflakeWarehouse) -> ScriptedConnection:
        state["opened"] += 1
        return ScriptedConnection(state)

    monkeypatch.setattr(sw.SnowflakeWarehouse, "_open", open_connection)
    state["wh"] = sw.SnowflakeWarehouse(SnowflakeSettings("scripted", {"account": "acme", "password": "pw"}))
    return state


SESSION_GONE = errors.ProgrammingError(msg="Session no longer exists.", errno=390112)


def test_transient_errors_retry_a_read_on_its_own_session(scripted: dict) -> None:
    scripted["script"].extend([errors.OperationalError(msg="connection reset"), errors.ServiceUnavailableError()])
    res = scripted["wh"].query("select a from t where b = :b", {"b": 1})
    assert res.df().A.tolist() == [1, 2, 3] and res.query_id == "01b2-query"
    # The same session: USE, SET and temporary tables of earlier statements still hold.
    assert scripted["opened"] == 1 and len(scripted["executed"]) == 3
    assert scripted["executed"][-1] == ("select a from t where b = ?", [1])
    assert scripted["no_retry"] == [False] * 3  # the connector may resend a read itself


def test_an_expired_session_is_reopened_when_nothing_was_lost_with_it(scripted: dict) -> None:
    scripted["script"].append(SESSION_GONE)
    assert scripted["wh"].query("select 1").row_count == 3
    assert scripted["opened"] == 2


def test_a_read_is_not_rerun_on_a_new_session_without_the_state_of_the_old_one(scripted: dict) -> None:
    wh = scripted["wh"]
    wh.query("set region = 'EU'")
    scripted["script"].append(SESSION_GONE)
    with pytest.raises(sw.WarehouseError, match=r"^the Snowflake session ended, .* run those statements again"):
        wh.query("select * from t where region = $region")
    assert len(scripted["executed"]) == 2  # the SELECT was not repeated on a session without $region


def test_a_read_is_not_rerun_in_another_database_after_a_use_the_warehouse_did_not_see(scripted: dict) -> None:
    scripted["wh"].dbapi_connection.database = "STAGING"  # e.g. "use database staging" run through jupysql
    scripted["script"].append(SESSION_GONE)
    with pytest.raises(sw.WarehouseError, match="the Snowflake session ended"):
        scripted["wh"].query("select * from orders")
    assert len(scripted["executed"]) == 1


@pytest.mark.parametrize(
    "failure",
    [
        errors.OperationalError(msg="connection reset"),
        errors.ServiceUnavailableError(),
        SESSION_GONE,
        KeyError("success"),
    ],
)
def test_a_write_whose_answer_was_lost_is_not_retried(scripted: dict, failure: BaseException) -> None:
    scripted["script"].append(failure)
    with pytest.raises(sw.WriteOutcomeUnknown) as err:
        scripted["wh"].query("insert into t values (1)")
    message = str(err.value)
    assert message.startswith("outcome unknown: statement 1 of 1 (INSERT) was sent but Snowflake's answer was lost")
    assert "query_history_by_session()" in message and "\n" not in message  # no query id came back
    assert len(scripted["executed"]) == 1 and scripted["no_retry"] == [True]  # nor may the connector resend it


def test_a_write_that_ran_but_whose_rows_were_lost_names_its_query_id(scripted: dict) -> None:
    scripted["fetch_script"].append(errors.OperationalError(msg="chunk download failed"))
    with pytest.raises(OutcomeUnknown, match=r"check query id 01b2-query with select \* from table"):
        scripted["wh"].query("merge into t using s on t.a = s.a when matched then delete")
    assert len(scripted["executed"]) == 1


def test_an_unknown_outcome_is_a_warehouse_error_and_a_codex_error() -> None:
    assert issubclass(sw.WriteOutcomeUnknown, sw.WarehouseError)
    assert issubclass(sw.WriteOutcomeUnknown, OutcomeUnknown) and issubclass(sw.WriteOutcomeUnknown, CodexError)


def test_statements_that_succeeded_are_never_rerun(scripted: dict) -> None:
    # The INSERT succeeds; the SELECT fails twice.
    scripted["script"].extend([None, errors.OperationalError(msg="timeout"), errors.OperationalError(msg="timeout")])
    res = scripted["wh"].query("insert into t values (1); select * from t")
    assert res.row_count == 3
    assert [sql for sql, _ in scripted["executed"]] == ["insert into t values (1)"] + ["select * from t"] * 3
    assert scripted["no_retry"] == [True, False, False, False]


def test_a_later_write_failing_says_the_earlier_statements_ran_once(scripted: dict) -> None:
    scripted["script"].extend([None, None, errors.OperationalError(msg="connection reset")])
    with pytest.raises(sw.WriteOutcomeUnknown, match=r"statement 3 of 3 \(DELETE\).*; statements 1-2 ran once"):
        scripted["wh"].query("insert into t values (1); update t set a = 2; delete from t")
    assert len(scripted["executed"]) == 3


def test_a_sql_error_on_a_write_is_a_plain_error_not_an_unknown_outcome(scripted: dict) -> None:
    scripted["script"].append(errors.ProgrammingError(msg="SQL compilation error: Table 'NOPE' does not exist."))
    with pytest.raises(sw.WarehouseError) as err:
        scripted["wh"].query("insert into nope values (1)")
    assert not isinstance(err.value, OutcomeUnknown) and "does not exist" in str(err.value)


def test_a_read_failing_with_something_unexpected_is_not_swallowed(scripted: dict) -> None:
    scripted["script"].append(KeyError("success"))
    with pytest.raises(KeyError):
        scripted["wh"].query("select 1")


def test_a_dropped_connection_is_reopened_before_the_next_query(scripted: dict) -> None:
    wh = scripted["wh"]
    wh.query("select 1")
    wh.dbapi_connection.close()
    wh.query("select 1")
    assert scripted["opened"] == 2


def test_sql_errors_are_not_retried(scripted: dict) -> None:
    scripted["script"].append(
        errors.ProgrammingError(msg="SQL compilation error: Object 'NOPE' does not exist or not authorized.")
    )
    with pytest.raises(WarehouseError, match=r"does not exist or not authorized\. -- check the object name"):
        scripted["wh"].query("select * from nope")
    assert len(scripted["executed"]) == 1


def test_giving_up_after_the_retries_says_so(scripted: dict) -> None:
    scripted["script"].extend([errors.OperationalError(msg="timeout")] * (sw.RETRIES + 1))
    with pytest.raises(WarehouseError, match="timeout -- Snowflake did not answer after retries"):
        scripted["wh"].query("select 1")
    assert len(scripted["executed"]) == sw.RETRIES + 1


@pytest.mark.parametrize(
    "statement",
    [
        "select a from t",
        "SELECT 1",
        "  -- the biggest\n/* block */ select max(a) from t",
        "(select 1) union all (select 2)",
        "with x as (select 1 as a) select a from x",
        "show tables",
        "show grants to role analyst",
        "describe table t",
        "desc view v",
        "describe result 'x'",
        "explain using text select * from t",
        "explain insert into t values (1)",  # EXPLAIN never runs its statement
        "list @stage",
        "ls @stage",
        "select * from table(result_scan(last_query_id()))",
    ],
)
def test_read_only_statements(statement: str) -> None:
    assert sw.is_read_only(statement)


@pytest.mark.parametrize(
    "statement",
    [
        "insert into t values (1)",
        "update t set a = 1",
        "delete from t",
        "merge into t using s on t.a = s.a when matched then delete",
        "copy into t from @stage",
        "create table t (a int)",
        "drop table t",
        "truncate table t",
        "alter table t add column b int",
        "grant select on t to role r",
        "call refresh_all()",
        "execute immediate 'delete from t'",
        "put file:///tmp/x @stage",
        "remove @stage",
        "use database demo",
        "set x = 1",
        "begin",
        "with x as (select 1 as a) insert into t select a from x",
        "select system$cancel_all_queries(1)",
        "select * from t for update",
        "select 1 into :x",
        "selectx from t",
        "with broken as (",
        "",
        "values (1)",  # not in the list: unknown counts as a write
    ],
)
def test_statements_that_may_write(statement: str) -> None:
    assert not sw.is_read_only(statement)


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("set x = 1", True),
        ("unset x", True),
        ("alter session set timezone = 'UTC'", True),
        ("begin", True),
        ("start transaction", True),
        ("create temporary table t (a int)", True),
        ("create or replace temp table t (a int)", True),
        ("call p()", True),
        ("/* setup */ SET y = 2", True),
        ("select 1", False),
        ("create table t (a int)", False),
        ("settle_up()", False),
        ("use schema s", False),  # compared through the session's context instead
    ],
)
def test_statements_that_change_the_session(statement: str, expected: bool) -> None:
    assert sw.changes_session(statement) is expected


def test_limit_stops_reading_arrow_batches(scripted: dict) -> None:
    res = scripted["wh"].query("select a from t", limit=2)
    assert res.arrow().column("A").to_pylist() == [1, 2] and "limited to 2" in res.summary()


class PandasOnlyCursor:
    description = [("A",), ("B",)]

    def fetch_pandas_all(self) -> pd.DataFrame:
        return pd.DataFrame({"A": [1, 2, 3], "B": list("xyz")})


class JsonAnsweringCursor:
    description = [("step",), ("operation",)]

    def fetch_arrow_all(self, force_return_table: bool = False) -> pa.Table:
        raise errors.NotSupportedError(msg="Only arrow result format is supported")

    def fetchall(self) -> list[tuple]:
        return [(1, "Result"), (2, "TableScan")]


def test_fetch_uses_pandas_when_the_cursor_has_no_arrow_fetch() -> None:
    out = sw.fetch_columnar(PandasOnlyCursor(), limit=2)
    assert isinstance(out, pd.DataFrame) and out.A.tolist() == [1, 2]


def test_fetch_falls_back_to_rows_for_json_answers() -> None:
    out = sw.fetch_columnar(JsonAnsweringCursor(), limit=None)
    assert out.to_dict("list") == {"step": [1, 2], "operation": ["Result", "TableScan"]}


def test_statements_without_results_give_an_empty_frame() -> None:
    class NoResult:
        description = None

    assert sw.fetch_columnar(NoResult(), None).empty
