"""The anomaly chart shows one alert per episode and the stretch it covers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from codex_jupyter import detect_anomalies
from codex_jupyter.widgets.anomaly_chart import anomaly_chart


def test_a_level_shift_is_one_alert_marker_over_a_marked_stretch() -> None:
    values = np.random.default_rng(0).normal(size=300)
    values[200:] += 5
    scored = detect_anomalies(pd.DataFrame({"t": np.arange(300), "v": values}), value="v")
    traces = {trace.name: trace for trace in anomaly_chart(scored, time="t", value="v").data}
    assert len(traces["alert"].x) == 1 and 200 <= traces["alert"].x[0] <= 206
    assert len(traces["in an episode"].x) >= 10 and min(traces["in an episode"].x) > traces["alert"].x[0]


def test_an_alert_on_missing_readings_is_drawn_where_the_series_went_quiet() -> None:
    """Drawn at its own value (NaN) a dropout's alert was nowhere on the chart."""
    values = np.random.default_rng(0).normal(10, 1, 300)
    values[200:206] = np.nan
    scored = detect_anomalies(pd.DataFrame({"t": np.arange(300), "v": values}), value="v")
    assert scored.is_anomaly.iloc[200:206].any() and np.isnan(scored.v[scored.is_anomaly]).all()
    traces = {trace.name: trace for trace in anomaly_chart(scored, time="t", value="v").data}
    alert = traces["alert on missing readings"]  # its own legend entry: readers asked what the open circles were
    assert len(alert.y) == 1 and alert.y[0] == values[199]
    assert alert.marker.symbol == "circle-open" and alert.showlegend and "alert" not in traces
