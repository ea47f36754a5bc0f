"""Snowflake through snowflake-connector-python.

Results are fetched as Arrow (``fetch_arrow_all``), never row by row, except
where Snowflake answers in JSON (``EXPLAIN``, some ``SHOW`` and DDL
statements), which makes the Arrow fetch raise ``NotSupportedError``: then the
rows are fetched plainly and the query still succeeds. Cursors without
``fetch_arrow_all`` (fakesnow's) use ``fetch_pandas_all``.

Parameters are bound server side (``paramstyle="qmark"``), never formatted into
the SQL text.

Retries never repeat a write. The statements of a cell run one by one, each
once; a transient failure (network, 5xx, an expired session) repeats only the
statement that failed, with backoff, and only when it is read-only (SELECT,
WITH ... SELECT, SHOW, DESCRIBE, EXPLAIN, LIST: see :func:`is_read_only`).
Statements before it are never re-run. Any other statement that fails without
a SQL error from the server may have run: it raises :class:`WriteOutcomeUnknown`,
one line with the query id (when Snowflake sent one) and how to check, and is
sent with the connector's ``_no_retry`` so that the connector does not resend
it either (its own retries resend a request with the same request id, which
real Snowflake is reported to de-duplicate but does not document for this
endpoint, and fakesnow runs twice). A failed login never reached a statement:
the connector retries it until ``login_timeout``, then the user gets one line.

A read is repeated on the same session when the session still exists, so USE,
SET, temporary tables and an open transaction still hold. When Snowflake says
the session is gone, a new one is opened for the retry only if nothing was lost
with the old one: no SET/UNSET, ALTER SESSION, BEGIN, temporary table, CALL or
EXECUTE IMMEDIATE ran on it through this warehouse, and the new session has the
same database, schema, warehouse and role as the old one had at the end (which
also catches a USE run through jupysql). Otherwise the user is told to run the
setup statements again.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from codex_jupyter.config import SnowflakeSettings
from codex_jupyter.errors import OutcomeUnknown
from codex_jupyter.extras import require
from codex_jupyter.sources.warehouse import params as sql_params
from codex_jupyter.sources.warehouse.base import (
    ExplainResult,
    QueryResult,
    WarehouseError,
    WriteError,
    check_mode,
    check_table,
    one_line,
    prepare_frame,
    timed,
)

log = logging.getLogger(__name__)

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
        #: A statement left session state that a new session would not have (see the module docstring).
        self._session_changed = False

    # -- connection -------------------------------------------------------------
    def _open(self) -> Any:
        require("snowflake")
        import snowflake.connector

        params = {"login_timeout": 30, **self.settings.params, "paramstyle": "qmark"}
        try:
            return snowflake.connector.connect(**params)
        except _errors().Error as exc:
            # The connector already retried the login until login_timeout; no statement was sent.
            raise WarehouseError(
                f"could not connect to {self.label}: {one_line(str(exc))} -- check the account, "
                "credentials and network, or use -c local for the embedded warehouse"
            ) from None

    @property
    def dbapi_connection(self) -> Any:
        """The connector's connection (opened on first use)."""
        if self._con is None or self._con.is_closed():
            self._con = self._open()
            self._session_changed = False
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
        """Run the statements in order, each once; return the last one's rows and query id.

        Only the statement that failed is ever repeated, so a cell ``insert ...; select ...``
        whose SELECT meets a transient error does not insert twice.
        """
        steps = [_Step(sql, values, n, len(prepared)) for n, (sql, values) in enumerate(prepared, start=1)]
        for step in steps[:-1]:
            self._attempt(step, fetch=False, limit=None)
        return self._attempt(steps[-1], fetch=True, limit=limit)

    def _attempt(self, step: _Step, fetch: bool, limit: int | None) -> tuple[Any, str | None]:
        """Run one statement; repeat it with backoff only while it is a read failing transiently."""
        delay = BACKOFF
        for attempt in range(RETRIES + 1):
            cur = self.dbapi_connection.cursor()
            try:
                # _no_retry: the connector must not resend a write either (see the module docstring).
                cur.execute(step.sql, step.values or None, _no_retry=not step.read_only)
                if step.changes_session:
                    self._session_changed = True
                rows = fetch_columnar(cur, limit) if fetch else None
                log.info("query ran", extra=self._log_context(step, cur.sfqid))
                return rows, cur.sfqid
            except Exception as exc:  # a write's outcome is unknown whatever was raised
                log.info("query failed", extra={**self._log_context(step, cur.sfqid), "error": type(exc).__name__})
                self._raise_unless_retryable(step, exc, cur.sfqid, last=attempt == RETRIES)
            finally:
                cur.close()
            log.info(
                "transient Snowflake error, retrying in %.1f s (attempt %d)",
                delay,
                attempt + 1,
                extra=self._log_context(step, None),
            )
            time.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")

    def _log_context(self, step: _Step, query_id: str | None) -> dict[str, Any]:
        """The ``extra=`` of a statement's log records: Snowflake's query id (for QUERY_HISTORY), never the SQL."""
        return {
            "surface": "warehouse",
            "warehouse": self.label,
            "query_id": query_id,
            "statement": f"{step.number}/{step.total}",
        }

    def _raise_unless_retryable(self, step: _Step, exc: Exception, query_id: str | None, last: bool) -> None:
        """Return only when ``step`` may run again; otherwise raise what the user should see."""
        errors = _errors()
        if isinstance(exc, errors.Error) and _server_refused(exc):
            raise WarehouseError(f"{one_line(_message(exc))} -- {_hint(exc)}") from None
        if not step.read_only:
            raise WriteOutcomeUnknown(step.outcome_unknown(_cause(exc), query_id)) from None
        if not isinstance(exc, errors.Error):
            raise exc
        if last or not is_transient(exc):
            raise WarehouseError(f"{one_line(_message(exc))} -- {_hint(exc)}") from None
        if getattr(exc, "errno", None) in _SESSION_GONE:
            self._reopen_keeping_session_state()

    def _reopen_keeping_session_state(self) -> None:
        """Open a new session for a retry, or refuse when the lost session held state the new one lacks."""
        lost, changed = _context(self._con), self._session_changed
        self._discard()
        if not changed and _context(self.dbapi_connection) == lost:
            return
        self._discard()
        raise WarehouseError(
            "the Snowflake session ended, and with it what earlier statements set up in it (USE, SET, "
            "ALTER SESSION, temporary tables, an open transaction) -- run those statements again, then this one"
        )

    def _discard(self) -> None:
        """Close the connection, ignoring errors: its session may already be gone."""
        try:
            self.close()
        except _errors().Error:
            log.debug("closing a Snowflake connection whose session ended failed", exc_info=True)

    def query(self, sql: str, params: Mapping[str, Any] | None = None, limit: int | None = None) -> QueryResult:
        """Run the statements in ``sql``; return the last one's rows as Arrow."""
        prepared = self._prepare(sql, params)
        (table, qid), elapsed = timed(self._run, prepared, limit)
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
        table, _ = self._run(prepared, None)
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

    # -- writes -------------------------------------------------------------------
    def write(self, frame: pd.DataFrame, table: str, mode: str = "append") -> int:
        """Store ``frame`` as ``table`` (``name``, ``schema.name`` or ``db.schema.name``); return rows written.

        Uses the connector's ``write_pandas``: the frame goes up as compressed
        Parquet and one ``COPY INTO`` loads it (no row-by-row inserts); the
        table is created from the frame when missing, and ``mode="replace"``
        swaps in a new table. Identifiers are unquoted, so Snowflake folds them
        to upper case and ``select sentiment from feedback_insights`` works.
        Like every write here it is never retried (see the module docstring).
        """
        parts = check_table(table, parts=3)
        check_mode(mode)
        data = prepare_frame(frame)
        require("snowflake")
        from snowflake.connector import pandas_tools

        database, schema = ([None, None, *parts[:-1]])[-2:]
        try:
            ok, _, rows, _ = pandas_tools.write_pandas(
                self.dbapi_connection,
                data,
                parts[-1],
                database=database,
                schema=schema,
                auto_create_table=True,
                overwrite=mode == "replace",
                quote_identifiers=False,
                use_logical_type=True,
            )
        except Exception as exc:  # what a failed upload raises varies; a server refusal wrote nothing
            if isinstance(exc, _errors().Error) and _server_refused(exc):
                raise WriteError(f"{one_line(_message(exc))} -- nothing was written; {_hint(exc)}") from None
            raise WriteOutcomeUnknown(
                f"outcome unknown: writing {len(data):,} rows to {table} was sent but Snowflake's answer was lost "
                f"({_cause(exc)}); it was not retried -- check with select count(*) from {table} before writing again"
            ) from None
        if not ok:
            raise WriteError(f"Snowflake did not load the rows into {table} -- check the COPY INTO history for {table}")
        return int(rows)


