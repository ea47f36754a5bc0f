"""What every warehouse shares: the protocol, query results, plans, the error type and the checks before a write.

Kept apart from :mod:`.connections` (which opens the concrete warehouses) so
that ``local`` and ``snowflake`` import these types without importing each
other or the module that chooses between them.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from html import escape
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from codex_jupyter.errors import CodexError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa


class WarehouseError(CodexError):
    """A query or connection problem, worded for the user in one line.

    The message says what went wrong (with the database's own words) and what
    to do; the magic shows it without a traceback.
    """


@dataclass
class QueryResult:
    """What a query returned, columnar, plus where and how fast it ran."""

    sql: str
    warehouse: str
    elapsed: float
    query_id: str | None = None
    limit: int | None = None
    _frame: pd.DataFrame | None = field(default=None, repr=False)
    _table: pa.Table | None = field(default=None, repr=False)

    def df(self) -> pd.DataFrame:
        """The rows as a pandas DataFrame (converted once, then cached)."""
        if self._frame is None:
            self._frame = self._table.to_pandas() if self._table is not None else _empty_frame()
        return self._frame

    def arrow(self) -> pa.Table:
        """The rows as a pyarrow Table (converted once, then cached)."""
        if self._table is None:
            import pyarrow as pa

            self._table = pa.Table.from_pandas(self.df(), preserve_index=False)
        return self._table

    @property
    def row_count(self) -> int:
        """Rows fetched (at most ``limit`` when one was given)."""
        if self._frame is not None:
            return len(self._frame)
        return self._table.num_rows if self._table is not None else 0

    @property
    def columns(self) -> list[str]:
        """Column names, in order."""
        if self._frame is not None:
            return [str(c) for c in self._frame.columns]
        return list(self._table.column_names) if self._table is not None else []

    def summary(self) -> str:
        """One line: rows, time, warehouse and query id (no secrets)."""
        rows = f"{self.row_count:,} row{'s' if self.row_count != 1 else ''}"
        if self.limit is not None and self.row_count >= self.limit:
            rows += f" (limited to {self.limit:,})"
        parts = [rows, f"{self.elapsed:.3f} s", self.warehouse]
        if self.query_id:
            parts.append(f"query id {self.query_id}")
        return " · ".join(parts)


@dataclass(frozen=True)
class ExplainResult:
    """A query plan as text, from the warehouse's own ``EXPLAIN``."""

    plan: str
    sql: str
    warehouse: str

    def __repr__(self) -> str:
        return f"Plan on {self.warehouse}:\n{self.plan}"

    def _repr_html_(self) -> str:
        return f"<div class='codex-explain'><b>Plan</b> on {escape(self.warehouse)}<pre>{escape(self.plan)}</pre></div>"


class Warehouse(Protocol):
    """What both warehouses offer."""

    kind: str
    label: str

    def query(self, sql: str, params: Mapping[str, Any] | None = None, limit: int | None = None) -> QueryResult:
        """Run one or more statements; return the last statement's rows."""
        ...

    def explain(self, sql: str, params: Mapping[str, Any] | None = None) -> ExplainResult:
        """The plan of the (last) statement, without running it."""
        ...

    def tables(self) -> pd.DataFrame:
        """Tables and views visible to this connection."""
        ...

    def columns(self, table: str) -> pd.DataFrame:
        """Columns of ``table`` (optionally ``schema.table``)."""
        ...

    def write(self, frame: pd.DataFrame, table: str, mode: str = "append") -> int:
        """Store ``frame`` as ``table`` (``mode`` ``"append"`` or ``"replace"``); return the rows written.

        Text insights, forecasts and anomaly flags go back to the warehouse this
        way. A bad frame (a column type neither warehouse stores, a reserved or
        duplicate column name) raises one line and writes nothing.
        """
        ...

    @property
    def dbapi_connection(self) -> Any:
        """The underlying DB-API connection (for jupysql and other tools)."""
        ...

    def sqlalchemy_engine(self) -> Any:
        """A SQLAlchemy engine over the same connection (jupysql uses it)."""
        ...

    def is_open(self) -> bool:
        """False once the connection has dropped or been closed."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...


def _empty_frame() -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame()


def one_line(message: str) -> str:
    """Collapse a database message to one line, dropping caret diagrams."""
    lines = []
    for line in str(message).splitlines():
        if line.strip().startswith("LINE ") or set(line.strip()) <= {"^", " "}:
            break
        if line.strip():
            lines.append(line.strip())
    return re.sub(r"\s+", " ", " ".join(lines)).strip()


def timed(fn: Any, *args: Any) -> tuple[Any, float]:
    """Call ``fn`` and return its result with the wall time it took."""
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


# -- writing frames -------------------------------------------------------------------
# Shared by both warehouses' ``write(frame, table, mode)``. A frame is checked whole
# before anything is sent, so a bad frame writes nothing and the user gets one line
# naming the column and the fix. Both warehouses then store the same thing: plain
# identifiers (unquoted, so Snowflake folds them to upper case and
# ``select sentiment from t`` works on both), numbers, booleans, text, dates and
# timestamps; list, tuple and dict cells (``analyze_text``'s ``entities`` and
# ``keywords``) are stored as JSON text.

MODES = ("append", "replace")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: Words both DuckDB and Snowflake reserve: an unquoted column or table with one of these names cannot be queried.
RESERVED = frozenset(
    """all alter and any as between by case cast check column connect constraint create cross current
    current_date current_time current_timestamp current_user database delete distinct drop else exists false
    following for from full grant group having ilike in increment inner insert intersect into is join lateral
    left like localtime localtimestamp minus natural not null of on or order qualify regexp revoke right rlike
    row rows sample schema select set some start table tablesample then to trigger true try_cast union unique
    update using values view when whenever where with""".split()  # noqa: SIM905 (a word list reads better)
)
_SCALARS = (str, bool, int, float, decimal.Decimal, dt.date, dt.datetime, np.generic)
_NESTED = (list, tuple, dict)


class WriteError(WarehouseError):
    """A frame, table name or mode that cannot be written; nothing was written."""


def check_table(table: str, *, parts: int = 1) -> list[str]:
    """The table name's parts (``name`` or, where allowed, ``schema.name``), each a plain identifier."""
    names = table.split(".") if isinstance(table, str) else []
    if not names or len(names) > parts or not all(_IDENTIFIER.match(n) for n in names):
        shape = "name" if parts == 1 else "name, schema.name or database.schema.name"
        raise WriteError(f"table {table!r} is not a plain {shape} (letters, digits, _) -- rename it")
    if any(n.lower() in RESERVED for n in names):
        raise WriteError(f"table {table!r} is a reserved SQL word -- choose another name")
    return names


def check_mode(mode: str) -> str:
    """``append`` or ``replace``."""
    if mode not in MODES:
        raise WriteError(f"mode {mode!r} is not one of {', '.join(MODES)} -- pass mode='append' or mode='replace'")
    return mode


def prepare_frame(frame: Any) -> pd.DataFrame:
    """The frame to send: checked column names and types, nested cells as JSON text, a plain index.

    Raises :class:`WriteError` (one line, nothing written) for a frame that is
    not a DataFrame, is empty of columns, has a bad or duplicate column name,
    or has a column of a type neither warehouse stores.
    """
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise WriteError(f"write() takes a pandas DataFrame, not {type(frame).__name__} -- pass frame.to_frame()")
    if frame.columns.empty:
        raise WriteError("the frame has no columns -- nothing to write")
    seen: set[str] = set()
    for column in frame.columns:
        _check_column_name(column, seen)
    out = frame.reset_index(drop=True).copy(deep=False)
    for column in out.columns:
        out[column] = _check_column(out[column], column)
    return out


def _check_column_name(column: Any, seen: set[str]) -> None:
    if not isinstance(column, str) or not _IDENTIFIER.match(column):
        raise WriteError(f"column {column!r} is not a plain name (letters, digits, _) -- rename it before writing")
    if column.lower() in RESERVED:
        raise WriteError(f"column {column!r} is a reserved SQL word -- rename it (e.g. {column}_value)")
    if column.lower() in seen:
        raise WriteError(f"column {column!r} appears twice (names are case-insensitive) -- rename one")
    seen.add(column.lower())


def _check_column(series: pd.Series, column: str) -> pd.Series:
    """The column as stored, or :class:`WriteError` for a type the warehouses do not hold."""
    import pandas as pd

    if isinstance(series.dtype, pd.CategoricalDtype):
        return _check_column(series.astype(series.cat.categories.dtype), column)
    kind = series.dtype.kind
    if kind in "biufM":
        return series
    if kind == "O" or pd.api.types.is_string_dtype(series.dtype):
        return _object_column(series, column)
    raise WriteError(
        f"column {column!r} has type {series.dtype}, which the warehouse cannot store -- "
        "convert it (e.g. .astype(str) or timedelta .dt.total_seconds())"
    )


def _object_column(series: pd.Series, column: str) -> pd.Series:
    values = series[series.notna()] if len(series) else series
    if values.map(lambda v: isinstance(v, _NESTED)).any():
        return series.map(lambda v: json.dumps(v, default=str) if isinstance(v, _NESTED) else v)
    bad = values[~values.map(lambda v: isinstance(v, _SCALARS))]
    if len(bad):
        raise WriteError(
            f"column {column!r} holds {type(bad.iloc[0]).__name__} values, which the warehouse cannot store -- "
            "convert them (e.g. .astype(str))"
        )
    kinds = {_family(v) for v in values}
    if len(kinds) > 1:
        raise WriteError(f"column {column!r} mixes {' and '.join(sorted(kinds))} values -- make it one type")
    return series


def _family(value: Any) -> str:
    if isinstance(value, str):
        return "text"
    if isinstance(value, dt.date):
        return "date/time"
    return "number"
