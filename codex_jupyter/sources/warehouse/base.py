"""What every warehouse shares: the protocol, query results, plans and the error type.

Kept apart from :mod:`.connections` (which opens the concrete warehouses) so
that ``local`` and ``snowflake`` import these types without importing each
other or the module that chooses between them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from html import escape
from typing import TYPE_CHECKING, Any, Protocol

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
