"""The tail engine: poll a stream, decode, detect, keep a bounded buffer, tell listeners.

``tail(url, ...)`` starts a background thread and returns a :class:`TailHandle`
at once, so the kernel stays usable; ``handle.wait()`` blocks until the tail
ends (``duration`` or ``max_records`` reached, or ``stop()``). The engine knows
no widgets: views subscribe with ``handle.subscribe(callback)`` and get a
:class:`TailEvent` after every processed batch, from the engine's thread.

Delivery: a batch is committed to the source only after it is decoded,
scored, buffered and handed to every subscriber (at-least-once: a tail
killed before the commit gets that batch again when it is started again with
the same Kafka group, Kinesis group or MQTT client id). A broker that goes
away puts the tail in ``reconnecting``; it retries with exponential backoff
(capped) and resumes from the last commit, so nothing is lost.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from typing import Any

import pandas as pd

from codex_jupyter.analytics.anomaly import DetectorSettings, StreamingDetector
from codex_jupyter.analytics.anomaly.parallel import ParallelDetector, ScoringWorkerError, default_workers
from codex_jupyter.pipelines.decode import Decoded, FieldMap, decode
from codex_jupyter.sources.streams.base import (
    Stream,
    StreamConfigError,
    StreamUnavailable,
    open_stream,
    stream_name,
)

log = logging.getLogger(__name__)

#: Alert episodes and bad records kept for review (the newest); older ones are counted, not kept.
MAX_ALERTS = 5_000
MAX_BAD = 1_000
BACKOFF_START, BACKOFF_MAX = 0.5, 10.0
#: Records polled at most per batch. Every batch pays a fixed part of the detector's work (each series' recent
#: history re-read for its rolling medians, frames built and filtered), so a stream read at full speed goes
#: about 15 % faster with 50,000 than with 20,000 (``benchmarks/anomaly.py --only speed``); a paced stream's
#: batches are what is due, usually far fewer.
BATCH_SIZE = 50_000
#: Full batches in a row after which the series are scored by worker processes (see ``workers``): a stream read
#: from a backlog or at full speed, not a paced one (a live dashboard's), which one core keeps up with.
FULL_BATCHES_BEFORE_WORKERS = 3
#: With workers, the tail's own process scores this many series for each a worker scores: it also reads, decodes and
#: keeps the batches (on the simulated fleet about a third of the work; 0.6 to 1.0 measured alike, within noise).
OWN_SHARE = 0.8
#: With workers, the next batch is read while they score the last, so a commit (which covers every record read)
#: waits until nothing is being scored: at most this often, in seconds.
COMMIT_EVERY_S = 1.0


@dataclass(frozen=True)
class TailEvent:
    """What changed in one processed batch (delivered to subscribers)."""

    rows: pd.DataFrame
    alerts: pd.DataFrame
    bad: int
    state: str
    final: bool = False


@dataclass
class _Polled:
    """A batch read and decoded, on its way through the engine."""

    records: int
    decoded: Decoded
    rows: pd.DataFrame | None  # the rows to score (every metric present), None when nothing scores them
    start: float  # when it was polled (time.monotonic)


@dataclass
class _Counters:
    records: int = 0
    good: int = 0
    bad: int = 0
    alerts: int = 0
    reconnects: int = 0
    started: float = field(default_factory=time.monotonic)
    rate: float = 0.0
    last_error: str = ""


class TailHandle:
    """A running (or finished) tail: what it has seen, its alerts, its health, and how to stop it."""

    def __init__(
        self,
        url: str,
        fields: str | None = None,
        window: int = 500,
        detector: str | None = "auto",
        duration: float | None = None,
        max_records: int | None = None,
        batch_size: int = BATCH_SIZE,
        poll_timeout: float = 0.2,
        stream: Stream | None = None,
        workers: int | None = None,
        **settings: Any,
    ) -> None:
        """``settings`` are detector settings (``threshold``, ``period`` ...) and client settings for the
        stream (Kafka property names such as ``**{"security.protocol": "SASL_SSL"}``), told apart by name.

        ``workers``: processes that score some of the devices' series beside the tail's own once the stream comes
        faster than one core scores it (:data:`FULL_BATCHES_BEFORE_WORKERS` full batches in a row), with the
        scores one process gives. None: one a usable core beyond the first (up to four), none on a single core;
        0: always score in the tail's own thread. They start in the background (2-4 s) while the tail goes on
        scoring, and stop with the tail."""
        if window < 1:
            raise StreamConfigError("window must be at least 1 row per device")
        if duration is not None and duration <= 0:
            raise StreamConfigError("duration must be a positive number of seconds")
        if max_records is not None and max_records <= 0:
            raise StreamConfigError("max_records must be a positive number")
        if workers is not None and workers < 0:
            raise StreamConfigError("workers is a number of processes (0: score in the tail's thread) or None")
        self.url = url
        self.name = stream_name(url)
        self.window = window
        self.duration = duration
        self.max_records = max_records
        self.batch_size = batch_size
        self.poll_timeout = poll_timeout
        self._fields = FieldMap.parse(fields)
        self._method = None if detector in (None, "none") else detector
        detector_fields = {f.name for f in dataclass_fields(DetectorSettings)}
        self._detector_settings = {k: v for k, v in settings.items() if k in detector_fields}
        client_settings = {k: v for k, v in settings.items() if k not in detector_fields}
        if stream is not None and client_settings:
            raise StreamConfigError("give client settings to open_stream() when passing stream=, not to tail()")
        self._detector: StreamingDetector | ParallelDetector | None = None
        self._workers = default_workers() if workers is None else workers
        self._starting: ParallelDetector | None = None  # workers started, not scoring yet
        self._full_batches = 0  # full batches in a row so far
        self._scoring: _Polled | None = None  # the batch the workers are scoring (see _step_overlapped)
        self._committed_at = time.monotonic()
        self._uncommitted = False  # a batch was finished since the last commit
        self._finished_at = 0.0  # when the last batch was finished (time.monotonic)
        self._stream = stream if stream is not None else open_stream(url, **client_settings)
        self._frames: list[pd.DataFrame] = []
        self._buffered = 0
        self._alerts: deque[dict[str, Any]] = deque(maxlen=MAX_ALERTS)
        self._open: dict[tuple[Any, Any], dict[str, Any]] = {}  # alerts whose episode has not ended, by onset
        self._bad: deque[dict[str, Any]] = deque(maxlen=MAX_BAD)
        self._listeners: list[Callable[[TailEvent], None]] = []
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._done = threading.Event()
        self._counters = _Counters()
        self._lag: dict[str, int] = {}
        self.state = "starting"
        self._thread = threading.Thread(target=self._run, name=f"codex-tail {url}", daemon=True)

    # -- public API --------------------------------------------------------------------------------
    def start(self) -> TailHandle:
        """Start the background thread (``tail()`` does this for you)."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the tail to stop after the current batch; returns at once."""
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the tail has ended; False if ``timeout`` passed first."""
        return self._done.wait(timeout)

    @property
    def running(self) -> bool:
        """True until the tail has ended."""
        return not self._done.is_set()

    def subscribe(self, callback: Callable[[TailEvent], None]) -> None:
        """Call ``callback(event)`` after every batch (from the engine's thread)."""
        with self._lock:
            self._listeners.append(callback)

    def unsubscribe(self, callback: Callable[[TailEvent], None]) -> None:
        """Stop calling ``callback``."""
        with self._lock:
            if callback in self._listeners:
                self._listeners.remove(callback)

    def df(self) -> pd.DataFrame:
        """What was seen: the last ``window`` rows per device, with scores when a detector runs."""
        with self._lock:
            self._compact()
            return self._frames[0].copy() if self._frames else pd.DataFrame()

    def anomalies(self) -> pd.DataFrame:
        """Alerts, newest first (the last 5,000): one per episode, raised at its onset.

        Each row is the onset reading with its score and reason, plus
        ``episode_id``, ``episode_start`` and ``episode_end`` (NaT while the
        episode is still open; filled in when it closes) and ``episode_new_normal`` (True once it closed with the
        series at a new level, learnt as its new normal; False while open or when the series came back).
        """
        with self._lock:
            return pd.DataFrame(list(self._alerts)[::-1])

    def bad_records(self) -> pd.DataFrame:
        """Records that could not be decoded: raw payload and reason (the last 1,000)."""
        with self._lock:
            return pd.DataFrame(list(self._bad), columns=["partition", "key", "payload", "reason"])

    def stats(self) -> dict[str, Any]:
        """Health: records and records/s, lag per partition/shard, bad records, reconnects, state, and how many
        worker processes score the series (0: the tail's own thread; see ``workers``)."""
        c = self._counters
        with self._lock:
            return {
                "state": self.state,
                "records": c.records,
                "records_per_s": round(c.rate, 1),
                "bad_records": c.bad,
                "anomalies": c.alerts,
                "reconnects": c.reconnects,
                "workers": self._detector.workers if isinstance(self._detector, ParallelDetector) else 0,
                "lag": dict(self._lag),
                "elapsed_s": round(time.monotonic() - c.started, 2),
                "last_error": c.last_error,
            }

    def __repr__(self) -> str:
        s = self.stats()
        return (
            f"<tail {self.url} · {s['state']} · {s['records']:,} records · {s['anomalies']:,} anomalies · "
            f"{s['bad_records']:,} bad>"
        )

    # -- engine ------------------------------------------------------------------------------------
    def _run(self) -> None:
        delay = BACKOFF_START
        opened = False
        try:
            while not self._should_end():
                try:
                    if not opened:
                        self._stream.open()
                        opened = True
                        self._set_state("running")
                        log.info("tail running", extra=self._context())
                        delay = BACKOFF_START
                    self._step()
                except StreamUnavailable as exc:
                    self._drain(commit=False)  # its records are read again from the last commit
                    opened = self._reconnect(str(exc), delay)
                    delay = min(delay * 2, BACKOFF_MAX)
            self._drain(commit=opened)
        except Exception as exc:  # a bug or a config error: end the tail, keep the message for the user
            log.exception("tail failed", extra=self._context())
            self._counters.last_error = f"{type(exc).__name__}: {exc}"
        finally:
            try:
                self._stream.close()
            finally:
                for scorer in (self._detector, self._starting):
                    if isinstance(scorer, ParallelDetector):
                        scorer.close()
                self._set_state("stopped")
                c = self._counters
                log.info("tail stopped", extra=self._context(records=c.records, alerts=c.alerts, bad=c.bad))
                self._notify(TailEvent(pd.DataFrame(), pd.DataFrame(), 0, "stopped", final=True))
                self._done.set()

    def _context(self, **fields: Any) -> dict[str, Any]:
        """The ``extra=`` of this tail's log records: which stream (its name, never the raw URL), and ``fields``."""
        return {"surface": "stream", "stream": self.name, **fields}

    def _reconnect(self, message: str, delay: float) -> bool:
        log.info("tail reconnecting in %.1f s: %s", delay, message, extra=self._context())
        self._counters.reconnects += 1
        self._counters.last_error = message
        self._set_state("reconnecting")
        self._notify(TailEvent(pd.DataFrame(), pd.DataFrame(), 0, "reconnecting"))
        try:
            self._stream.close()
        except Exception:  # closing a broken connection may fail; reopening is what matters
            log.debug("closing the stream after a failure raised", exc_info=True, extra=self._context())
        self._stop.wait(delay)
        return False

    def _should_end(self) -> bool:
        c = self._counters
        if self._stop.is_set():
            return True
        if self.duration is not None and time.monotonic() - c.started >= self.duration:
            return True
        if self.max_records is not None and c.records >= self.max_records:
            return True
        return bool(getattr(self._stream, "finished", False))

    def _step(self) -> None:
        if isinstance(self._detector, ParallelDetector):
            self._step_overlapped(self._detector)
            return
        polled = self._poll()
        if polled is None:
            if self._starting is not None:  # caught up: a good moment to hand the series over
                self._scale(full=False)
            return
        scored = None if polled.rows is None else self._detector.update(polled.rows)
        self._scale(full=polled.records >= self.batch_size)
        self._finish(polled, scored)
        self._commit()

    def _step_overlapped(self, scorer: ParallelDetector) -> None:
        """One step with workers: read the next batch while they score the last, then hand them the new one and
        finish the last meanwhile (buffer, alerts, listeners). Every ``COMMIT_EVERY_S`` the new one is finished too,
        and everything read so far committed."""
        last = self._scoring
        polled = self._poll(reading=0 if last is None else last.records)
        self._scoring = None
        if polled is None:
            if last is not None:
                self._finish(last, scorer.collect())
                self._commit()
            return
        done = scorer.collect() if last is not None else None
        if polled.rows is not None:
            scorer.submit(polled.rows)
            self._scoring = polled
        if last is not None:
            self._finish(last, done)
        if polled.rows is None:
            self._finish(polled, None)
        if time.monotonic() - self._committed_at >= COMMIT_EVERY_S:
            self._drain(commit=True)

    def _drain(self, commit: bool) -> None:
        """Finish the batch the workers are scoring, if any; then commit what is finished (when ``commit``)."""
        last, self._scoring = self._scoring, None
        if last is not None:
            assert isinstance(self._detector, ParallelDetector)
            self._finish(last, self._detector.collect())
        if commit and self._uncommitted:
            self._commit()

    def _commit(self) -> None:
        self._stream.commit()
        self._committed_at = time.monotonic()
        self._uncommitted = False
        self._lag = self._stream.lag()

    def _poll(self, reading: int = 0) -> _Polled | None:
        """The next batch, decoded, with its rows ready to score; None when there is none (or ``max_records``
        are read, counting the ``reading`` records still being scored)."""
        want = self.batch_size
        if self.max_records is not None:
            want = min(want, self.max_records - self._counters.records - reading)
            if want <= 0:
                return None
        start = time.monotonic()
        batch = self._stream.poll(want, self.poll_timeout)
        if len(batch) == 0:
            self._lag = self._stream.lag()
            return None
        known = frozenset(self._detector.values) if self._detector is not None else frozenset()
        decoded = decode(batch, self._fields, known)
        return _Polled(len(batch), decoded, self._to_score(decoded), start)

    def _to_score(self, decoded: Decoded) -> pd.DataFrame | None:
        """The decoded rows with every metric the detector knows (NaN where missing), or None: nothing to score."""
        rows = decoded.frame
        if rows.empty or self._method is None or not decoded.metrics:
            return None
        if self._detector is None:
            self._detector = StreamingDetector(
                decoded.metrics, by="device", time="ts", method=self._method, **self._detector_settings
            )
        missing = [m for m in self._detector.values if m not in rows]
        return rows.assign(**{m: float("nan") for m in missing}) if missing else rows

    def _finish(self, polled: _Polled, scored: pd.DataFrame | None) -> None:
        """Keep a scored batch's rows and alerts, count it and tell the listeners (not yet committed)."""
        decoded = polled.decoded
        rows, alerts = decoded.frame, pd.DataFrame()
        if scored is not None:
            rows = pd.concat([polled.rows, scored], axis=1)
            alerts = rows[rows.is_anomaly]
        with self._lock:
            if not rows.empty:
                self._frames.append(rows)
                self._buffered += len(rows)
                if self._buffered > 4 * self.window * max(rows.device.nunique(), 1) + 50_000:
                    self._compact()
            self._record_alerts(alerts)
            self._bad.extend(decoded.bad)
            c = self._counters
            c.records += polled.records
            c.good += len(rows)
            c.bad += len(decoded.bad)
            c.alerts += len(alerts)
            # From its poll, or the previous batch's end if later (with workers, the next poll comes first).
            now = time.monotonic()
            elapsed = max(now - max(polled.start, self._finished_at), 1e-6)
            self._finished_at = now
            c.rate = polled.records / elapsed if c.rate == 0 else 0.8 * c.rate + 0.2 * polled.records / elapsed
        log.debug("batch", extra=self._context(records=polled.records, alerts=len(alerts), bad=len(decoded.bad)))
        # subscribers before the commit: what they do with a batch (write it out, alert) must not be lost in a crash
        self._notify(TailEvent(rows, alerts, len(decoded.bad), self.state))
        self._uncommitted = True

    def _scale(self, full: bool) -> None:
        """Start workers after enough full batches in a row; hand the series over to them once they are ready and
        the detector's cycle is settled (see :class:`.ParallelDetector`)."""
        if self._workers < 1 or not isinstance(self._detector, StreamingDetector):
            return
        try:
            if self._starting is None:
                self._full_batches = self._full_batches + 1 if full else 0
                if self._full_batches >= FULL_BATCHES_BEFORE_WORKERS:
                    self._starting = ParallelDetector(self._workers, share=OWN_SHARE)
                    log.info("tail starting %d scoring workers", self._workers, extra=self._context())
            elif self._detector.cycle_settled and self._starting.ready():
                self._starting.take_over(self._detector)
                self._detector, self._starting = self._starting, None
                log.info("tail scoring on %d workers", self._detector.workers, extra=self._context())
        except (OSError, ScoringWorkerError) as exc:  # no workers here (a sandbox, a broken install): one core it is
            log.warning("tail scoring in one process: the workers did not start (%s)", exc, extra=self._context())
            if self._starting is not None:
                self._starting.close()
            self._starting, self._workers = None, 0

    def _record_alerts(self, alerts: pd.DataFrame) -> None:
        """Add new episodes' alerts and close the ones whose episode ended in this batch (under the lock)."""
        names = list(alerts.columns)
        # Series.tolist() gives the Python values (float, int, Timestamp) to_dict("records") would, without
        # building a row object per alert.
        for values in zip(*(alerts[name].tolist() for name in names), strict=True):
            alert = dict(zip(names, values, strict=True))
            self._alerts.append(alert)
            self._open[(alert["device"], alert["episode_start"])] = alert
        if self._detector is None or not self._open:
            return
        # Every metric's closed episodes, not the rows' episode_end: a row shows one metric's episode, and when a
        # device comes back from a dropout all its metrics' episodes close on one row (the others' alerts stayed
        # open). Matched on the device and the episode's onset, not its id: when a dropout opened an episode in
        # every metric, the alert shows one metric's id.
        closed = self._detector.closed_episodes
        for device, start, end, learnt in zip(
            closed.device.tolist(),
            closed.episode_start.tolist(),
            closed.episode_end.tolist(),
            closed.episode_new_normal.tolist(),
            strict=True,
        ):
            alert = self._open.pop((device, start), None)
            if alert is not None:
                alert["episode_end"] = end
                alert["episode_new_normal"] = learnt

    def _compact(self) -> None:
        """Keep the last ``window`` rows per device (called under the lock)."""
        if len(self._frames) <= 1 and self._buffered <= self.window:
            return
        frame = pd.concat(self._frames, ignore_index=True) if len(self._frames) > 1 else self._frames[0]
        frame = frame.groupby("device", sort=False).tail(self.window).reset_index(drop=True)
        self._frames = [frame]
        self._buffered = len(frame)

    def _set_state(self, state: str) -> None:
        with self._lock:
            self.state = state

    def _notify(self, event: TailEvent) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for callback in listeners:
            try:
                callback(event)
            except Exception:  # a view's bug must not stop the stream
                log.exception("tail listener %r failed", callback, extra=self._context())


_running: list[TailHandle] = []


def tail(url: str, **options: Any) -> TailHandle:
    """Start tailing ``url`` in the background and return its handle (see :class:`TailHandle`)."""
    handle = TailHandle(url, **options).start()
    _running.append(handle)
    return handle


def stop_all() -> int:
    """Stop every running tail; returns how many were running."""
    active = [h for h in _running if h.running]
    for handle in active:
        handle.stop()
    for handle in active:
        handle.wait(10)
    _running.clear()
    return len(active)
