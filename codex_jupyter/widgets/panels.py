"""Plain-HTML panels for dashboards: a notice of what is not set up, and a set of tables (one per tile).

Plain HTML (``_repr_html_``, no JavaScript), so they look the same in JupyterLab, Voila and nbconvert, and
everything in them is escaped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

import pandas as pd


class Notice:
    """A short boxed note, one line each (nothing at all when there are no lines): ``Notice(status.problems)``."""

    def __init__(self, lines: Sequence[str], footer: str = "") -> None:
        self.lines, self.footer = list(lines), footer

    def __repr__(self) -> str:
        return "\n".join([*self.lines, self.footer] if self.lines and self.footer else self.lines)

    def _repr_html_(self) -> str:
        if not self.lines:
            return ""
        body = "<br>".join(escape(line) for line in [*self.lines, self.footer] if line)
        return (
            "<div class='codex-notice' style='padding:10px 14px;border-radius:8px;background:#fff8e6;"
            f"border:1px solid #f0d58c;color:#4a3a00;font-size:13px;line-height:1.5'>{body}</div>"
        )


class FrameTiles:
    """Named DataFrames side by side as titled tables (a Looker dashboard's tiles), at most ``max_rows`` each."""

    def __init__(self, frames: Mapping[str, pd.DataFrame], title: str = "", max_rows: int = 20) -> None:
        self.frames, self.title, self.max_rows = dict(frames), title, max_rows

    def __repr__(self) -> str:
        return "\n\n".join(f"{name}\n{frame.head(self.max_rows)!r}" for name, frame in self.frames.items())

    def _repr_html_(self) -> str:
        tiles = "".join(
            "<div class='codex-tile' style='flex:1;min-width:260px;padding:8px 12px;border:1px solid #dde3f0;"
            f"border-radius:8px'><div style='font-weight:600;margin-bottom:6px'>{escape(name)}</div>"
            f"{self._table(frame)}</div>"
            for name, frame in self.frames.items()
        )
        heading = f"<div style='font-weight:600;font-size:15px;margin-bottom:6px'>{escape(self.title)}</div>"
        row = f"<div style='display:flex;gap:12px;flex-wrap:wrap'>{tiles}</div>"
        return f"<div class='codex-tiles'>{heading if self.title else ''}{row}</div>"

    def _table(self, frame: pd.DataFrame) -> str:
        return frame.head(self.max_rows).to_html(index=False, border=0, na_rep="", float_format="{:,.2f}".format)
