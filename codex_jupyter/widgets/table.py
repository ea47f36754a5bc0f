"""Tables: a query's displayed result, and reader-facing tables for dashboards.

``QueryFrame`` *is* a pandas DataFrame (``isinstance(x, pd.DataFrame)``), so
``_`` and ``-o VAR`` hold the full result a user can keep working with; only
its display differs. Frames derived from it (``head()``, ``groupby`` ...) are
plain DataFrames, so the banner never describes data it no longer matches.

For the notebook's author a result shows its row index, the query's timing and
id, and where the rest of the rows are. For a dashboard's *reader*
(``reader=True``, which ``%%snowflake`` turns on under Voila) it shows what a
report would: no index column, numbers with thousands separators, readable
column names, the data's source, and no developer hints.
"""

from __future__ import annotations

import math
import string
import unicodedata
from collections.abc import Mapping
from html import escape

import numpy as np
import pandas as pd

from codex_jupyter.errors import InputError, require_columns

#: The reader tables' CSS, sent with each table (a Voila page has no stylesheet of ours for outputs).
READER_TABLE_STYLE = (
    "<style>.codex-reader-table{border-collapse:collapse;font-size:13px;line-height:1.45;max-width:100%}"
    ".codex-reader-table th{text-align:left;color:#5a6478;font-weight:600;border-bottom:2px solid #dde3f0;"
    "padding:4px 10px}.codex-reader-table td{padding:4px 10px;border-bottom:1px solid #eef1f7}"
    # In reader_html's tables text reads from the left and numbers from the right, whatever the page's own table
    # rules (JupyterLab's, which Voila uses for outputs, right-align every cell and heading).
    ".codex-table-wrap table.codex-reader-table :is(th,td){text-align:left}"
    ".codex-table-wrap table.codex-reader-table td.num{text-align:right;font-variant-numeric:tabular-nums}"
    ".codex-table-wrap .codex-reader-table td:not(.long){white-space:nowrap}"
    ".codex-table-wrap .codex-reader-table td.long{min-width:16em}"
    ".codex-table-wrap{overflow-x:auto;max-width:100%}"
    ".codex-table-caption{color:#5a6478;font-size:12px;margin-top:4px}</style>"
)
_FONT_PX = 13  # the reader tables' font size (above)
_PADDING_PX = 20  # a cell's left and right padding (above)
_PAGE_PX = 32  # the page's margins beside a table on a phone (Voila's: 24 px), with room to spare
_LONG_CHARS = 30  # text longer than this may wrap (see _cell)
_LONG_EM = 24  # a long cell's width in a table: at its least (16em) it read a word or two a line


def _format_column(column: pd.Series, pattern: str | None = None) -> tuple[list[str], bool]:
    """The column's cells as reader text, and whether they are numbers (right-aligned); ``pattern`` (a format
    string such as ``"{:.0%}"``) formats a numeric column its own way, a missing value staying blank."""
    if pattern is not None:
        try:
            return ["" if pd.isna(v) else pattern.format(v) for v in column], True
        except (ValueError, TypeError, IndexError, KeyError) as error:
            raise InputError(
                f"format {pattern!r} does not fit column {column.name!r} ({error}); "
                "give a numeric column a format such as '{:.1f}' or '{:.0%}'"
            ) from None
    if pd.api.types.is_bool_dtype(column):
        return ["yes" if v else "no" for v in column], False
    if pd.api.types.is_integer_dtype(column):
        return ["" if pd.isna(v) else f"{int(v):,}" for v in column], True
    if pd.api.types.is_float_dtype(column):
        whole = bool(np.all(np.isnan(column) | (np.mod(column.fillna(0), 1) == 0)))
        pattern = "{:,.0f}" if whole else "{:,.2f}"
        return ["" if pd.isna(v) else pattern.format(v) for v in column], True
    if pd.api.types.is_datetime64_any_dtype(column):
        times = pd.to_datetime(column)
        dates_only = bool((times.dropna() == times.dropna().dt.normalize()).all())
        return ["" if pd.isna(v) else v.strftime("%Y-%m-%d" if dates_only else "%Y-%m-%d %H:%M") for v in times], False
    return [_format_value(v) for v in column], False


def _check_formats(frame: pd.DataFrame, formats: Mapping[str, str] | None) -> None:
    """Refuse ``formats`` that would fail or print nonsense only when the table is drawn: not a mapping (a list, as
    ``percent=`` took), a value that is no ``str.format`` pattern (``"%.1f"`` printed itself in every cell), or a
    column the frame does not have (a typo was ignored)."""
    if formats is None:
        return
    if not isinstance(formats, Mapping):
        raise InputError(f"formats maps columns to format strings, e.g. {{'recall': '{{:.0%}}'}}; got {formats!r}")
    for column, pattern in formats.items():
        if not isinstance(pattern, str) or not any(f is not None for _, f, _, _ in string.Formatter().parse(pattern)):
            raise InputError(
                f"formats[{column!r}] is {pattern!r}, not a format string with a field; "
                "use e.g. '{:.1f}' or '{:.0%}'"
            )
    require_columns(frame.columns, formats, "the table (a column named in formats=)")


