"""Page-wide filtered reviews: picking a device kind or a branch redraws every view of the section from its rows."""

from __future__ import annotations

import re

import ipywidgets as widgets
import numpy as np
import pandas as pd
import pytest

import codex_jupyter
from codex_jupyter.analytics.anomaly.episodes import episode_recall
from codex_jupyter.analytics.forecast import forecast
from codex_jupyter.errors import InputError
from codex_jupyter.widgets.reviews import ALL, fault_review, forecast_review, recall_table


def _inside(widget: object) -> object:
    """The widget a :func:`wide` box holds (or the widget itself)."""
    return widget.children[0] if isinstance(widget, widgets.VBox) else widget


def _figure(widget: object) -> dict:
    return _inside(widget).outputs[0]["data"]["application/vnd.plotly.v1+json"]


def _telemetry() -> pd.DataFrame:
    """Two kinds, two devices each, two metrics; one hvac device has a labelled spike, one atm device drops out."""
    ts = pd.date_range("2025-11-01", periods=200, freq="h")
    rng = np.random.default_rng(3)
    frames = []
    for device, kind in (("ATM-1", "atm"), ("ATM-2", "atm"), ("HVAC-1", "hvac"), ("HVAC-2", "hvac")):
        temperature, humidity = 20 + rng.normal(0, 0.5, len(ts)), 45 + rng.normal(0, 0.5, len(ts))
        fault = np.full(len(ts), None, dtype=object)
        if device == "HVAC-1":
            temperature[150:155] += 15
            fault[150:155] = "overheat"
        if device == "ATM-2":
            temperature[120:124] = humidity[120:124] = np.nan
            fault[120:124] = "dropout"
        frames.append(
            pd.DataFrame(
                {
                    "ts": ts,
                    "device_id": device,
                    "kind": kind,
                    "temperature": temperature,
                    "humidity": humidity,
                    "fault_type": fault,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def test_fault_review_follows_the_device_kind_in_every_view() -> None:
    metrics = ["temperature", "humidity"]
    scored = codex_jupyter.detect_anomalies(_telemetry(), time="ts", value=metrics, by="device_id")
    review = fault_review(scored, metrics, "temperature")
    assert [v for _, v in review.filter.options] == [ALL, "atm", "hvac"]
    kpis, latest, recall, trend = review.views
    assert "1,600" in _inside(kpis).value  # 800 rows of two metrics
    assert "codex-wide" in trend._dom_classes and "codex-wide" in latest._dom_classes
    review.filter.value = "atm"
    kpis, latest, recall, trend = review.views
    assert ">800<" in _inside(kpis).value and "HVAC" not in _inside(latest).value
    # The dropout shows in both metrics: one alert that names both, not one per metric.
    assert ">1<" in _inside(kpis).value and _inside(latest).value.count("missing readings in a row") == 1
    assert "temperature, humidity: " in _inside(latest).value
    assert "ended " in _inside(latest).value and "open" not in _inside(latest).value  # the dropout's episodes closed
    assert "dropout" in recall.value and "overheat" not in recall.value
    assert "the four atm devices" in _figure(trend)["layout"]["title"]["text"]
    assert all("HVAC" not in a.get("text", "") for a in _figure(trend)["layout"]["annotations"])
    review.filter.value = "hvac"
    kpis, latest, recall, trend = review.views
    assert ">800<" in _inside(kpis).value and "100%" in _inside(kpis).value
    assert "overheat" in recall.value and "HVAC-1" in _inside(latest).value
    # Each alert says how its episode went, looked up from the reading where it closed.
    assert re.search(r"ended \d\d:\d\d:\d\d \(\d+ h \d\d min\)", _inside(latest).value), _inside(latest).value
    # The chart marks the temperature alert; a chart of humidity has no alert to mark for that device.
    alerts = [t for t in _figure(trend)["data"] if t.get("name") == "alert"]
    assert sum(len(t["x"]) for t in alerts) == 1
    humidity = fault_review(scored, metrics, "humidity", start="hvac").views[3]
    assert sum(len(t["x"]) for t in _figure(humidity)["data"] if t.get("name") == "alert") == 0
    # The dropout names both metrics, so both metrics' charts mark it.
    for metric in metrics:
        atm = fault_review(scored, metrics, metric, start="atm").views[3]
        marked = {t["name"]: len(t["x"]) for t in _figure(atm)["data"] if t.get("name", "").startswith("alert")}
        assert marked == {"alert on missing readings": 1}  # an open circle, named in the legend


def test_the_recall_table_says_which_faults_it_left_out() -> None:
    """A fault under way at a device's first reading is not judged: the caption says so, so a reader who counts
    the chart's faults is not left with two more than the table."""
    scored = pd.DataFrame(
        {
            "device_id": ["a", "a", "a", "b", "b", "b", "c", "c"],
            "fault_type": ["shift", None, "shift", "shift", None, None, "stuck", None],
            "is_anomaly": [False, False, True, False, False, False, False, False],
        }
    )
    table = recall_table(episode_recall(scored, series="device_id"), "Faults caught")
    html = table._repr_html_()
    assert "Faults caught; 3 faults already under way at the first reading left out" in html
    assert "under_way" not in html and "100%" in html
    assert "stuck" not in html  # its one fault was under way: no "0 of 0, 0 %" row
    clean = recall_table(episode_recall(scored.iloc[1:3], series="device_id"), "Faults caught")
    assert "left out" not in clean._repr_html_()


def test_fault_review_says_which_metrics_it_can_chart() -> None:
    with pytest.raises(InputError, match="chart_metric 'pressure' is not one of the metrics"):
        fault_review(pd.DataFrame(), ["temperature"], "pressure")


def test_forecast_review_follows_the_branch_in_chart_scores_and_models() -> None:
    days = pd.date_range("2025-01-01", periods=120, freq="D")
    history = pd.concat(
        pd.DataFrame({"date": days, "branch_id": b, "sold": base + 5 * np.sin(np.arange(120) * 2 * np.pi / 7)})
        for b, base in (("BR001", 50), ("BR002", 80))
    )
    demand = forecast(history, time="date", value="sold", horizon=14, by="branch_id", n_windows=2)
    scores = pd.DataFrame(
        {
            "branch_id": ["BR001", "BR002"],
            "model": ["theta", "snaive"],
            "mase": [0.5, 0.9],
            "mase_snaive": [1.0, 1.0],
            "coverage_80": [80.0, 70.0],
            "coverage_95": [95.0, 90.0],
        }
    )
    review = forecast_review(history, demand, scores, time="date", value="sold", by="branch_id")
    trend, kpis, models = review.views
    assert "75.0 %" in kpis.value and _figure(models)["data"][0]["type"] == "bar"
    review.filter.value = "BR002"
    trend, kpis, models = review.views
    assert "in BR002" in " ".join(_figure(trend)["layout"]["title"]["text"].split("<br>"))
    assert "70.0 %" in kpis.value and "snaive" in models.value and "theta" not in models.value
