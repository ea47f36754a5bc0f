"""The tail engine on the simulated fleet and on scripted payloads: decode, detect, buffer, stop."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from codex_jupyter import StreamingDetector, tail
from codex_jupyter.analytics.anomaly.episodes import episode_recall
from codex_jupyter.pipelines.decode import FieldMap, decode
from codex_jupyter.pipelines.tail import TailHandle
from codex_jupyter.sources.streams import RecordBatch, StreamConfigError, StreamUnavailable, open_stream


def test_the_simulator_is_deterministic_whatever_the_poll_sizes() -> None:
    a = open_stream("sim://fleet?devices=7&rate=0&seed=3")
    b = open_stream("sim://fleet?devices=7&rate=0&seed=3")
    small = pd.concat([pd.DataFrame(a.poll(5, 0).columns) for _ in range(60)], ignore_index=True)
    large = pd.concat([pd.DataFrame(b.poll(100, 0).columns) for _ in range(3)], ignore_index=True)
    pd.testing.assert_frame_equal(small, large)
    assert set(small.columns) >= {
        "ts_ms",
        "device_id",
        "temperature",
        "vibration",
        "humidity",
        "lat",
        "lon",
        "fault_type",
    }


def test_simulated_faults_are_labelled_and_caught() -> None:
    handle = tail("sim://fleet?devices=30&rate=0&seed=11", max_records=60_000, window=3000)
    assert handle.wait(60)
    seen = handle.df()
    assert handle.stats()["records"] == 60_000 and handle.stats()["state"] == "stopped"
    recall = episode_recall(seen, series="device", label="fault_type")
    assert set(recall.index) >= {"spike", "stuck", "dropout"}
    assert recall.recall["all"] > 0.6
    alerts = handle.anomalies()
    assert alerts.ts.is_monotonic_decreasing and alerts.reason.str.len().gt(0).all()


def test_bad_records_are_kept_with_reasons_and_the_rest_flows() -> None:
    good = [
        json.dumps({"ts": 1_700_000_000_000 + i * 60_000, "deviceId": "d1", "payload": {"value": 20.0 + i % 3}})
        for i in range(90)
    ]
    bad = [
        b"{not json",
        json.dumps({"ts": 1, "deviceId": "d1"}),
        json.dumps({"ts": 2, "deviceId": "d1", "payload": {"value": "high"}}),
    ]
    batch = RecordBatch(
        payloads=[g.encode() for g in good] + [bad[0], bad[1].encode(), bad[2].encode()],
        partitions=["t:0"] * 93,
        keys=["d1"] * 93,
    )
    decoded = decode(batch, FieldMap.parse("ts=ts,device=deviceId,value=payload.value"))
    assert len(decoded.frame) == 90 and decoded.metrics == ["value"]
    reasons = [b["reason"] for b in decoded.bad]
    assert reasons[0].startswith("not JSON") and reasons[1] == "missing field 'payload.value'"
    assert reasons[2] == "not a number: 'high'"


class FlakyStream:
    """Scripted source: unavailable twice, then serves JSON records, with commits counted."""

    url = "scripted://"

    def __init__(self) -> None:
        self.failures, self.commits, self.sent = 2, 0, 0

    def open(self) -> None:
        if self.failures:
            self.failures -= 1
            raise StreamUnavailable("broker down")

    def poll(self, max_records: int, timeout: float) -> RecordBatch:
        n = min(max_records, 50, 200 - self.sent)
        payloads = [
            json.dumps({"ts": (self.sent + i) * 1000, "device": "a", "v": float(i % 5)}).encode() for i in range(n)
        ]
        self.sent += n
        return RecordBatch(payloads=payloads)

    def commit(self) -> None:
        self.commits += 1

    def lag(self) -> dict[str, int]:
        return {"t:0": 200 - self.sent}

    def close(self) -> None:
        pass


def test_reconnects_with_backoff_and_commits_after_each_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("codex_jupyter.pipelines.tail.BACKOFF_START", 0.01)
    stream = FlakyStream()
    states: list[str] = []
    handle = TailHandle("scripted://", stream=stream, max_records=200)
    handle.subscribe(lambda event: states.append(event.state))
    handle.start()
    assert handle.wait(10)
    stats = handle.stats()
    assert stats["reconnects"] == 2 and stats["records"] == 200 and stream.commits == 4
    assert "reconnecting" in states and states[-1] == "stopped" and stats["lag"] == {"t:0": 0}


def test_the_buffer_keeps_the_last_window_rows_per_device() -> None:
    handle = tail("sim://fleet?devices=5&rate=0", max_records=5_000, window=100, detector="none")
    assert handle.wait(30)
    frame = handle.df()
    assert frame.groupby("device").size().eq(100).all() and "anomaly_score" not in frame


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sim://fleet?devices=x", "devices='x' is not a whole number"),
        ("sim://fleet?speed=3", "unknown sim:// option 'speed'"),
        ("sim://fleet?faults=fire", "unknown fault 'fire'"),
        ("ftp://host/topic", "unknown stream scheme 'ftp'"),
        ("sim://fleet?seed=1&seed=2", "option 'seed' is given more than once"),
    ],
)
def test_bad_urls_say_what_to_change(url: str, message: str) -> None:
    with pytest.raises(StreamConfigError, match=message):
        open_stream(url)


def test_iot_tail_magic_returns_a_handle_and_stops() -> None:
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "codex_jupyter")
    handle = ip.run_line_magic("iot_tail", "sim://fleet?devices=3&rate=2000 --duration 30 -o live")
    assert ip.user_ns["live"] is handle and handle.running
    assert ip.run_line_magic("iot_tail", "--stop") == "stopped 1 tail(s)"
    assert not handle.running and handle.stats()["state"] == "stopped"
    for line, fragment in [
        ("", "give a stream URL"),
        ("sim://fleet --detector magic", "unknown --detector 'magic'"),
        ("sim://fleet --window 0", "window must be at least 1"),
        ("sim://fleet --duration 1 --duration 2", "--duration is given more than once"),
        ("sim://fleet --max-records 1 --max-records 2", "--max-records is given more than once"),
        ("sim://fleet --workers -1", "workers is a number of processes"),
    ]:
        with pytest.raises(UsageError, match=fragment):
            ip.run_line_magic("iot_tail", line)
    assert np.isfinite(handle.stats()["elapsed_s"])


@pytest.mark.parametrize(
    ("options", "name"),
    [
        ({"window": 0}, "window"),
        ({"duration": -1}, "duration"),
        ({"fields": "value"}, "fields"),
        ({"workers": -1}, "workers"),
    ],
)
def test_tail_from_python_names_its_parameters_not_the_magics_flags(options: dict, name: str) -> None:
    with pytest.raises(StreamConfigError) as err:
        tail("sim://fleet?devices=2&rate=0", **options).wait(5)
    assert str(err.value).startswith(name) and "--" not in str(err.value)


def test_live_view_draws_and_disables_stop_when_the_tail_ends() -> None:
    from codex_jupyter.widgets.stream import LiveTailView

    handle = tail("sim://fleet?devices=6&rate=0&seed=2", max_records=3_000)
    view = LiveTailView(handle, refresh_s=0.0)
    assert handle.wait(30)
    handle.wait(1)
    assert view.stop_button.disabled and "stopped" in view.counters.value
    assert view.chart.outputs and not view.errors.outputs
    assert len(view._devices_layer.data["features"]) == 6


def test_alerts_are_episodes_that_close_when_the_device_is_back_to_normal() -> None:
    from codex_jupyter.widgets.stream import LiveTailView

    handle = tail("sim://fleet?devices=30&rate=0&seed=11", max_records=60_000, window=3000)
    view = LiveTailView(handle, refresh_s=0.0)
    assert handle.wait(60)
    handle.wait(1)
    alerts = handle.anomalies()
    seen = handle.df()
    # One alert per episode: never two alerts for the same device episode, far fewer alerts than unusual readings.
    assert not alerts.duplicated(["device", "episode_id"]).any()
    assert (seen.episode_id > 0).sum() > 2 * len(alerts)
    closed = alerts.dropna(subset=["episode_end"])
    assert len(closed) > 0 and (closed.episode_end >= closed.episode_start).all()
    # A dropout opens an episode in every metric; its alert shows one metric's episode and the row where they close
    # may show another's: it must still close once the device reports again.
    old = alerts[alerts.reason.str.contains("missing readings") & (alerts.ts < seen.ts.max() - pd.Timedelta("3h"))]
    assert len(old) > 0 and old.episode_end.notna().all(), old
    assert "<th>Episode</th>" in view.alerts.value and "ended" in view.alerts.value
    # A vibration shift the detector learnt closes at its new level, not back to normal: the table says so.
    learnt = closed[closed.episode_new_normal.astype(bool)]
    assert len(learnt) and learnt.reason.str.contains("vibration").all(), closed[["reason", "episode_new_normal"]]
    assert not closed.episode_new_normal[closed.reason.str.contains("missing readings")].astype(bool).any()
    view.alert_rows = len(alerts)
    view.redraw(force=True)
    assert "new normal from" in view.alerts.value


def test_every_alert_closes_once_its_device_is_back() -> None:
    """A device back from a dropout closes every metric's episode on one row, which shows only one of them: the
    alert table closes them all (three alerts of this run stayed open forever when it read the rows)."""
    handle = tail("sim://fleet?devices=20&rate=0&seed=7", max_records=40_000, window=3000)
    assert handle.wait(60)
    alerts, seen = handle.anomalies(), handle.df()
    last = alerts.device.map(seen.groupby("device").ts.max())
    assert len(alerts) > 50
    stale = alerts[alerts.episode_end.isna() & (alerts.ts < last - pd.Timedelta("3h"))]
    assert stale.empty, stale[["device", "ts", "reason"]]
    # Episode times are in the stream's zone (UTC), comparable with the readings' times.
    assert (alerts.episode_start == alerts.ts).all()


class CommitWatch:
    """A simulated stream that checks the tail's delivery promise at every commit: everything polled so far has
    reached the listeners (the engine reads a batch ahead while workers score the last)."""

    def __init__(self, url: str) -> None:
        self.inner = open_stream(url)
        self.polled = self.delivered = self.commits = 0
        self.early: list[tuple[int, int]] = []  # (polled, delivered) at a commit that came too soon

    def poll(self, max_records: int, timeout: float) -> RecordBatch:
        batch = self.inner.poll(max_records, timeout)
        self.polled += len(batch)
        return batch

    def commit(self) -> None:
        self.commits += 1
        if self.delivered != self.polled:
            self.early.append((self.polled, self.delivered))

    def __getattr__(self, name: str) -> object:  # open, close, lag, finished
        return getattr(self.inner, name)


def test_a_fast_stream_is_scored_by_workers_with_the_alerts_one_process_raises() -> None:
    url = "sim://fleet?devices=20&rate=0&seed=5"
    stream = CommitWatch(url)
    handle = TailHandle(url, stream=stream, batch_size=2_000, window=50, workers=1, max_records=3_000_000)
    handle.subscribe(lambda event: setattr(stream, "delivered", stream.delivered + len(event.rows)))
    handle.start()
    scoring_on_workers = False
    while not scoring_on_workers and handle.running:
        scoring_on_workers = handle.stats()["workers"] == 1
        handle.wait(0.05)
    started = handle.stats()["records"]
    while handle.running and handle.stats()["records"] < started + 100_000:
        handle.wait(0.05)
    handle.stop()
    assert handle.wait(30) and scoring_on_workers
    workers = handle._detector._procs
    assert all(proc.poll() is not None for proc in workers)  # stopped with the tail
    records = handle.stats()["records"]
    assert stream.commits > 1 and not stream.early and stream.delivered == stream.polled == records
    # The same records scored in one process: the same alerts, episode for episode.
    alone = tail(url, batch_size=7_000, window=50, workers=0, max_records=records)
    assert alone.wait(120) and alone.stats()["workers"] == 0
    key = ["device", "ts"]
    expected = alone.anomalies().sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(handle.anomalies().sort_values(key).reset_index(drop=True), expected)
    assert len(expected) >= 10 and handle.stats()["last_error"] == ""


def test_workers_wait_for_the_detector_to_settle_its_cycle(monkeypatch: pytest.MonkeyPatch) -> None:
    """Until the cycle is settled the series stay in the tail's own process, however ready the workers are."""
    monkeypatch.setattr(StreamingDetector, "cycle_settled", property(lambda self: False))
    handle = tail("sim://fleet?devices=10&rate=0&seed=4", batch_size=1_000, window=20, workers=1, max_records=3_000_000)
    while handle.running and (handle._starting is None or not handle._starting.ready()):
        handle.wait(0.05)
    started = handle.stats()["records"]
    while handle.running and handle.stats()["records"] < started + 20_000:
        handle.wait(0.05)
    assert handle.stats()["workers"] == 0 and isinstance(handle._detector, StreamingDetector)
    procs = list(handle._starting._procs)
    handle.stop()
    assert handle.wait(30) and handle.stats()["last_error"] == ""
    assert all(proc.poll() is not None for proc in procs)  # the idle workers stopped with the tail


def test_workers_that_cannot_start_leave_the_tail_scoring_in_its_own_process(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr("codex_jupyter.analytics.anomaly.parallel._WORKER", "codex_jupyter.no_such_worker")
    caplog.set_level("WARNING", logger="codex_jupyter.pipelines.tail")
    handle = tail("sim://fleet?devices=10&rate=0&seed=4", batch_size=1_000, window=20, workers=1, max_records=150_000)
    assert handle.wait(120)
    stats = handle.stats()
    assert stats["records"] == 150_000 and stats["workers"] == 0 and stats["last_error"] == "" and stats["anomalies"]
    assert any("scoring in one process: the workers did not start" in r.getMessage() for r in caplog.records)
