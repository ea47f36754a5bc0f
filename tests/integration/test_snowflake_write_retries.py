"""Retries never repeat a write: the real connector, fakesnow's server, and answers lost after the server ran.

:class:`~lossy_proxy.LossyProxy` sits between snowflake-connector-python and
``fakesnow.server()``; it forwards a query (so fakesnow runs it) and then throws
the answer away. Rows are counted on the server, and every query request the
server received is counted at the proxy.

fakesnow ignores the request id, so a query request sent twice runs twice; that
is what makes a repeated write visible here.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest
import snowflake.connector
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from lossy_proxy import LossyProxy

from codex_jupyter.config import SnowflakeSettings
from codex_jupyter.errors import OutcomeUnknown
from codex_jupyter.sources.warehouse.snowflake import SnowflakeWarehouse, WriteOutcomeUnknown

SECRET = os.environ["CODEX_JUPYTER_TEST_SECRET"]

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server_kwargs() -> Iterator[dict]:
    """fakesnow's HTTP server in its own process (``python -m fakesnow -s``), stopped by PID.

    Not ``fakesnow.server()`` in this process: that function is shadowed by the ``fakesnow.server``
    submodule it imports, so only one call per process works, and test_snowflake_fakesnow.py makes it.
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "fakesnow", "-s", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_until_listening(port, server)
        yield {
            "user": "fake",
            "account": "fakesnow",
            "host": "127.0.0.1",
            "port": port,
            "protocol": "http",
            "session_parameters": {"CLIENT_OUT_OF_BAND_TELEMETRY_ENABLED": False},
            # Bounds the connector's own resends of a read; writes go out with _no_retry.
            "network_timeout": 1,
        }
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)


def _wait_until_listening(port: int, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and server.poll() is None:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"fakesnow's server did not start on port {port}")


@pytest.fixture
def proxy(server_kwargs: dict) -> Iterator[LossyProxy]:
    running = LossyProxy(server_kwargs["port"]).start()
    yield running
    running.stop()


@pytest.fixture
def params(server_kwargs: dict, proxy: LossyProxy) -> dict:
    """Connection parameters through the proxy, into a database of this test's own."""
    database = f"DB_{uuid.uuid4().hex[:12].upper()}"
    return {**server_kwargs, "port": proxy.port, "password": SECRET, "database": database, "schema": "S"}


@pytest.fixture
def wh(params: dict) -> Iterator[SnowflakeWarehouse]:
    warehouse = SnowflakeWarehouse(SnowflakeSettings("proxied", params))
    warehouse.query("create table t (a int)")
    yield warehouse
    warehouse.close()


def rows(wh: SnowflakeWarehouse) -> list[int]:
    return sorted(wh.query("select a from t").df().A.tolist())


@pytest.mark.parametrize("how", ["503", "close"])
def test_an_insert_whose_answer_is_lost_runs_once_and_says_the_outcome_is_unknown(
    wh: SnowflakeWarehouse, proxy: LossyProxy, how: str
) -> None:
    proxy.lose_answer("insert into t", how=how)
    with pytest.raises(WriteOutcomeUnknown) as err:
        wh.query("insert into t values (1)")
    message = str(err.value)
    assert message.startswith("outcome unknown: statement 1 of 1 (INSERT) was sent but Snowflake's answer was lost")
    assert "it was not retried" in message and "query_history" in message and "\n" not in message
    assert isinstance(err.value, OutcomeUnknown) and SECRET not in message
    assert len(proxy.executions("insert into t")) == 1  # neither we nor the connector resent it
    assert rows(wh) == [1]  # it did run, once


def test_a_select_whose_answers_are_lost_is_retried_and_returns_the_rows(
    wh: SnowflakeWarehouse, proxy: LossyProxy
) -> None:
    wh.query("insert into t values (1), (2)")
    # Every resend of the first request (same request id) is lost too, so the connector gives up
    # after its network_timeout and the retry is ours, with a new request.
    proxy.lose_answer("select a from t order by a", every_attempt=True)
    assert wh.query("select a from t order by a").df().A.tolist() == [1, 2]
    attempts = proxy.executions("select a from t order by a")
    assert len({q.request_id for q in attempts}) == 2 and attempts[-1].answered


def test_a_later_select_failing_does_not_repeat_the_earlier_insert(wh: SnowflakeWarehouse, proxy: LossyProxy) -> None:
    proxy.lose_answer("select count(*) as n from t", every_attempt=True)
    res = wh.query("insert into t values (7); select count(*) as n from t")
    assert res.df().N.tolist() == [1]
    assert len(proxy.executions("insert into t")) == 1 and rows(wh) == [7]


def test_a_later_insert_failing_names_what_ran_and_runs_nothing_after_it(
    wh: SnowflakeWarehouse, proxy: LossyProxy
) -> None:
    proxy.lose_answer("insert into t values (2)", how="close")
    with pytest.raises(WriteOutcomeUnknown, match=r"statement 2 of 3 \(INSERT\).*; statement 1 ran once"):
        wh.query("insert into t values (1); insert into t values (2); insert into t values (3)")
    assert rows(wh) == [1, 2]
    assert [len(proxy.executions(f"values ({n})")) for n in (1, 2, 3)] == [1, 1, 0]


def test_the_connector_alone_resends_a_lost_insert_with_the_same_request_id(params: dict, proxy: LossyProxy) -> None:
    """Why writes go out with ``_no_retry``: the connector's own retry would run the INSERT again here.

    It resends the same request id with a retry count; real Snowflake is reported to
    de-duplicate that, fakesnow does not, and nothing documents it for this endpoint.
    """
    con = snowflake.connector.connect(**params, paramstyle="qmark")
    try:
        cur = con.cursor()
        cur.execute("create table t (a int)")
        proxy.lose_answer("insert into t")
        cur.execute("insert into t values (1)")
        sent = proxy.executions("insert into t")
        assert [q.retry_count for q in sent] == [0, 1] and sent[0].request_id == sent[1].request_id
        assert cur.execute("select count(*) from t").fetchone() == (2,)
    finally:
        con.close()


def test_a_refused_login_reached_no_statement_and_is_retried(params: dict, proxy: LossyProxy) -> None:
    proxy.refuse_logins(1)
    wh = SnowflakeWarehouse(SnowflakeSettings("proxied", params))
    try:
        assert wh.query("select 1 as one").df().ONE.tolist() == [1]
    finally:
        wh.close()
    assert proxy.login_attempts == 2


def test_the_magic_shows_an_unknown_outcome_as_one_line(
    params: dict, proxy: LossyProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in ("account", "user", "password", "host", "port", "protocol", "database", "schema"):
        monkeypatch.setenv(f"SNOWFLAKE_{key.upper()}", str(params[key]))
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "codex_jupyter")
    # jupysql's SQLAlchemy engine cannot run on a qmark connection of the real connector (it binds {}).
    ip.run_line_magic("config", "SnowflakeMagic.jupysql = False")
    try:
        ip.run_cell_magic("snowflake", "", "create table t (a int)")
        proxy.lose_answer("insert into t")
        with pytest.raises(UsageError) as err:
            ip.run_cell_magic("snowflake", "", "insert into t values (1)")
        count = ip.run_cell_magic("snowflake", "", "select count(*) as n from t").N.tolist()
    finally:
        ip.run_line_magic("config", "SnowflakeMagic.jupysql = True")
    message = str(err.value)
    assert message.startswith("outcome unknown: statement 1 of 1 (INSERT)") and "\n" not in message
    assert SECRET not in message and count == [1]