class WriteOutcomeUnknown(WarehouseError, OutcomeUnknown):
    """A statement that may write was sent and its answer was lost; it is never retried.

    A :class:`WarehouseError` too, so the magic shows it as one line like any other.
    """


#: First keywords of statements that only read, whatever follows. SELECT and WITH are parsed further.
_READ_KEYWORDS = frozenset({"SHOW", "DESCRIBE", "DESC", "EXPLAIN", "LIST", "LS"})
#: Comments, blanks and opening parentheses before a statement's first keyword.
_LEADING = re.compile(r"(?:\s+|--[^\n]*|//[^\n]*|/\*.*?\*/|\()*", re.DOTALL)
#: Statements whose effect lives in the session and is lost with it (USE is checked by comparing contexts).
_SESSION_STATE = re.compile(
    r"(?:SET|UNSET|ALTER\s+SESSION|BEGIN|START\s+TRANSACTION|CALL|EXECUTE\s+IMMEDIATE"
    r"|CREATE\s+(?:OR\s+REPLACE\s+)?(?:LOCAL\s+|GLOBAL\s+)?(?:TEMP|TEMPORARY|VOLATILE)\s)\b",
    re.IGNORECASE,
)


def _first_keyword(statement: str) -> str:
    words = statement[_LEADING.match(statement).end() :].split(None, 1)  # type: ignore[union-attr]
    return re.sub(r"\W.*", "", words[0]).upper() if words else ""


