"""Retry, reconnect and fetch fallbacks of the Snowflake path, with scripted connections.

The real connector runs in tests/integration/test_snowflake_fakesnow.py; fakesnow
cannot drop a session or answer 503, so those failures are scripted here.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from snowflake.connector import errors

from codex_jupyter.config import SnowflakeSettings
from codex_jupyter.sources.warehouse import WarehouseError
from codex_jupyter.sources.warehouse import snowflake as sw


class ScriptedCursor:
    """Raises the scripted errors in turn, then answers one Arrow table."""

    def __init__(self, conn: ScriptedConnection) -> None:
        self.conn = conn
        self.description = [("A",)]
        self.sfqid = "01b2-query"

    def execute(self, sql: str, params: Any = None) -> None:
        self.conn.executed.append((sql, params))
        if self.conn.script:
            raise self.conn.script.pop(0)

    def fetch_arrow_all(self, force_return_table: bool = False) -> pa.Table:
        return pa.table({"A": [1, 2, 3]})

    def fetch_arrow_batches(self) -> Any:
        yield pa.table({"A": [1, 2]})
        yield pa.table({"A": [3]})

    def close(self) -> None:
        pass


class ScriptedConnection:
    def __init__(self, script: list[BaseException], executed: list) -> None:
        self.script = script
        self.executed = executed
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
    state: dict[str, Any] = {"script": [], "executed": [], "opened": 0}

    def open_connection(self: sw.SnowflakeWarehouse) -> ScriptedConnection:
        state["opened"] += 1
        return ScriptedConnection(state["script"], state["executed"])

    monkeypatch.setattr(sw.SnowflakeWarehouse, "_open", open_connection)
    state["wh"] = sw.SnowflakeWarehouse(SnowflakeSettings("scripted", {"account": "acme", "password": "pw"}))
    return state


def test_transient_errors_retry_on_a_fresh_connection(scripted: dict) -> None:
    scripted["script"].extend([errors.OperationalError(msg="connection reset"), errors.ServiceUnavailableError()])
    res = scripted["wh"].query("select a from t where b = :b", {"b": 1})
    assert res.df().A.tolist() == [1, 2, 3] and res.query_id == "01b2-query"
    assert scripted["opened"] == 3 and len(scripted["executed"]) == 3
    assert scripted["executed"][-1] == ("select a from t where b = ?", [1])


def test_an_expired_session_is_reopened(scripted: dict) -> None:
    scripted["script"].append(errors.ProgrammingError(msg="Session no longer exists.", errno=390112))
    assert scripted["wh"].query("select 1").row_count == 3
    assert scripted["opened"] == 2


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
