"""The live tail view on the simulated fleet: its alert table reads as episodes; its chart marks its metric's alerts."""

from __future__ import annotations

import re

from codex_jupyter.analytics.anomaly import reason_metrics
from codex_jupyter.pipelines.tail import tail
from codex_jupyter.widgets.stream import LiveTailView, _counters_html


def test_the_alert_table_shows_episodes_and_the_chart_marks_the_alerts_of_its_metric() -> None:
    handle = tail("sim://fleet?devices=20&rate=0&seed=7", max_records=20_000, window=2000)
    assert handle.wait(60)
    view = LiveTailView(handle, alert_rows=50)
    view.redraw(force=True)
    table = view.alerts.value
    assert "<th>Episode</th>" in table and ("ended " in table or "open" in table)
    assert " days " not in table and "+00:00" not in table  # no raw Timedelta or ISO offsets for the reader
    # the surprise reads as a number (from the right), to one decimal
    assert re.search(r"<td class='num' data-label='Surprise'>\d+\.\d</td>", table)
    alerts = handle.anomalies()
    metrics = list(view.metric.options)
    drawn_dropouts = 0
    for metric in metrics:
        view.metric.value = metric
        figure = view.chart.outputs[0]["data"]["application/vnd.plotly.v1+json"]
        title = figure["layout"]["title"]["text"]
        assert title.replace("<br>", " ") == f"{metric.capitalize()}: the 4 devices with the most alerts"
        assert all(len(line) <= 38 for line in title.split("<br>"))  # broken to fit a phone, as the dashboards'
        assert view.chart.layout.width == "100%" and view.chart.layout.min_width == "0"
        marked = {t["name"]: t for t in figure["data"] if t.get("mode") == "markers"}
        assert set(marked) <= {"anomaly", "anomaly on missing readings"}
        shown = alerts[alerts.device.isin([t["name"] for t in figure["data"] if t.get("mode") == "lines"])]
        texts = [why for t in marked.values() for why in t["text"]]
        assert len(texts) == sum(metric in reason_metrics(why, metrics) for why in shown.reason)
        # Every alert is somewhere on the chart: a dropout's at the value its device went quiet at, an open circle
        # named in the legend.
        assert all(y is not None for t in marked.values() for y in t["y"])
        dropouts = marked.get("anomaly on missing readings", {"text": [], "marker": {"symbol": "circle-open"}})
        assert dropouts["marker"]["symbol"] == "circle-open" and all("missing" in why for why in dropouts["text"])
        drawn_dropouts += len(dropouts["text"])
    assert drawn_dropouts
    # A dropout of every metric names them all, so each metric's chart marks it.
    assert any(len(reason_metrics(why, metrics)) == len(metrics) for why in alerts.reason)


def test_the_counters_name_the_scoring_workers_when_there_are_any() -> None:
    stats = {
        **{"state": "running", "records": 150_000, "records_per_s": 240_000.0, "lag": {}, "anomalies": 12},
        **{"bad_records": 0, "reconnects": 0, "last_error": "", "workers": 0},
    }
    assert "scoring workers" not in _counters_html(stats)  # a paced stream's view is as it was
    shown = _counters_html({**stats, "workers": 2})
    assert "scoring workers</div><div style='font-size:18px'>2</div>" in shown
