"""The embedded local warehouse: DuckDB holding the Demo Bank dataset.

The demo file is attached *read-only* into an in-memory database that has a
view per demo table (views, unlike a search path, are seen by every cursor,
so jupysql sees the same names). Many processes (Voila runs a kernel per page, nbval another)
can then read the same file at once -- DuckDB allows only one writer per file
-- while ``CREATE TABLE`` in a notebook still works, in memory.

:meth:`LocalWarehouse.write` stores frames (text insights, forecasts,
anomaly flags) in a second, writable DuckDB file, the *user database*
(:func:`codex_jupyter.config.user_database_path`), attached as ``user_data``
with a view per table in the session, so ``select ... from feedback_insights``
finds it like a demo table. It is attached at start when it exists and the
first write otherwise; DuckDB lets one process write a file at a time, so a
second kernel that writes is told which file is busy.

Snowflake-dialect SQL is accepted: each statement is transpiled with sqlglot
(``read="snowflake", write="duckdb"``) so one cell runs on both warehouses. A
statement sqlglot cannot parse (DuckDB's own ``SUMMARIZE``, ``PRAGMA`` ...)
runs as written.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import duckdb
import pandas as pd

from codex_jupyter import config
from codex_jupyter.extras import require
from codex_jupyter.sources.demo import bank as demo_data
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

LABEL = "local DuckDB (embedded demo warehouse)"
#: The catalog name of the writable user database.
USER_CATALOG = "user_data"

_HINTS = {
    duckdb.ParserException: "fix the SQL syntax and run the cell again",
    duckdb.CatalogException: "run codex_jupyter.connect().tables() to see the tables that exist",
    duckdb.BinderException: "check the column names with codex_jupyter.connect().columns('table')",
    duckdb.ConversionException: "cast the value or parameter to the column's type",
    duckdb.InvalidInputException: "check the parameters and their types",
}


def transpile(statement: str) -> str:
    """Snowflake SQL -> DuckDB SQL; named ``:p`` placeholders become ``$p``."""
    import sqlglot
    from sqlglot.errors import ErrorLevel, SqlglotError

    try:
        out = sqlglot.transpile(statement, read="snowflake", write="duckdb", unsupported_level=ErrorLevel.IGNORE)
    except SqlglotError:  # parse and tokenizer errors: DuckDB gets the statement as written and names the problem
        out = []
    if len(out) != 1:
        return sql_params.parse(statement)[0].render("${name}") if statement.strip() else statement
    return out[0]


class _Prepared(NamedTuple):
    transpiled: str
    raw: str
    values: dict[str, Any]


def _user_error(exc: duckdb.Error) -> WarehouseError:
    hint = next((h for cls, h in _HINTS.items() if isinstance(exc, cls)), "check the SQL")
    return WarehouseError(f"{one_line(str(exc))} -- {hint}")


class LocalWarehouse:
    """DuckDB in-process, with the demo dataset attached read-only."""

    kind = "local"
    label = LABEL

    def __init__(self, demo_path: Path | None = None) -> None:
        path = demo_path or demo_data.ensure_demo_database()
        self._con = duckdb.connect(":memory:")
        self._con.execute(f"ATTACH '{path.as_posix()}' AS demo_bank (READ_ONLY)")
        for (name,) in self._con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'demo_bank' "
            "AND table_name NOT LIKE '\\_%' ESCAPE '\\'"
        ).fetchall():
            self._con.execute(f'CREATE VIEW "{name}" AS SELECT * FROM demo_bank.main."{name}"')
        self._demo_names = {
            n.lower()
            for (n,) in self._con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()
        }
        self._user_attached = False
        self._open = True
        self._engine: Any = None
        self._attach_user_database(required=False)

    def _attach_user_database(self, *, required: bool) -> None:
        """Attach the writable user database and give each of its tables a view; once per connection.

        At start (``required=False``) a missing or busy file is skipped; for a
        write it must open, or the user learns which file is busy.
        """
        if self._user_attached:
            return
        path = config.user_database_path()
        if not required and not path.exists():
            return
        quoted = path.as_posix().replace("'", "''")
        try:
            self._con.execute(f"ATTACH '{quoted}' AS {USER_CATALOG}")
        except duckdb.Error as exc:
            if not required:
                log.info("user database %s not attached: %s", path, one_line(str(exc)))
                return
            raise WriteError(
                f"cannot open the user database {path}: {one_line(str(exc))} -- close the other kernel writing "
                "to it, or set CODEX_JUPYTER_USER_DB to another file"
            ) from None
        self._user_attached = True
        for (name,) in self._con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = ?", [USER_CATALOG]
        ).fetchall():
            if name.lower() not in self._demo_names:
                self._con.execute(
                    f'CREATE OR REPLACE VIEW memory.main."{name}" AS SELECT * FROM {USER_CATALOG}.main."{name}"'
                )

    def write(self, frame: pd.DataFrame, table: str, mode: str = "append") -> int:
        """Store ``frame`` as ``table`` in the user database (``append`` or ``replace``); return rows written.

        The frame is checked first (:func:`.base.prepare_frame`) and written in one
        transaction, so a bad frame or a failed insert leaves the table as it was.
        """
        name = check_table(table)[0]
        check_mode(mode)
        data = prepare_frame(frame)
        if name.lower() in self._demo_names:
            raise WriteError(f"{name!r} is a read-only demo table -- write to another name, e.g. {name}_insights")
        self._attach_user_database(required=True)
        target = f'{USER_CATALOG}.main."{name}"'
        exists = self._con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_catalog = ? AND lower(table_name) = lower(?)",
            [USER_CATALOG, name],
        ).fetchall()[0][0]
        statement = (
            f"INSERT INTO {target} BY NAME SELECT * FROM _codex_write"
            if mode == "append" and exists
            else f"CREATE OR REPLACE TABLE {target} AS SELECT * FROM _codex_write"
        )
        self._con.register("_codex_write", data)
        try:
            self._con.execute("BEGIN TRANSACTION")
            self._con.execute(statement)
            self._con.execute("COMMIT")
        except duckdb.Error as exc:
            self._con.execute("ROLLBACK")
            raise WriteError(
                f"{one_line(str(exc))} -- nothing was written; match the table's columns or use mode='replace'"
            ) from None
        finally:
            self._con.unregister("_codex_write")
        self._con.execute(f'CREATE OR REPLACE VIEW memory.main."{name}" AS SELECT * FROM {target}')
        return len(data)

    @property
    def dbapi_connection(self) -> duckdb.DuckDBPyConnection:
        """The DuckDB connection, for jupysql and other DB-API tools."""
        return self._con

    def sqlalchemy_engine(self) -> Any:
        """A SQLAlchemy engine over this very connection (duckdb-engine), for jupysql."""
        if self._engine is None:
            require("jupysql", "duckdb_engine")
            import duckdb_engine
            import sqlalchemy
            from sqlalchemy.pool import StaticPool

            self._engine = sqlalchemy.create_engine(
                "duckdb:///:memory:", creator=lambda: duckdb_engine.ConnectionWrapper(self._con), poolclass=StaticPool
            )
        return self._engine

    def is_open(self) -> bool:
        """False after :meth:`close`."""
        return self._open

    def close(self) -> None:
        """Close the DuckDB connection."""
        if self._open:
            if self._engine is not None:
                self._engine.dispose()
            self._con.close()
            self._open = False

    def _prepare(self, sql: str, params: Mapping[str, Any] | None) -> list[_Prepared]:
        statements = sql_params.parse(sql)
        if not statements:
            raise WarehouseError("the cell has no SQL; write a query below the %%snowflake line")
        try:
            return [
                _Prepared(transpile(st.render(":{name}")), st.render("${name}"), st.values(params or {}))
                for st in statements
            ]
        except sql_params.ParameterError as exc:
            raise WarehouseError(str(exc)) from None

    def _execute(self, prepared: _Prepared, prefix: str = "") -> duckdb.DuckDBPyConnection:
        """Run the transpiled statement; if DuckDB cannot parse it, run it as written.

        The second try lets DuckDB's own statements (``SUMMARIZE``, ``PIVOT``
        ...) through when sqlglot, reading Snowflake SQL, misreads them.
        """
        values = prepared.values or None
        try:
            return self._con.execute(prefix + prepared.transpiled, values)
        except duckdb.ParserException as exc:
            if prepared.raw == prepared.transpiled:
                raise _user_error(exc) from None
            try:
                return self._con.execute(prefix + prepared.raw, values)
            except duckdb.Error:
                raise _user_error(exc) from None
        except duckdb.Error as exc:
            raise _user_error(exc) from None

    def query(self, sql: str, params: Mapping[str, Any] | None = None, limit: int | None = None) -> QueryResult:
        """Run the statements in ``sql``; return the last one's rows."""
        prepared = self._prepare(sql, params)

        def run() -> pd.DataFrame:
            cur = None
            for statement in prepared:
                cur = self._execute(statement)
            return _fetch(cur, limit)

        # DuckDB has no query ids: this one exists for the logs, to tie a query's lines together.
        context = {"surface": "warehouse", "warehouse": LABEL, "query_id": f"local-{uuid.uuid4().hex[:16]}"}
        log.debug("query started", extra={**context, "statements": len(prepared)})
        try:
            frame, elapsed = timed(run)
        except WarehouseError as exc:
            log.info("query failed", extra={**context, "error": type(exc).__name__})
            raise
        log.info("query ran", extra={**context, "rows": len(frame), "elapsed_ms": round(elapsed * 1000, 1)})
        return QueryResult(
            sql=";\n".join(p.transpiled for p in prepared),
            warehouse=LABEL,
            elapsed=elapsed,
            limit=limit,
            _frame=frame,
        )

    def explain(self, sql: str, params: Mapping[str, Any] | None = None) -> ExplainResult:
        """DuckDB's physical plan for the last statement."""
        prepared = self._prepare(sql, params)
        for statement in prepared[:-1]:
            self._execute(statement)
        rows = self._execute(prepared[-1], prefix="EXPLAIN ").fetchall()
        return ExplainResult("\n".join(str(r[-1]) for r in rows), prepared[-1].transpiled, LABEL)

    def tables(self) -> pd.DataFrame:
        """Tables and views: the demo tables, then what the session created in memory."""
        return self._con.execute(
            """
            SELECT table_catalog AS database, table_schema AS schema, table_name AS name,
                   CASE table_type WHEN 'BASE TABLE' THEN 'table' ELSE lower(table_type) END AS kind
            FROM information_schema.tables t
            WHERE table_schema NOT IN ('information_schema', 'pg_catalog')
              AND table_name NOT LIKE '\\_%' ESCAPE '\\'
              AND NOT (table_catalog = 'memory' AND table_type = 'VIEW' AND table_name IN (
                  SELECT table_name FROM information_schema.tables WHERE table_catalog IN ('demo_bank', 'user_data')))
            ORDER BY table_catalog = 'memory', table_catalog, table_schema, table_name
            """
        ).df()

    def columns(self, table: str) -> pd.DataFrame:
        """Columns of ``table`` (``name`` or ``schema.name``), in order."""
        schema, _, name = table.rpartition(".")
        frame = self._con.execute(
            """
            SELECT column_name AS name, data_type AS type, is_nullable = 'YES' AS nullable
            FROM information_schema.columns
            WHERE lower(table_name) = lower($name) AND ($schema = '' OR lower(table_schema) = lower($schema))
            ORDER BY table_catalog = 'memory', ordinal_position
            """,
            {"name": name, "schema": schema},
        ).df()
        if frame.empty:
            raise WarehouseError(f"no table named {table!r}; run tables() to list what exists")
        return frame.drop_duplicates("name", ignore_index=True)


def _fetch(cur: duckdb.DuckDBPyConnection | None, limit: int | None) -> pd.DataFrame:
    """The last statement's rows as a DataFrame (only the first ``limit`` when given)."""
    if cur is None or cur.description is None:
        return pd.DataFrame()
    if limit is None:
        return cur.df()
    vectors = max(1, -(-limit // _VECTOR_SIZE))
    return cur.fetch_df_chunk(vectors).head(limit)


#: Rows per DuckDB vector: ``fetch_df_chunk`` counts in vectors.
_VECTOR_SIZE = 2048
