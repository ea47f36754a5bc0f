"""Snowflake through snowflake-connector-python.

Results are fetched as Arrow (``fetch_arrow_all``), never row by row, except
where Snowflake answers in JSON (``EXPLAIN``, some ``SHOW`` and DDL
statements), which makes the Arrow fetch raise ``NotSupportedError``: then the
rows are fetched plainly and the query still succeeds. Cursors without
``fetch_arrow_all`` (fakesnow's) use ``fetch_pandas_all``.

Parameters are bound server side (``paramstyle="qmark"``), never formatted into
the SQL text. Transient failures -- network, 5xx, an expired session -- are
retried with backoff on a fresh connection; SQL errors are not.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import pandas as pd

from codex_jupyter.config import SnowflakeSettings
from codex_jupyter.sources.warehouse import params as sql_params
from codex_jupyter.sources.warehouse.base import (
    ExplainResult,
    QueryResult,
    WarehouseError,
    one_line,
    timed,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Retries after the first attempt, and the first backoff in seconds (doubling).
RETRIES = 3
BACKOFF = 0.5
#: Snowflake error numbers for an expired or vanished session.
_SESSION_GONE = {390111, 390112, 390114}


def _errors() -> Any:
    from snowflake.connector import errors

    return errors


def is_transient(exc: BaseException) -> bool:
    """Network, 5xx and expired-session errors are worth a retry; SQL errors are not."""
    errors = _errors()
    if getattr(exc, "errno", None) in _SESSION_GONE:
        return True
    if isinstance(exc, errors.ProgrammingError | errors.IntegrityError | errors.DataError | errors.NotSupportedError):
        return False
    return isinstance(
        exc,
        errors.OperationalError
        | errors.InterfaceError
        | errors.InternalServerError
        | errors.ServiceUnavailableError
        | errors.GatewayTimeoutError
        | errors.BadGatewayError
        | errors.OtherHTTPRetryableError
        | errors.RequestTimeoutError
        | ConnectionError
        | TimeoutError,
    )


class SnowflakeWarehouse:
    """One reusable Snowflake connection, opened lazily."""

    kind = "snowflake"

    def __init__(self, settings: SnowflakeSettings) -> None:
        self.settings = settings
        self.label = settings.label
        self._con: Any = None
        self._engine: Any = None

    # -- connection -------------------------------------------------------------
    def _open(self) -> Any:
        import snowflake.connector

        params = {"login_timeout": 30, **self.settings.params, "paramstyle": "qmark"}
        try:
            return snowflake.connector.connect(**params)
        except _errors().Error as exc:
            raise _ConnectError(exc) from None

    @property
    def dbapi_connection(self) -> Any:
        """The connector's connection (opened on first use)."""
        if self._con is None or self._con.is_closed():
            self._con = self._with_retries(self._open)
        return self._con

    def sqlalchemy_engine(self) -> Any:
        """A SQLAlchemy engine (snowflake-sqlalchemy) over this connection, for jupysql."""
        if self._engine is None:
            import sqlalchemy
            from sqlalchemy.pool import StaticPool

            self._engine = sqlalchemy.create_engine(
                "snowflake://", creator=lambda: self.dbapi_connection, poolclass=StaticPool
            )
        return self._engine

    def is_open(self) -> bool:
        """True until :meth:`close`; a dropped session is re-opened on the next query."""
        return True

    def close(self) -> None:
        """Close the connection if one is open."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        if self._con is not None:
            try:
                self._con.close()
            finally:
                self._con = None

    def _with_retries(self, fn: Callable[[], T]) -> T:
        delay = BACKOFF
        for attempt in range(RETRIES + 1):
            try:
                return fn()
            except _ConnectError as wrapped:
                # The connector already retries a login until its login_timeout.
                raise WarehouseError(
                    f"could not connect to {self.label}: {one_line(str(wrapped.cause))} -- check the account, "
                    "credentials and network, or use -c local for the embedded warehouse"
                ) from None
            except _errors().Error as exc:
                if attempt == RETRIES or not is_transient(exc):
                    raise WarehouseError(f"{one_line(_message(exc))} -- {_hint(exc)}") from None
                self.close()
            log.info("transient Snowflake error, retrying in %.1f s (attempt %d)", delay, attempt + 1)
            time.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")

    # -- queries ------------------------------------------------------------------
    def _prepare(self, sql: str, params: Mapping[str, Any] | None) -> list[tuple[str, list[Any]]]:
        statements = sql_params.parse(sql)
        if not statements:
            raise WarehouseError("the cell has no SQL; write a query below the %%snowflake line")
        try:
            return [(st.render("?"), st.qmark_values(params or {})) for st in statements]
        except sql_params.ParameterError as exc:
            raise WarehouseError(str(exc)) from None

    def _run(self, prepared: list[tuple[str, list[Any]]], limit: int | None) -> tuple[Any, str | None]:
        cur = self.dbapi_connection.cursor()
        try:
            for statement, values in prepared:
                cur.execute(statement, values or None)
            return fetch_columnar(cur, limit), cur.sfqid
        finally:
            cur.close()

    def query(self, sql: str, params: Mapping[str, Any] | None = None, limit: int | None = None) -> QueryResult:
        """Run the statements in ``sql``; return the last one's rows as Arrow."""
        prepared = self._prepare(sql, params)
        (table, qid), elapsed = timed(lambda: self._with_retries(lambda: self._run(prepared, limit)))
        frame = table if isinstance(table, pd.DataFrame) else None
        return QueryResult(
            sql=";\n".join(s for s, _ in prepared),
            warehouse=self.label,
            elapsed=elapsed,
            query_id=qid,
            limit=limit,
            _frame=frame,
            _table=None if frame is not None else table,
        )

    def explain(self, sql: str, params: Mapping[str, Any] | None = None) -> ExplainResult:
        """Snowflake's tabular ``EXPLAIN`` of the last statement, as text.

        Snowflake answers ``EXPLAIN`` in JSON, not Arrow: this is the path where
        :func:`fetch_columnar` falls back to plain rows.
        """
        prepared = self._prepare(sql, params)
        statement, values = prepared[-1]
        frame = self.query_frame([*prepared[:-1], (f"EXPLAIN {statement}", values)])
        return ExplainResult(frame.to_string(index=False), statement, self.label)

    def query_frame(self, prepared: list[tuple[str, list[Any]]]) -> pd.DataFrame:
        """Run prepared statements and return the last rows as a DataFrame."""
        table, _ = self._with_retries(lambda: self._run(prepared, None))
        return table if isinstance(table, pd.DataFrame) else table.to_pandas()

    def tables(self) -> pd.DataFrame:
        """Tables and views of the current database."""
        return self.query_frame(
            [
                (
                    "SELECT table_catalog AS database, table_schema AS schema, table_name AS name, "
                    "CASE table_type WHEN 'BASE TABLE' THEN 'table' ELSE lower(table_type) END AS kind "
                    "FROM information_schema.tables WHERE table_schema <> 'INFORMATION_SCHEMA' "
                    "ORDER BY table_schema, table_name",
                    [],
                )
            ]
        ).rename(columns=str.lower)

    def columns(self, table: str) -> pd.DataFrame:
        """Columns of ``table`` (``name`` or ``schema.name``), in order."""
        schema, _, name = table.rpartition(".")
        frame = self.query_frame(
            [
                (
                    "SELECT column_name AS name, data_type AS type, is_nullable = 'YES' AS nullable "
                    "FROM information_schema.columns WHERE upper(table_name) = upper(?) "
                    "AND (? = '' OR upper(table_schema) = upper(?)) ORDER BY ordinal_position",
                    [name, schema, schema],
                )
            ]
        ).rename(columns=str.lower)
        if frame.empty:
            raise WarehouseError(f"no table named {table!r}; run tables() to list what exists")
        return frame


