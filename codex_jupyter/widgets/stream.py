"""The live stream view: a chart per metric with anomaly markers, a device map, alerts, counters and a stop button.

The view subscribes to a tail handle (``codex_jupyter.pipelines.tail``) and
redraws at most ``refresh_s`` apart, so a fast stream never floods the front
end; the last event (the tail stopping) always redraws. It never opens a
connection: everything it shows comes from the handle.
"""

from __future__ import annotations

import math
import threading
import time
from html import escape
from typing import Any

import ipywidgets as widgets
import pandas as pd
import plotly.graph_objects as go

from codex_jupyter.analytics.anomaly.reasons import reason_metrics
from codex_jupyter.widgets.anomaly_chart import alert_marks, alert_traces
from codex_jupyter.widgets.dashboard import chart_box, chart_output
from codex_jupyter.widgets.episode_text import episode_status
from codex_jupyter.widgets.table import reader_html

_SURPRISE = "Surprise: -log10 of the chance that its series reads this unusual (7 is one in ten million)"
_STATE_COLOURS = {"running": "#2ca02c", "reconnecting": "#ff7f0e", "stopped": "#7f7f7f", "starting": "#1f77b4"}


class LiveTailView(widgets.VBox):
    """Live view of a tail: ``LiveTailView(handle)``; displays in JupyterLab and Voila."""

    def __init__(self, handle: Any, devices: int = 4, refresh_s: float = 0.5, alert_rows: int = 12) -> None:
        self.handle = handle
        self.refresh_s = refresh_s
        self.max_devices = devices
        self.alert_rows = alert_rows
        self._acknowledged: set[tuple[str, str]] = set()
        self._last_draw = 0.0
        self._draw_lock = threading.RLock()
        self._syncing_metric = False
        self._devices_layer: Any = None
        self.counters = widgets.HTML()
        self.metric = widgets.Dropdown(description="Metric", options=[], layout={"width": "260px"})
        self.stop_button = widgets.Button(description="Stop", icon="stop", button_style="danger")
        self.ack_button = widgets.Button(description="Acknowledge", icon="check", tooltip="Hide the alerts shown")
        # An Output holding a plain figure, not a FigureWidget: its state is a synced trait, so a view that
        # renders late (Voila streams outputs while the tail already runs) still shows the latest chart, while
        # FigureWidget's update messages sent before the view exists are lost.
        # The dashboards' chart box and style: as wide as its column, its title broken to fit a phone (where the
        # title, one line, was cut off).
        self.chart = chart_box()
        self.chart.layout.min_height = "360px"
        self.alerts = widgets.HTML()
        self.device_map = widgets.Box()  # filled with a map once records carry lat/lon
        self.errors = widgets.Output()
        self.stop_button.on_click(lambda _: self.handle.stop())
        self.ack_button.on_click(self._acknowledge)
        self.metric.observe(self._on_metric, names="value")
        super().__init__(
            [
                widgets.HBox([self.counters, self.stop_button]),
                self.metric,
                self.chart,
                self.device_map,
                widgets.HBox([widgets.HTML("<b>Alerts</b> (one per episode, newest first)"), self.ack_button]),
                self.alerts,
                self.errors,
            ]
        )
        handle.subscribe(self._on_event)
        self.redraw(force=True)

    def _on_metric(self, _: Any) -> None:
        if not self._syncing_metric:  # a reader's choice, not our own update of the options
            self.redraw(force=True)

    def _on_event(self, event: Any) -> None:
        if event.final or time.monotonic() - self._last_draw >= self.refresh_s:
            self.redraw(force=event.final)

    def redraw(self, force: bool = False) -> None:
        """Refresh counters, chart and alerts from the handle (errors are shown, not swallowed)."""
        if not self._draw_lock.acquire(blocking=force):
            return
        try:
            self._last_draw = time.monotonic()
            self._draw()
        except Exception as exc:  # shown in the view: widget callbacks would swallow it
            self.errors.append_stdout(f"live view could not redraw: {type(exc).__name__}: {exc}\n")
        finally:
            self._draw_lock.release()

    def _draw(self) -> None:
        stats = self.handle.stats()
        self.counters.value = _counters_html(stats)
        if stats["state"] == "stopped":  # the final event comes before the handle reports not running
            self.stop_button.disabled = True
        frame = self.handle.df()
        if frame.empty:
            return
        metrics = [c for c in frame.columns if c not in _NOT_METRICS and pd.api.types.is_numeric_dtype(frame[c])]
        if list(self.metric.options) != metrics:
            current = self.metric.value if self.metric.value in metrics else (metrics[0] if metrics else None)
            self._syncing_metric = True
            try:
                self.metric.options = metrics
                self.metric.value = current
            finally:
                self._syncing_metric = False
        self._devices_layer: Any = None
        metric = self.metric.value
        alerts = self.handle.anomalies()
        if metric is None:
            return
        self._draw_chart(frame, alerts, metric)
        self.alerts.value = self._alerts_html(alerts)
        if {"lat", "lon"} <= set(frame.columns):
            self._draw_devices(frame, alerts)

    def _draw_devices(self, frame: pd.DataFrame, alerts: pd.DataFrame) -> None:
        """Devices as dots (red: with alerts not yet acknowledged), on the offline country outlines."""
        from ipyleaflet import GeoJSON, Map

        from codex_jupyter.widgets.basemap import outline_data

        last = frame.dropna(subset=["lat", "lon"]).groupby("device", sort=False)[["lat", "lon"]].last()
        if last.empty:
            return
        open_alerts = alerts[[k not in self._acknowledged for k in _alert_keys(alerts)]] if not alerts.empty else alerts
        counts = open_alerts.device.value_counts() if not open_alerts.empty else pd.Series(dtype=int)
        features = [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [float(row.lon), float(row.lat)]},
                "properties": {
                    "device": str(device),
                    "alerts": int(counts.get(device, 0)),
                    "style": {
                        "fillColor": "#d62728" if counts.get(device, 0) else "#2ca02c",
                        "color": "#333",
                        "weight": 1,
                        "fillOpacity": 0.85,
                    },
                },
            }
            for device, row in last.iterrows()
        ]
        data = {"type": "FeatureCollection", "features": features}
        if self._devices_layer is None:
            # Centre and zoom from the devices' spread (fit_bounds needs the kernel's event loop, and
            # redraws run on the tail's thread).
            span = max(float(last.lat.max() - last.lat.min()), float(last.lon.max() - last.lon.min()), 0.01)
            zoom = int(min(max(math.log2(300 / span), 1), 12))
            center = (float(last.lat.mean()), float(last.lon.mean()))
            world = Map(center=center, zoom=zoom, scroll_wheel_zoom=True, layout={"height": "320px", "width": "100%"})
            world.add(GeoJSON(name="Country outlines (offline)", data=outline_data("offline")))
            self._devices_layer = GeoJSON(name="Devices", data=data, point_style={"radius": 6})
            world.add(self._devices_layer)
            self.device_map.children = (world,)
        else:
            self._devices_layer.data = data

    def _draw_chart(self, frame: pd.DataFrame, alerts: pd.DataFrame, metric: str) -> None:
        ranked = alerts.device.value_counts().index.tolist() if not alerts.empty else []
        devices = (ranked + [d for d in frame.device.unique() if d not in ranked])[: self.max_devices]
        traces = []
        for device in devices:
            rows = frame[frame.device == device]
            traces.append(go.Scatter(x=rows.ts, y=rows[metric], mode="lines", name=str(device)))
        if "is_anomaly" in frame:
            hits = frame[frame.is_anomaly & frame.device.isin(devices)]
            hits = hits[[metric in reason_metrics(why, self.metric.options) for why in hits.reason]]
            shown = frame[frame.device.isin(devices)]  # only the charted devices' readings are filled
            y, missing = alert_marks(shown[metric], hits.index, shown.device)
            traces.extend(alert_traces(hits.ts, y, missing, hits.reason, "anomaly", size=8))
        figure = go.Figure(
            traces,
            layout={
                "height": 360,
                # below the date's second tick line ("Jan 1, 2025"), which a legend at -0.2 covered on a phone
                "legend": {"orientation": "h", "y": -0.3, "yanchor": "top"},
                "title": f"{metric.capitalize()}: the {_devices(len(devices))} with the most alerts",
            },
        )
        # Set the outputs directly: ``with output:`` only captures on the kernel's main thread, and redraws
        # come from the tail's thread.
        self.chart.outputs = (chart_output(figure),)

    def _alerts_html(self, alerts: pd.DataFrame) -> str:
        """The unacknowledged alerts, newest first, as a reader table (a card per alert on a phone).

        Why a reader table: the alerts were a bare table of their own, which a phone squeezed into columns a word
        wide, each alert 100 to 200 px tall with its time broken over three lines; a reader table shows a card per
        row on a phone (see :mod:`.table`)."""
        if alerts.empty:
            return "<i>no alerts yet</i>"
        shown = alerts[[k not in self._acknowledged for k in _alert_keys(alerts)]].head(self.alert_rows)
        self._shown = list(zip(shown.device.astype(str), shown.ts.astype(str), strict=True))
        if shown.empty:
            return "<i>all alerts acknowledged</i>"
        rows = pd.DataFrame(
            {
                "onset": [_when(ts) for ts in shown.ts],
                "device": shown.device.astype(str).to_numpy(),
                "surprise": shown.surprise.astype(float).to_numpy(),
                "episode": [
                    episode_status(s, e, n)
                    for s, e, n in zip(shown.episode_start, shown.episode_end, shown.episode_new_normal, strict=True)
                ],
                "reason": shown.reason.astype(str).to_numpy(),
            }
        )
        table = reader_html(rows, len(rows), _SURPRISE, formats={"surprise": "{:.1f}"})
        return f"<div class='codex-alerts'>{table}</div>"

    def _acknowledge(self, _: Any) -> None:
        self._acknowledged.update(getattr(self, "_shown", []))
        self.redraw(force=True)