def _format_value(value: object) -> str:
    """A text cell: lists (keywords, entities) as comma-separated words, missing values blank."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, list | tuple | np.ndarray):
        return ", ".join(map(str, value))
    return str(value)


def _heading(name: object) -> str:
    text = str(name).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _cell(text: str, number: bool, label: str) -> str:
    """One cell, its column's name in ``data-label`` (a card's line shows it); only long text (``long``) may wrap,
    so "dev-0013" or a time never breaks across lines, and it keeps 16em of width: squeezed, an alert's reason or a
    customer's comment wrapped a word or two to a line and the anomaly and feedback reviews' rows stood 230 to 320 px
    tall on a phone.

    The rule is scoped to :func:`reader_html`'s tables (inside ``codex-table-wrap``, which scrolls sideways): other
    tables sharing the class, such as the drill-down's, mark no long cells and must still wrap on a phone.
    """
    kind = " class='num'" if number else " class='long'" if len(text) > _LONG_CHARS else ""
    return f"<td{kind} data-label='{escape(label)}'>{escape(text)}</td>"


def _em(text: str) -> float:
    """The width of ``text`` in em at the tables' font, rather too wide than too narrow (the page's font is not
    known here; DejaVu Sans, among the widest, is what it was measured on): 0.64 for most characters (digits are
    0.636), 0.78 for capitals, 1 for the widest (M, W, m, w, @, %) and for Chinese, Japanese and Korean, 1.3 for
    emoji."""
    width = 0.0
    for ch in text:
        if ch in "MWmw@%":
            width += 1.0
        elif ch.isupper():
            width += 0.78
        elif unicodedata.east_asian_width(ch) in "WF":
            width += 1.3 if ord(ch) >= 0x1F000 else 1.0
        else:
            width += 0.64
    return width


def _cards_up_to(headings: list[str], columns: list[tuple[list[str], bool]]) -> int:
    """The widest screen (px, a multiple of 8 less one) on which the table shows a card per row, each cell a line
    headed by its column (see :func:`_cards_style`): the screens too narrow for it as a table.

    Why: scrolling sideways on a phone, the anomaly review's alerts showed their time, device and episode, and a
    reader had to find that the reason (the point of the table) lay off to the right. The width a table needs is
    estimated from its text, since a stylesheet cannot see whether a table overflows; a short table stays a table
    wherever it fits. It is judged against the screen, not the table's box: a container query can, but its
    containment left a table 0 px wide in any box sized by its content (an ``HBox``, an inline block).
    """
    need = _PAGE_PX
    for heading, (cells, number) in zip(headings, columns, strict=True):
        if not number and any(len(c) > _LONG_CHARS for c in cells):  # wraps, down to its longest word
            text = max(_LONG_EM, *(_em(word) for c in cells for word in c.split()))
        else:
            text = max((_em(c) for c in cells), default=0.0)
        need += max(text, 1.1 * _em(heading)) * _FONT_PX + _PADDING_PX  # headings are bold
    return 8 * math.ceil(need / 8) - 1


def _cards_style(screen: int) -> str:
    """The CSS that shows tables marked ``codex-cards-<screen>`` as a card per row on screens up to ``screen`` px.

    One rule per width, sent with its tables (a stylesheet cannot read the width from the table). The selectors
    outrank the reader tables' own rules, which every later table sends again.
    """
    t = f"table.codex-cards-{screen}"
    cell = f".codex-table-wrap table.codex-reader-table.codex-cards-{screen} tr td"
    return (
        f"<style>@media (max-width:{screen}px){{{t} thead{{position:absolute;width:1px;height:1px;overflow:hidden;"
        f"clip-path:inset(50%)}}{t},{t} tbody,{t} tr{{display:block}}{t} tr{{padding:6px 0;"
        f"border-bottom:1px solid #dde3f0}}{cell}{{display:block;border:0;padding:1px 4px;white-space:normal;"
        f"min-width:0;text-align:left;overflow-wrap:anywhere}}{cell}:empty{{display:none}}{t} td::before{{"
        f"content:attr(data-label);color:#5a6478;font-weight:600;margin-right:.6em}}}}</style>"
    )


def _shown(
    frame: pd.DataFrame, max_rows: int, formats: Mapping[str, str] | None
) -> tuple[pd.DataFrame, list[tuple[list[str], bool]]]:
    """The rows a reader table shows and each column's cells as text (with whether they are numbers): what
    :func:`reader_html` and :func:`reader_text` both lay out."""
    _check_formats(frame, formats)
    shown = frame.head(max(max_rows, 0))
    return shown, [_format_column(shown[c], (formats or {}).get(c)) for c in shown.columns]


def reader_html(
    frame: pd.DataFrame, max_rows: int = 20, caption: str = "", formats: Mapping[str, str] | None = None
) -> str:
    """``frame`` as a reader's HTML table: no index, formatted numbers, escaped text, an optional caption.

    ``formats`` maps numeric columns to format strings, as pandas' ``Styler.format`` takes them: ``{"recall":
    "{:.0%}"}`` shows a share as a percentage, ``{"surprise": "{:.1f}"}`` keeps one decimal (floats show two).
    """
    shown, columns = _shown(frame, max_rows, formats)
    headings = [_heading(c) for c in shown.columns]
    head = "".join(f"<th>{escape(h)}</th>" for h in headings)
    rows = "".join(
        "<tr>" + "".join(_cell(cells[i], num, h) for (cells, num), h in zip(columns, headings, strict=True)) + "</tr>"
        for i in range(len(shown))
    )
    screen = _cards_up_to(headings, columns)
    if len(frame) > len(shown):
        caption = " · ".join(p for p in (f"{len(shown):,} of {len(frame):,} rows", caption) if p)
    note = f"<div class='codex-table-caption'>{escape(caption)}</div>" if caption else ""
    return (
        f"{READER_TABLE_STYLE}{_cards_style(screen)}<div class='codex-table-wrap'>"
        f"<table class='codex-reader-table codex-cards-{screen}'>"
        f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>{note}"
    )


def reader_text(
    frame: pd.DataFrame, max_rows: int = 20, caption: str = "", formats: Mapping[str, str] | None = None
) -> str:
    """The plain-text twin of :func:`reader_html` (no index, formatted numbers)."""
    shown, columns = _shown(frame, max_rows, formats)
    table = pd.DataFrame({_heading(c): cells for c, (cells, _) in zip(shown.columns, columns, strict=True)})
    lines = [table.to_string(index=False)] if len(shown.columns) else []
    if len(frame) > len(shown):
        lines.append(f"{len(shown):,} of {len(frame):,} rows")
    if caption:
        lines.append(caption)
    return "\n".join(lines)


class ReaderTable:
    """A frame displayed for a dashboard's reader (see :func:`reader_html`); the data stays in ``.frame``."""

    def __init__(
        self, frame: pd.DataFrame, max_rows: int = 20, caption: str = "", formats: Mapping[str, str] | None = None
    ) -> None:
        _check_formats(frame, formats)  # here, not when drawn: IPython shows a display's error as a traceback
        self.frame, self.max_rows, self.caption, self.formats = frame, max_rows, caption, dict(formats or {})

    def __repr__(self) -> str:
        return reader_text(self.frame, self.max_rows, self.caption, self.formats)

    def _repr_html_(self) -> str:
        return reader_html(self.frame, self.max_rows, self.caption, self.formats)