def is_read_only(statement: str) -> bool:
    """True when running ``statement`` twice cannot change anything, so a retry is safe.

    SHOW, DESCRIBE/DESC, EXPLAIN (which never runs its statement) and LIST/LS
    only read, by their first keyword alone: sqlglot parses many of them as a
    generic command and logs the statement. SELECT and WITH are parsed with
    sqlglot's Snowflake dialect: a query is read-only unless it selects INTO,
    locks rows or calls a SYSTEM$ function (some of which act). A query sqlglot
    cannot parse falls back to its first keyword (SELECT reads, WITH may
    precede an INSERT). Anything else -- DML, COPY, DDL, CALL, unknown -- may write.
    """
    keyword = _first_keyword(statement)
    if keyword in _READ_KEYWORDS:
        return True
    if keyword not in {"SELECT", "WITH"}:
        return False
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(statement, read="snowflake")
    except sqlglot.errors.SqlglotError:
        return keyword == "SELECT" and "SYSTEM$" not in statement.upper()
    if not isinstance(tree, exp.Query) or tree.find(exp.Into, exp.Lock) is not None:
        return False
    return not any(f.name.upper().startswith("SYSTEM$") for f in tree.find_all(exp.Anonymous))


def changes_session(statement: str) -> bool:
    """True for statements whose effect a new session would lack (SET, ALTER SESSION, BEGIN, temp tables...)."""
    return _SESSION_STATE.match(statement, _LEADING.match(statement).end()) is not None  # type: ignore[union-attr]


@dataclass(frozen=True)
class _Step:
    """One statement of a cell, where it stands and whether it may be repeated."""

    sql: str
    values: list[Any]
    number: int
    total: int

    @property
    def read_only(self) -> bool:
        return is_read_only(self.sql)

    @property
    def changes_session(self) -> bool:
        return changes_session(self.sql)

    def outcome_unknown(self, cause: str, query_id: str | None) -> str:
        """The one line for a write whose answer was lost: what happened and how to check."""
        where = f"statement {self.number} of {self.total} ({_first_keyword(self.sql) or 'SQL'})"
        before = {1: "", 2: "; statement 1 ran once"}.get(self.number, f"; statements 1-{self.number - 1} ran once")
        if query_id:
            check = (
                f"check query id {query_id} with select * from table(information_schema.query_history()) "
                f"where query_id = '{query_id}'"
            )
        else:
            check = (
                "no query id came back: find it with select query_id, query_text, execution_status from "
                "table(information_schema.query_history_by_session()) order by start_time desc"
            )
        return (
            f"outcome unknown: {where} was sent but Snowflake's answer was lost ({cause}); it was not retried, "
            f"so it cannot have run twice{before} -- {check}, or run it again deliberately"
        )


def _server_refused(exc: BaseException) -> bool:
    """True when Snowflake answered with an error about the statement: it did not take effect."""
    errors = _errors()
    refused = errors.ProgrammingError | errors.IntegrityError | errors.DataError | errors.NotSupportedError
    return isinstance(exc, refused) and getattr(exc, "errno", None) not in _SESSION_GONE


def _context(con: Any) -> tuple[Any, ...]:
    """Where a session's statements run: database, schema, warehouse and role."""
    return tuple(getattr(con, name, None) for name in ("database", "schema", "warehouse", "role"))


def _cause(exc: BaseException) -> str:
    return one_line(_message(exc)) if isinstance(exc, _errors().Error) else type(exc).__name__


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
