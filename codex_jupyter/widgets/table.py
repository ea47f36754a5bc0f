"""The displayed result of a query: a bounded table with where and how fast it ran.

``QueryFrame`` *is* a pandas DataFrame (``isinstance(x, pd.DataFrame)``), so
``_`` and ``-o VAR`` hold the full result a user can keep working with; only
its display differs. Frames derived from it (``head()``, ``groupby`` ...) are
plain DataFrames, so the banner never describes data it no longer matches.
"""

from __future__ import annotations

from html import escape

import pandas as pd


class QueryFrame(pd.DataFrame):
    """A query's full result, displayed as at most ``displaylimit`` rows plus a summary line."""

    _metadata = ["query_summary", "query_sql", "displaylimit"]

    @property
    def _constructor(self) -> type[pd.DataFrame]:
        return pd.DataFrame

    @classmethod
    def of(cls, rows: pd.DataFrame, summary: str, sql: str, displaylimit: int = 20) -> QueryFrame:
        """Wrap a query's rows, without copying them, with its summary line and the SQL that ran."""
        frame = cls(rows)
        frame.query_summary = summary
        frame.query_sql = sql
        frame.displaylimit = displaylimit
        return frame

    def _shown(self) -> pd.DataFrame:
        return pd.DataFrame(self).head(max(self.displaylimit, 0))

    def _more_note(self) -> str:
        hidden = len(self) - min(len(self), self.displaylimit)
        return f"showing the first {self.displaylimit:,} rows; the full result is in _ (or -o VAR)" if hidden else ""

    def __repr__(self) -> str:
        lines = [self.query_summary]
        if len(self.columns):
            lines.append(repr(self._shown()))
        if self._more_note():
            lines.append(self._more_note())
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        table = self._shown().to_html(escape=True, max_cols=50, border=0, classes="codex-result-table")
        note = f"<div class='codex-result-note'>{escape(self._more_note())}</div>" if self._more_note() else ""
        body = table if len(self.columns) else ""
        return (
            "<div class='codex-result'>"
            f"<div class='codex-result-summary' style='color:#555;font-size:90%;margin-bottom:4px'>"
            f"{escape(self.query_summary)}</div>{body}{note}</div>"
        )
