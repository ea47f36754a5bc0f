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