def _devices(count: int) -> str:
    return "device" if count == 1 else f"{count} devices"


def _when(ts: Any) -> str:
    """A reading's time to the second, with its zone's name when it has one ("2025-01-01 16:24:00 UTC")."""
    return pd.Timestamp(ts).strftime("%Y-%m-%d %H:%M:%S %Z").strip()


def _alert_keys(alerts: pd.DataFrame) -> list[tuple[str, str]]:
    return list(zip(alerts.device.astype(str), alerts.ts.astype(str), strict=True))


_NOT_METRICS = {
    *("ts", "device", "lat", "lon", "latitude", "longitude", "anomaly_score", "surprise", "is_anomaly", "reason"),
    *("episode_id", "episode_start", "episode_end", "episode_new_normal"),
}


def _counters_html(stats: dict[str, Any]) -> str:
    colour = _STATE_COLOURS.get(stats["state"], "#333")
    lag = sum(stats["lag"].values()) if stats["lag"] else 0
    cells = [
        ("state", f"<span style='color:{colour};font-weight:600'>{escape(stats['state'])}</span>"),
        ("records", f"{stats['records']:,}"),
        ("records/s", f"{stats['records_per_s']:,.0f}"),
        ("lag", f"{lag:,}"),
        ("anomalies", f"{stats['anomalies']:,}"),
        ("bad records", f"{stats['bad_records']:,}"),
        ("reconnects", f"{stats['reconnects']:,}"),
    ]
    if stats.get("workers"):  # a fast stream scored on more cores (see TailHandle's workers)
        cells.append(("scoring workers", f"{stats['workers']:,}"))
    body = "".join(
        f"<div style='padding:4px 12px'><div style='font-size:11px;color:#666'>{k}</div>"
        f"<div style='font-size:18px'>{v}</div></div>"
        for k, v in cells
    )
    error = f"<div style='color:#b00;font-size:12px'>{escape(stats['last_error'])}</div>" if stats["last_error"] else ""
    return f"<div class='codex-tail-counters' style='display:flex;flex-wrap:wrap'>{body}</div>{error}"