class _ConnectError(Exception):
    """Carries a connector error raised while opening a connection."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


def _message(exc: BaseException) -> str:
    return getattr(exc, "raw_msg", None) or getattr(exc, "msg", None) or str(exc)


def _hint(exc: BaseException) -> str:
    text = _message(exc).lower()
    if "does not exist" in text or "not authorized" in text:
        return "check the object name, the database/schema in use and your role's grants"
    if "syntax error" in text:
        return "fix the SQL syntax and run the cell again"
    if is_transient(exc):
        return "Snowflake did not answer after retries; check the network and try again"
    return "check the SQL"


def fetch_columnar(cur: Any, limit: int | None) -> Any:
    """The cursor's rows as Arrow, falling back to pandas, then to plain rows.

    Returns a ``pyarrow.Table`` on the Arrow path, else a DataFrame.
    """
    if cur.description is None:
        return pd.DataFrame()
    not_supported = _errors().NotSupportedError
    try:
        if hasattr(cur, "fetch_arrow_all"):
            if limit is not None:
                return _first_rows(cur, limit)
            return cur.fetch_arrow_all(force_return_table=True)
        frame = cur.fetch_pandas_all()
        return frame if limit is None else frame.head(limit).reset_index(drop=True)
    except not_supported:
        rows = cur.fetchall() if limit is None else cur.fetchmany(limit)
        return pd.DataFrame.from_records(rows, columns=[d[0] for d in cur.description])


def _first_rows(cur: Any, limit: int) -> Any:
    import pyarrow as pa

    taken, seen = [], 0
    for table in cur.fetch_arrow_batches():
        taken.append(table)
        seen += table.num_rows
        if seen >= limit:
            break
    if not taken:
        return cur.fetch_arrow_all(force_return_table=True)
    return pa.concat_tables(taken).slice(0, limit)
