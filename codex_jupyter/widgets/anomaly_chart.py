"""The anomaly chart: each series as a line, alerts (episode onsets) as markers with their reason on hover.

Readings inside an alert's episode (after its onset, until the series is back
to normal) are drawn as small markers, so one alert visibly covers its stretch.

Many series become small multiples (one row each, shared time axis), capped
at ``max_series`` -- the series with the most flags first -- so a fleet of
thousands of devices still renders quickly in JupyterLab and Voila.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from codex_jupyter.errors import require_columns

_LINE = "#5b6b8c"
_FLAG = "#d62728"
_EPISODE = "#ff9f6e"


def anomaly_chart(
    scored: pd.DataFrame,
    time: str,
    value: str,
    by: str | Sequence[str] | None = None,
    max_series: int = 8,
    title: str | None = None,
) -> go.Figure:
    """Plot the output of ``detect_anomalies`` (needs ``is_anomaly`` and ``reason`` columns)."""
    require_columns(scored.columns, (time, value, "is_anomaly", "reason"), "the output of detect_anomalies")
    by_cols = [by] if isinstance(by, str) else list(by or [])
    if by_cols:
        flags = scored.groupby(by_cols, sort=False).is_anomaly.sum().sort_values(ascending=False, kind="stable")
        keys = list(flags.index[:max_series])
        groups = [(k, scored[_match(scored, by_cols, k)]) for k in keys]
    else:
        groups = [(value, scored)]
    fig = make_subplots(
        rows=len(groups),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=min(0.06, 0.3 / max(len(groups), 1)),
        subplot_titles=[_label(k) for k, _ in groups],
    )
    shown: set[str] = set()  # the alert markers named in the legend (the first row with each kind names it)
    for row, (_, frame) in enumerate(groups, start=1):
        frame = frame.sort_values(time, kind="stable")
        fig.add_trace(
            go.Scattergl(
                x=frame[time],
                y=frame[value],
                mode="lines",
                line={"color": _LINE, "width": 1},
                name=value,
                showlegend=row == 1,
                legendgroup="series",
            ),
            row=row,
            col=1,
        )
        if "episode_id" in frame:
            inside = frame[(frame.episode_id > 0) & ~frame.is_anomaly]
            fig.add_trace(
                go.Scattergl(
                    x=inside[time],
                    y=inside[value],
                    mode="markers",
                    marker={"color": _EPISODE, "size": 4},
                    name="in an episode",
                    hoverinfo="skip",
                    showlegend=row == 1,
                    legendgroup="episode",
                ),
                row=row,
                col=1,
            )
        hits = frame[frame.is_anomaly]
        y, missing = alert_marks(frame[value], hits.index)
        for trace in alert_traces(hits[time], y, missing, hits.reason, "alert", size=7, scatter=go.Scattergl):
            trace.showlegend = trace.name not in shown
            shown.add(trace.name)
            fig.add_trace(trace, row=row, col=1)
    fig.update_layout(
        title=title or f"{value}: alerts",
        template="plotly_white",
        height=max(320, 170 * len(groups) + 80),
        margin={"l": 50, "r": 20, "t": 70, "b": 40},
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 1, "xanchor": "right"},
    )
    return fig


def alert_marks(values: pd.Series, hits: pd.Index, series: pd.Series | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Where to draw the alerts at ``hits`` (labels of ``values``, readings in time order, of one series or of the
    ``series`` named per reading), and which are on a missing reading.

    At the reading; an alert on a missing reading (a dropout) at its series' last reading before it. Why: drawn at
    its own value, NaN, a dropout's alert was nowhere on the chart, so a device ranked among those with the most
    alerts could show none (the anomaly review's dev-0015 and dev-0061).
    """
    grouped = values.groupby(np.zeros(len(values)) if series is None else series.to_numpy(), sort=False)
    filled = grouped.ffill().fillna(grouped.bfill())  # bfill: a dropout from a series' very first reading
    return filled.loc[hits].to_numpy(dtype=float), values.loc[hits].isna().to_numpy()


def alert_traces(
    x: pd.Series,
    y: np.ndarray,
    missing: np.ndarray,
    reasons: pd.Series,
    name: str,
    size: int,
    scatter: type[go.Scatter] | type[go.Scattergl] = go.Scatter,
) -> list[go.Scatter | go.Scattergl]:
    """The alerts (positions from :func:`alert_marks`) as markers with their reason on hover: filled at their
    reading, and the ones on missing readings as open circles, each kind its own legend entry (none without alerts).

    Why two traces: in one, the legend showed a filled dot alone, and a reader could not tell what the open
    circles on the charts were.
    """
    traces = []
    for gone, label in ((False, name), (True, f"{name} on missing readings")):
        at = missing == gone
        if at.any():
            traces.append(
                scatter(
                    x=x[at],
                    y=y[at],
                    mode="markers",
                    marker={
                        "color": _FLAG,
                        "size": size,
                        "symbol": "circle-open" if gone else "circle",
                        "line": {"color": _FLAG, "width": 2},
                    },
                    name=label,
                    text=reasons[at],
                    hovertemplate="%{x}<br>%{y}<br>%{text}<extra></extra>",
                    legendgroup=label,
                )
            )
    return traces


def _match(frame: pd.DataFrame, by: list[str], key: object) -> pd.Series:
    values = key if isinstance(key, tuple) else (key,)
    mask = pd.Series(True, index=frame.index)
    for column, v in zip(by, values, strict=True):
        mask &= frame[column] == v
    return mask


def _label(key: object) -> str:
    return " / ".join(map(str, key)) if isinstance(key, tuple) else str(key)