class QueryFrame(pd.DataFrame):
    """A query's full result, displayed as at most ``displaylimit`` rows plus a summary line."""

    _metadata = ["query_summary", "query_sql", "displaylimit", "query_source", "reader"]

    @property
    def _constructor(self) -> type[pd.DataFrame]:
        return pd.DataFrame

    @classmethod
    def of(
        cls, rows: pd.DataFrame, summary: str, sql: str, displaylimit: int = 20, source: str = "", reader: bool = False
    ) -> QueryFrame:
        """Wrap a query's rows, without copying them, with its summary line and the SQL that ran.

        ``source`` names where the rows came from (a reader sees it instead of
        the summary's timing and query id); ``reader`` picks the reader's display.
        """
        frame = cls(rows)
        frame.query_summary = summary
        frame.query_sql = sql
        frame.displaylimit = displaylimit
        frame.query_source = source
        frame.reader = reader
        return frame

    def _shown(self) -> pd.DataFrame:
        return pd.DataFrame(self).head(max(self.displaylimit, 0))

    def _more_note(self) -> str:
        hidden = len(self) - min(len(self), self.displaylimit)
        return f"showing the first {self.displaylimit:,} rows; the full result is in _ (or -o VAR)" if hidden else ""

    def _source_caption(self) -> str:
        return f"Source: {self.query_source}" if self.query_source else ""

    def __repr__(self) -> str:
        if self.reader:
            return reader_text(pd.DataFrame(self), self.displaylimit, self._source_caption())
        lines = [self.query_summary]
        if len(self.columns):
            lines.append(repr(self._shown()))
        if self._more_note():
            lines.append(self._more_note())
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        if self.reader:
            body = reader_html(pd.DataFrame(self), self.displaylimit, self._source_caption())
            return f"<div class='codex-result codex-reader'>{body}</div>"
        table = self._shown().to_html(escape=True, max_cols=50, border=0, classes="codex-result-table")
        note = f"<div class='codex-result-note'>{escape(self._more_note())}</div>" if self._more_note() else ""
        body = table if len(self.columns) else ""
        return (
            "<div class='codex-result'>"
            f"<div class='codex-result-summary' style='color:#555;font-size:90%;margin-bottom:4px'>"
            f"{escape(self.query_summary)}</div>{body}{note}</div>"
        )
