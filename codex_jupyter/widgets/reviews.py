"""Page-wide filtered reviews: one filter (device kind, branch) that every chart, table and KPI of a section follows.

A curated dashboard scores its data once (one query, one package call) and hands the result here; the filter then
narrows the scored rows in memory, so a change redraws in well under a second with no new warehouse query or model
fit. Built on :class:`~codex_jupyter.widgets.dashboard.Explorer` (loading state, errors shown to the reader).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ipywidgets as widgets
import pandas as pd
import plotly.express as px

from codex_jupyter.analytics.anomaly.episodes import episode_recall
from codex_jupyter.analytics.anomaly.reasons import reason_metrics
from codex_jupyter.errors import InputError
from codex_jupyter.widgets.anomaly_chart import anomaly_chart
from codex_jupyter.widgets.dashboard import Explorer, chart, wide
from codex_jupyter.widgets.episode_text import episode_status
from codex_jupyter.widgets.forecast_chart import forecast_chart
from codex_jupyter.widgets.kpi import KpiCards
from codex_jupyter.widgets.table import ReaderTable

#: The filter's first option: no filter.
ALL = "All"


def recall_table(caught: pd.DataFrame, caption: str) -> ReaderTable:
    """:func:`~codex_jupyter.analytics.anomaly.episodes.episode_recall` as a reader's table: a row per fault, and
    the faults already under way at the data's first reading said in the caption, not as a column of zeros (nor a
    kind with none judged as "0 of 0, 0 %").

    Why say them at all: left out silently, a reader who counts the chart's shifts finds more than the table.
    """
    under_way = int(caught.loc["all", "under_way"])
    if under_way:
        fault = "fault" if under_way == 1 else "faults"
        caption = f"{caption}; {under_way} {fault} already under way at the first reading left out"
    judged = caught[(caught.episodes > 0) | (caught.index == "all")]  # a kind whose faults were all under way: no row
    table = judged.drop(columns="under_way").reset_index(names="fault")
    return ReaderTable(table, formats={"recall": "{:.0%}"}, caption=caption)


def _options(frame: pd.DataFrame, column: str, everything: str) -> list[tuple[str, str]]:
    return [(everything, ALL), *((str(v), str(v)) for v in sorted(frame[column].dropna().unique()))]


def _subset(frame: pd.DataFrame, column: str, value: str) -> pd.DataFrame:
    return frame if value == ALL else frame[frame[column].astype(str) == value]


def fault_review(
    scored: pd.DataFrame, metrics: Sequence[str], chart_metric: str, *, kind: str = "kind", start: str = ALL
) -> Explorer:
    """Alerts, their reasons, labelled-fault recall and a chart of ``chart_metric``, all for the device kind picked.

    ``scored`` is :func:`~codex_jupyter.detect_anomalies` output over wide telemetry (``ts``, ``device_id``, one
    column per metric in ``metrics``, ``fault_type``, ``kind``) scored with ``value=metrics, by="device_id"``.
    Why wide, not one row per metric: one detector per device sees its metrics together, so a dropout that every
    metric shows is one alert naming them all (scored per metric, the demo's dropouts were three alerts each).
    """
    if chart_metric not in metrics:
        raise InputError(f"fault_review: chart_metric {chart_metric!r} is not one of the metrics {list(metrics)}")
    # The metric whose episode a row shows (detect_anomalies numbers a device's episodes so).
    chart_position = list(metrics).index(chart_metric)

    def kpis(rows: pd.DataFrame, value: str) -> Any:
        alerts, caught = rows[rows.is_anomaly], episode_recall(rows, series="device_id", label="fault_type", time="ts")
        recall = f"{caught.recall['all']:.0%}" if caught.loc["all", "episodes"] else "no labelled faults"
        return wide(
            KpiCards(
                {
                    "Readings checked": len(rows) * len(metrics),
                    "Alerts (one per episode)": len(alerts),
                    "Devices with alerts": alerts.device_id.nunique(),
                    "Labelled fault episodes caught": recall,
                }
            )
        )

    def latest(rows: pd.DataFrame, value: str) -> widgets.VBox:
        alerts = rows[rows.is_anomaly].sort_values("ts", ascending=False)
        # An episode's end is on the reading where it closed, not on its alert: looked up by device and onset (an
        # alert that names several metrics shows one metric's episode id; where they close may show another's).
        closed = rows[rows.episode_end.notna()].sort_values("ts").drop_duplicates(["device_id", "episode_start"])
        ends = closed.set_index(["device_id", "episode_start"])
        onsets = pd.MultiIndex.from_frame(alerts[["device_id", "episode_start"]])
        end = ends.episode_end.reindex(onsets).to_numpy()
        learnt = ends.episode_new_normal.reindex(onsets, fill_value=False).to_numpy()
        shown = pd.DataFrame(
            {
                "time": alerts.ts.to_numpy(),
                "device": alerts.device_id.to_numpy(),
                "episode": [episode_status(s, e, n) for s, e, n in zip(alerts.episode_start, end, learnt, strict=True)],
                "reason": alerts.reason.to_numpy(),
            }
        )
        # The page's full width: beside the recall table its reasons wrapped to three lines, its times to two.
        return wide(ReaderTable(shown, 10, "The latest alerts"))

    def recall(rows: pd.DataFrame, value: str) -> ReaderTable:
        caught = episode_recall(rows, series="device_id", label="fault_type", time="ts")
        return recall_table(caught, "The demo data labels the faults it injects")

    def trend(rows: pd.DataFrame, value: str) -> Any:
        who = "devices" if value == ALL else f"{value} devices"
        title = f"{chart_metric.capitalize()}: the four {who} with the most alerts"
        # Alerts whose reason names the metric (a dropout names them all); the readings of its own episodes.
        alerted = rows.is_anomaly.to_numpy().copy()
        alerted[alerted] = [chart_metric in reason_metrics(why, metrics) for why in rows.reason[rows.is_anomaly]]
        mine = rows.episode_id % len(metrics) == chart_position
        charted = rows.assign(is_anomaly=alerted, episode_id=rows.episode_id.where(mine, 0))
        fig = anomaly_chart(charted, time="ts", value=chart_metric, by="device_id", max_series=4, title=title)
        return wide(chart(fig))

    return Explorer(
        _options(scored, kind, "All devices"),
        fetch=lambda value: _subset(scored, kind, value),
        views=[kpis, latest, recall, trend],
        value=start,
        description="Devices",
        min_width="420px",
    )


def forecast_review(
    history: pd.DataFrame,
    forecasts: pd.DataFrame,
    scores: pd.DataFrame,
    *,
    time: str,
    value: str,
    by: str,
    start: str = ALL,
) -> Explorer:
    """History and forecast, backtest scores and the model chosen, for every series or the one picked.

    ``forecasts`` is :func:`~codex_jupyter.forecast` output and ``scores`` a backtest's per-series table
    (``BacktestReport.series``), both with the ``by`` column.
    """

    def trend(rows: pd.DataFrame, picked: str) -> Any:
        where = "the six largest branches" if picked == ALL else picked
        fig = forecast_chart(
            rows,
            _subset(forecasts, by, picked),
            time=time,
            value=value,
            by=by,
            last=120,
            max_series=6,
            title=f"Products sold per day in {where}: history, forecast, 80 % / 95 % intervals",
        )
        return wide(chart(fig, height=520 if picked == ALL else 380))

    def accuracy(rows: pd.DataFrame, picked: str) -> KpiCards:
        s = _subset(scores, by, picked)
        return KpiCards(
            {
                "MASE (ours)": round(s.mase.mean(), 3),
                "MASE (seasonal naive)": round(s.mase_snaive.mean(), 3),
                "80 % interval coverage": f"{s.coverage_80.mean():.1f} %",
                "95 % interval coverage": f"{s.coverage_95.mean():.1f} %",
            }
        )

    def models(rows: pd.DataFrame, picked: str) -> Any:
        s = _subset(scores, by, picked)
        if picked != ALL:
            return ReaderTable(
                s[[by, "model", "mase", "mase_snaive", "coverage_80", "coverage_95"]], caption="Backtest"
            )
        counts = s.model.value_counts().rename_axis("model").reset_index(name="branches")
        return chart(px.bar(counts, x="model", y="branches", title="Forecast model chosen per branch"))

    return Explorer(
        _options(history, by, "All branches"),
        fetch=lambda picked: _subset(history, by, picked),
        views=[trend, accuracy, models],
        value=start,
        description="Branch",
        min_width="420px",
    )
