"""The forecast chart: history, forecast line and interval bands; many series as small multiples.

Display only: it draws the frames it is given (the output of
:func:`codex_jupyter.analytics.forecast.forecast` and the history it was
fitted on) as a plotly figure, which renders in JupyterLab, Voila and
nbconvert alike.
"""

from __future__ import annotations

import math
import re
from collections.abc import Hashable

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from codex_jupyter.errors import require_columns

_HISTORY, _FORECAST = "#5a6478", "#1f5fbf"


def _levels(frame: pd.DataFrame) -> list[str]:
    """Interval levels present in a forecast frame, widest first (so narrower bands are drawn on top)."""
    found = [m.group(1) for c in frame.columns if (m := re.fullmatch(r"yhat_lower_(.+)", c))]
    return sorted(found, key=lambda s: float(s.replace("_", ".")), reverse=True)


def _add_series(fig: go.Figure, hist: pd.DataFrame, fc: pd.DataFrame, time: str, value: str, cell: dict) -> None:
    levels = _levels(fc)
    first = not fig.data
    for i, lv in enumerate(levels):
        opacity = 0.15 + 0.15 * i
        fig.add_trace(
            go.Scatter(
                x=list(fc.ds) + list(fc.ds[::-1]),
                y=list(fc[f"yhat_upper_{lv}"]) + list(fc[f"yhat_lower_{lv}"][::-1]),
                fill="toself",
                fillcolor=f"rgba(31,95,191,{opacity:.2f})",
                line={"width": 0},
                hoverinfo="skip",
                name=f"{lv.replace('_', '.')} % interval",
                legendgroup=f"band{lv}",
                showlegend=first,
            ),
            **cell,
        )
    fig.add_trace(
        go.Scatter(
            x=hist[time],
            y=hist[value],
            mode="lines",
            line={"color": _HISTORY, "width": 1.2},
            name="history",
            legendgroup="history",
            showlegend=first,
        ),
        **cell,
    )
    model = f" ({fc.model.iloc[0]})" if "model" in fc.columns and len(fc) else ""
    fig.add_trace(
        go.Scatter(
            x=fc.ds,
            y=fc.yhat,
            mode="lines",
            line={"color": _FORECAST, "width": 2},
            name=f"forecast{model}",
            legendgroup="forecast",
            showlegend=first,
        ),
        **cell,
    )


def forecast_chart(
    history: pd.DataFrame,
    forecast: pd.DataFrame,
    time: str,
    value: str,
    by: str | None = None,
    *,
    last: int | None = None,
    max_series: int = 12,
    columns: int = 3,
    title: str | None = None,
) -> go.Figure:
    """A plotly figure of ``history`` (``time``, ``value``) followed by ``forecast`` and its bands.

    With ``by``, each series gets its own small panel (the first
    ``max_series`` series, ``columns`` panels per row). ``last`` keeps only the
    last that many history points per series, so the forecast stays readable.
    """
    if by is None:
        series: list[Hashable] = [None]
    else:
        for name, frame in (("history", history), ("forecast", forecast)):
            require_columns(frame.columns, [by], f"the {name} (pass the by= used for the forecast)")
        series = list(pd.unique(forecast[by]))[:max_series]
    rows = math.ceil(len(series) / columns) if by is not None else 1
    fig = (
        make_subplots(
            rows=rows,
            cols=min(columns, len(series)),
            subplot_titles=[str(s) for s in series],
            shared_xaxes=True,
            vertical_spacing=min(0.08, 0.3 / rows),
            horizontal_spacing=0.05,
        )
        if by is not None
        else go.Figure()
    )
    for i, key in enumerate(series):
        hist = history if key is None else history[history[by] == key]
        hist = hist.sort_values(time)
        if last is not None:
            hist = hist.tail(last)
        fc = forecast if key is None else forecast[forecast[by] == key]
        cell = {} if by is None else {"row": i // columns + 1, "col": i % columns + 1}
        _add_series(fig, hist, fc, time, value, cell)
    fig.update_layout(
        template="plotly_white",
        title=title,
        height=320 if by is None else 230 * rows + 80,
        margin={"l": 40, "r": 20, "t": 60 if title else 30, "b": 30},
        legend={"orientation": "h", "y": -0.08 if by is None else -0.3 / rows},
    )
    if by is not None:
        fig.update_annotations(font_size=12)
    return fig
