"""Anomaly detection for one or many series: batch (`detect_anomalies`) and streaming (`StreamingDetector`).

Every detector is *causal*: a point is judged only against readings before it,
so the streaming detector and the batch path give the same results however a
stream is split, and a score never changes once given. All series are scored
together with vectorised rolling medians (see :mod:`.rolling`), with bounded
memory per series.

Scores are calibrated in two steps: each statistic becomes a raw surprise
(``-ln P`` under a normal model, scaled by the series' own recent spread),
then :mod:`.calibration` judges that surprise against the series' own past
surprises (a peaks-over-threshold tail fit with a prior), because real series
are not normal. ``surprise`` is the calibrated ``-log10 P``; ``anomaly_score``
is ``1 - P``, rising without saturating beyond ``P = 1e-9``. Alerts are
episodes (:mod:`.episodes`): ``is_anomaly`` marks the first reading of an
unusual stretch only. Each metric of a series has its own episodes, so a
problem in one metric is not hidden by an episode still open in another.

Detectors (the choice follows what leaders of public streaming benchmarks do:
robust, self-normalising statistics with few knobs rather than fitted models):

- ``zscore``: robust z-score, distance from the rolling median in MADs.
- ``seasonal``: the same on the residual from the median of the last three
  cycles (the cycle length is inferred from the time step: hourly data ->
  daily cycle); ``auto`` uses it where it explains the series better (smaller
  recent spread) than the plain median, and also tries the previous reading
  (random walks, prices) and the previous reading plus this point of the
  cycle's usual change (a season on a trend).
- ``level_shift``: the median of the last few readings against the plain
  rolling median.
- ``stuck``: a run of identical readings, scored against how often the series
  repeated a value before the run (so integer counts are not flagged for it).
- missing readings (NaN): a run of them, against how often the series missed
  a reading before (``flag_missing``).
- ``iforest``: IsolationForest over several columns at once (batch only).

This module holds the entry points; the baselines and their statistics live in :mod:`.baselines`, runs of
repeats and gaps in :mod:`.runs`, per-series state in :mod:`.state`, the knobs in :mod:`.settings`, the days
left out (``holidays=``) in :mod:`.holiday_calendar`, the reading of time columns in :mod:`.times`, and the
step back to the level before an alert (the end of a learnt shift, no new alert) in :mod:`.returns`.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

import codex_jupyter.analytics.anomaly.rolling as rl
from codex_jupyter.analytics.anomaly import baselines, returns, runs
from codex_jupyter.analytics.anomaly.baselines import MAD_TO_SD
from codex_jupyter.analytics.anomaly.calibration import calibrate, log10_from_score, score_from_log10, warmup_surprise
from codex_jupyter.analytics.anomaly.episodes import Episodes, EpisodeTable, reading_numbers, track
from codex_jupyter.analytics.anomaly.holiday_calendar import SeriesCalendars, holiday_calendar
from codex_jupyter.analytics.anomaly.methods import METHODS
from codex_jupyter.analytics.anomaly.reasons import metrics_reason, reason_number
from codex_jupyter.analytics.anomaly.settings import KEY_SEPARATOR, AnomalyInputError, DetectorSettings
from codex_jupyter.analytics.anomaly.state import MetricState, with_depth, with_rows
from codex_jupyter.analytics.anomaly.times import read_times
from codex_jupyter.errors import require_columns

_NS_PER_S = 1_000_000_000
#: Readings a batch is scored in at a time (see :meth:`StreamingDetector.update`). Scoring holds a few dozen float
#: arrays the size of its part: one pass over 3 million readings peaked at 2.5 GB, beyond a Binder's 2 GB.
CHUNK_READINGS = 500_000
_PART_DEPTHS = 20  # a part holds at least this many times each series' history (see StreamingDetector.update)
_PROGRESS_READINGS = 2_000_000  # a batch scored in parts shows a progress bar by default above this (about 5 s)


_NO_READING_TIME = np.iinfo(np.int64).min  # the time stored in front of a series' first reading
_PERIOD_STEPS = 10  # a series' first time steps, whose median is its usual step (see _period_arrives)
_PERIOD_QUORUM = 100  # series with a usual step enough to fix the cycle while most others are still young
_PERIOD_FEW = 10  # ... or this many, and a tenth of those seen: many short series must not block it for good
_NAT = np.datetime64("NaT").view(np.int64)


def infer_period(step_seconds: float) -> int | None:
    """Readings per daily (or, for daily data, weekly) cycle from the typical time step."""
    if not math.isfinite(step_seconds) or step_seconds <= 0:
        return None
    if abs(step_seconds - 86_400) / 86_400 < 0.1:
        return 7
    per_day = 86_400 / step_seconds
    period = round(per_day)
    if 4 <= period <= 288 and abs(per_day - period) / per_day < 0.1:
        return period
    return None


class StreamingDetector:
    """Scores readings of many series as they arrive, with bounded memory per series.

    ``update(batch)`` takes a DataFrame with the value column(s) (and the
    ``by`` and ``time`` columns when given) and returns, in the batch's row
    order, ``anomaly_score`` (0..1), ``is_anomaly`` and ``reason``. Within a
    series, rows are taken in arrival order. Splitting a stream into batches
    never changes a score.
    """

    def __init__(
        self,
        value: str | Sequence[str],
        by: str | Sequence[str] | None = None,
        time: str | None = None,
        holidays: Any = None,
        **settings: Any,
    ) -> None:
        self.settings = DetectorSettings(**settings)
        self.values = [value] if isinstance(value, str) else list(value)
        self.by = [by] if isinstance(by, str) else list(by or [])
        self.time = time
        if holidays is not None and time is None:
            raise AnomalyInputError("holidays= needs time=, the column that dates each reading")
        self.holidays = None if holidays is None else holiday_calendar(holidays)
        if isinstance(self.holidays, SeriesCalendars) and not self.by:
            raise AnomalyInputError("holidays= maps series to calendars, so it needs by=, the column naming a series")
        self._period: int | None = self.settings.period if isinstance(self.settings.period, int) else None
        self._period_resolved = self.settings.period != "auto"
        self._steps: dict[Any, list[int]] = {}  # each series' first time steps, until the cycle is known
        self._settled: list[Any] = []  # the series with _PERIOD_STEPS of them, in the order they got them
        self._rows: dict[Any, int] = {}  # series key -> its row in the state tables
        self._metrics = {m: MetricState.empty(self._depth(), self.settings.calibration.lag) for m in self.values}
        self._times = np.empty((0, self._depth()), dtype=np.int64)  # (series, depth), shared by the metrics
        self._episodes = [EpisodeTable() for _ in self.values]  # each metric has its own episodes
        self._closed: list[tuple] = []  # the episodes that closed in the last update (see _closures)
        self._zone: Any = None  # the time zone of the last update's time column (see _as_time)
        self._aware: bool | None = None  # whether the stream's times are aware (None: no timed batch yet)
        self._alarm = log10_from_score(self.settings.threshold)

    @property
    def period(self) -> int | None:
        """Readings per cycle used by the seasonal detector (None: no cycle)."""
        return self._period

    @property
    def cycle_settled(self) -> bool:
        """Whether :attr:`period` is fixed for good: given, or (``period="auto"``) inferred from the readings so far,
        or never to be inferred (no ``time`` column). Until then a copy of this detector that saw only some of the
        series (:class:`.parallel.ParallelDetector`) could fix the cycle at another reading than this one."""
        return self._period_resolved or self.time is None

    def _depth(self) -> int:
        s = self.settings
        return 2 * s.window + s.shift_window + s.pick_lag + 3 + (3 * self._period if self._period else 0)

    def memory_bytes(self) -> int:
        """Bytes of state held for all series (bounded by the window, whatever the stream length)."""
        return (
            sum(m.nbytes() for m in self._metrics.values())
            + self._times.nbytes
            + sum(e.nbytes() for e in self._episodes)
        )

    def series_count(self) -> int:
        """Distinct (series, metric) pairs seen so far."""
        return len(self._rows) * len(self.values)

    def _period_arrives(self, codes: np.ndarray, uniq: np.ndarray, times: np.ndarray) -> tuple[int, int | None] | None:
        """Where the cycle becomes known in this batch, and the cycle: (row, period), else None.

        Each series' usual step is the median of its first ``_PERIOD_STEPS`` time steps (from a reading to the next
        of that series, in arrival order, across batches). The cycle follows from the median of those usual steps,
        at the reading where at least half of the series seen so far (or ``_PERIOD_QUORUM`` of them, or
        ``_PERIOD_FEW`` and a tenth of them, so that many short series do not block it for good) have one.
        Why so: the cycle must not depend on how a stream is split, so it is fixed by a rule on the readings so
        far (it used to need ten steps within one batch: a tail polling a few records at a time never found its
        daily cycle). Per series and by quorum, because a few early steps mislead: devices that send a burst when
        they boot, or one fast device among hourly ones, would otherwise set the cycle for all.
        """
        n = len(codes)
        stored = np.full(len(uniq), _NO_READING_TIME)
        for i, key in enumerate(uniq):
            if key in self._rows:
                stored[i] = self._times[self._rows[key], -1]  # the series' last reading before this batch
        order = np.argsort(codes, kind="stable")
        t, c = times[order], codes[order]
        first = np.r_[True, c[1:] != c[:-1]]
        before = np.where(first, stored[c], np.r_[_NO_READING_TIME, t[:-1]])
        steps = np.empty(n, dtype=np.int64)
        steps[order] = t - np.where(before == _NO_READING_TIME, t, before)
        positive = order[steps[order] > 0]  # rows with a step, by series, in arrival order within each
        series = codes[positive]
        settles: list[tuple[int, Any]] = []  # (row, series) where a series gets its usual step
        groups = np.flatnonzero(np.r_[True, series[1:] != series[:-1], True]) if len(series) else []
        for a, b in itertools.pairwise(groups):
            key = uniq[series[a]]
            have = self._steps.setdefault(key, [])
            if len(have) < _PERIOD_STEPS:
                take = positive[a:b][: _PERIOD_STEPS - len(have)]
                have.extend(steps[take].tolist())
                if len(have) == _PERIOD_STEPS:
                    settles.append((int(take[-1]), key))
        firsts = np.full(len(uniq), n)
        np.minimum.at(firsts, codes, np.arange(n))
        new_from = np.sort(firsts[[key not in self._rows for key in uniq]])  # rows where new series appear
        for row, key in sorted(settles):
            self._settled.append(key)
            seen = len(self._rows) + int(np.searchsorted(new_from, row, side="right"))
            settled = len(self._settled)
            if settled >= min(_PERIOD_QUORUM, (seen + 1) // 2) or settled >= max(_PERIOD_FEW, (seen + 9) // 10):
                usual = [np.median(self._steps[k]) for k in self._settled]
                return row, infer_period(float(np.median(usual)) / _NS_PER_S)
        return None

    def update(self, batch: pd.DataFrame, progress: bool | None = None) -> pd.DataFrame:
        """Score a batch of readings; returns one row per input row, same index (see :func:`detect_anomalies`).

        Readings on the ``holidays`` calendar's days are not judged: no score, never an alert. They keep their
        place in the series as a gap (:data:`.rolling.HOLIDAY`), so a weekly cycle stays aligned (dropping them
        shifted every later day of that week onto the wrong weekday), while their values reach neither the rolling
        windows nor the calibration; a run of repeats or of missing readings goes on across them. They count
        towards the quiet readings that close an episode.

        A batch refused for its input (a value that is not a number, a time that is not a time) changes nothing:
        send it again once mended. A big batch is scored a part at a time (about ``CHUNK_READINGS`` readings), which
        gives the same scores, since a split never changes one, in bounded memory; ``progress`` shows a bar while it
        works (``None``: for a batch of over ``_PROGRESS_READINGS`` readings scored in parts). An update scored in
        parts and stopped part way (an interrupted kernel) changes nothing either.
        """
        _require_columns(batch, [*self.values, *self.by, *([self.time] if self.time else [])])
        # Everything is read and checked before any state changes: a batch refused for its second metric's values
        # had already moved the first metric's windows on, so sending it again, mended, scored it differently.
        read = _times_ns(batch[self.time], self.time) if self.time else (None, None)  # checks the times
        return self._update_read(batch, read, progress)

    def _update_read(
        self, batch: pd.DataFrame, read: tuple[np.ndarray | None, Any], progress: bool | None
    ) -> pd.DataFrame:
        """:meth:`update` once the batch's times are read (``read``: :func:`_times_ns` of its time column).

        Why apart: :func:`detect_anomalies` reads the times to sort the rows, and text times read again here took a
        fifth of its time (1 of 4.5 CPU seconds on a million readings). The time column itself stays in the batch:
        holidays are days in its own local time, which the times read in UTC no longer hold.
        """
        times, zone = read
        numeric = np.stack([_numeric(batch[metric], metric) for metric in self.values])
        if self.time:
            self._zone = self._check_zone(zone, len(batch))
        self._closed = []
        if len(batch) == 0:
            return _empty_result(batch.index, self.time is not None, self._zone)
        rows = CHUNK_READINGS // len(self.values)
        if len(batch) <= rows:
            return self._update(batch, numeric, times)
        series = len(_series_codes(batch, self.by)[1])
        bar = None
        if progress or (progress is None and numeric.size > _PROGRESS_READINGS):
            from tqdm.auto import tqdm

            bar = tqdm(total=numeric.size, desc="scoring", unit=" readings", unit_scale=True)
        # A long update is the one a user stops (the bar invites it): stopped part way, it changes nothing, so the
        # same batch can be sent again. The state is a few KB per series, copied once per big batch.
        before = copy.deepcopy(self.__dict__)
        parts, at = [], 0
        try:
            while at < len(batch):
                # Every part re-reads each series' recent history (`_depth` readings, which grows once a cycle is
                # found) for its rolling windows: a part holds at least _PART_DEPTHS of those per series, so that
                # costs at most about 5 % more than one pass, and many short series in one batch are one pass.
                step = max(rows, _PART_DEPTHS * self._depth() * series)
                stop = min(at + step, len(batch))
                parts.append(
                    self._update(batch.iloc[at:stop], numeric[:, at:stop], None if times is None else times[at:stop])
                )
                if bar is not None:
                    bar.update(numeric[:, at:stop].size)
                at = stop
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise
        finally:
            if bar is not None:
                bar.close()
        return pd.concat(parts)

    def _update(self, batch: pd.DataFrame, numeric: np.ndarray, times: np.ndarray | None) -> pd.DataFrame:
        """Score a non-empty batch whose values are read (``numeric``: metrics x rows) and times checked."""
        codes, uniq = _series_codes(batch, self.by)
        arrives = None
        if not self._period_resolved and times is not None:
            arrives = self._period_arrives(codes, uniq, times)
        if arrives is None:
            return self._score(batch, numeric, codes, uniq, times)
        # The cycle is known from row `at` on: the rows before it are scored without it, as they would be in a
        # stream split there.
        at, period = arrives
        head = None
        if at:
            head = self._score(batch.iloc[:at], numeric[:, :at], *_series_codes(batch.iloc[:at], self.by), times[:at])
        self._period, self._period_resolved = period, True
        self._steps, self._settled = {}, []
        tail = batch.iloc[at:]
        rest = self._score(tail, numeric[:, at:], *_series_codes(tail, self.by), times[at:])
        return rest if head is None else pd.concat([head, rest])

    def _score(
        self, batch: pd.DataFrame, numeric: np.ndarray, codes: np.ndarray, uniq: np.ndarray, times: np.ndarray | None
    ) -> pd.DataFrame:
        """Score a non-empty batch whose values (metrics x rows), series codes and times are known."""
        n = len(batch)
        off = None if self.holidays is None else self.holidays.on(batch[self.time], codes, uniq)  # needs time=
        order = np.argsort(codes, kind="stable")
        seg = codes[order]
        rows = self._rows_of(uniq)
        sorted_times = None if times is None else times[order]
        levels, explainers, missing, back_inputs = [], [], [], []
        skip = None if off is None or not off.any() else off[order]
        holiday = np.zeros(n, dtype=bool) if skip is None else skip
        for metric, column in zip(self.values, numeric, strict=True):
            raw = column[order]
            # An infinite reading (a sensor's overflow, "Infinity" in a JSON feed) is a gross error: it alerts, and is
            # kept out of every statistic as a holiday is. In a rolling window it made the spread infinite, so the
            # series could not alert for the next 48 readings (a 20-sigma spike among them went unreported).
            infinite = np.isinf(raw)
            any_infinite = bool(infinite.any())
            values = np.where(infinite, rl.HOLIDAY, raw) if any_infinite else raw
            if skip is not None:
                values[skip] = rl.HOLIDAY
            level, explain, given = self._score_metric(metric, rows, seg, values, sorted_times)
            back_inputs.append(given)
            if any_infinite:
                level = np.where(infinite & ~holiday, np.inf, level)
                explain = _infinite_explained(explain, raw, infinite)
            levels.append(np.nan_to_num(level, nan=-np.inf, posinf=np.inf))
            missing.append(np.isnan(values) & ~holiday & ~infinite)
            explainers.append(explain)
        # Each metric has its own episodes: a problem in one metric is not hidden by an episode still open in
        # another (on the simulated fleet a third of the missed faults were).
        eps, normal = self._track(levels, back_inputs, missing, seg, rows, sorted_times, holiday)
        # The score is the most surprising metric's (the first one on a tie).
        stacked = np.stack(levels)
        best = stacked[np.argmax(stacked, axis=0), np.arange(n)]
        best = np.where(np.isneginf(best), np.nan, best)  # calibrated -log10 P, in series order
        self._closures(batch, order, eps, normal, sorted_times is not None)
        ep, speaker = _combine(eps, stacked)
        new_normal = np.stack(normal)[speaker, np.arange(n)]
        # Reasons only where an episode opens: a long fault keeps scoring high, and wording every reading of it
        # cost more than scoring it.
        reason = np.full(n, "", dtype=object)
        for i in np.flatnonzero(ep.onset):
            reason[i] = self._row_reason(int(i), eps, explainers, int(speaker[i]))
        return self._result(batch.index, order, best, reason, ep, new_normal)

    def _track(
        self,
        levels: list[np.ndarray],
        back_inputs: list[returns.ReturnInputs | None],
        missing: list[np.ndarray],
        seg: np.ndarray,
        rows: np.ndarray,
        times: np.ndarray | None,
        holiday: np.ndarray,
    ) -> tuple[list[Episodes], list[np.ndarray]]:
        """Every metric's episodes, its scores (``levels``, changed in place) with returns to the level before an
        alert judged (:mod:`.returns`), and the levels before its new onsets kept for later batches; and per metric,
        which closing readings end an episode at a new normal (:func:`.returns.new_normal`)."""
        s = self.settings
        number = reading_numbers(self._episodes[0], rows, seg)  # before any table moves on

        def tracker(table: EpisodeTable, gone: np.ndarray) -> Callable[[np.ndarray, np.ndarray | None], Episodes]:
            """Episodes of the readings of some series (all: None), from the state the batch found each time."""
            saved = table.columns.copy()

            def tracked(scores: np.ndarray, only: np.ndarray | None) -> Episodes:
                if only is None:
                    table.columns = saved.copy()
                    return track(scores, times, seg, table, rows, self._alarm, s.clear, s.quiet, gone, holiday)
                some = np.isin(seg, only)
                table.columns[:, rows[only]] = saved[:, rows[only]]
                renumbered = np.searchsorted(only, seg[some])
                at = None if times is None else times[some]
                return track(
                    scores, at, renumbered, table, rows[only], self._alarm, s.clear, s.quiet, gone[some],
                    holiday[some],
                )  # fmt: skip

            return tracked

        eps, normal = [], []
        for m, (metric, given) in enumerate(zip(self.values, back_inputs, strict=True)):
            tracked = tracker(self._episodes[m], missing[m])
            if given is None:
                eps.append(tracked(levels[m], None))
                normal.append(np.zeros(len(seg), dtype=bool))
                continue
            state = self._metrics[metric]
            carried = state.before_alert[rows]
            levels[m], episodes = returns.settle(
                levels[m], given, carried, number, seg, s.window, tracked, self._alarm, s.clear
            )
            normal.append(returns.new_normal(episodes.closed, episodes.onset, given, number, seg, carried))
            state.before_alert[rows] = returns.carried_after(episodes.onset, given, number, seg, carried)
            eps.append(episodes)
        return eps, normal

    def _check_zone(self, zone: Any, rows: int) -> Any:
        """This batch's time zone, refusing naive times after aware ones or the other way round: an episode that
        opened in one batch and closed in another had a start and an end that did not compare."""
        if rows and self._aware is not None and self._aware != (zone is not None):
            was, now = ("aware", "naive") if self._aware else ("naive", "aware")
            raise AnomalyInputError(
                f"column {self.time!r} has {now} timestamps, but earlier batches had {was} ones; "
                "convert every batch alike (pd.to_datetime(col, utc=True))"
            )
        if rows:
            self._aware = zone is not None
        return zone

    def _closures(
        self, batch: pd.DataFrame, order: np.ndarray, eps: list[Episodes], normal: list[np.ndarray], timed: bool
    ) -> None:
        """Keep every metric's episodes that closed in this batch (see :attr:`closed_episodes`): their ``by``
        values, starts, ends and whether each ended at a new normal, as arrays (a frame is built only when asked
        for; most batches close none)."""
        at = [np.flatnonzero(ep.closed) for ep in eps]
        if not any(len(i) for i in at):
            return
        rows = order[np.concatenate(at)]
        keys = {name: batch[name].to_numpy()[rows] for name in self.by}
        start, end = (
            np.concatenate([getattr(ep, f)[i] for ep, i in zip(eps, at, strict=True)]) for f in ("start", "end")
        )
        learnt = np.concatenate([m[i] for m, i in zip(normal, at, strict=True)])
        self._closed.append((keys, _as_time(start, timed, self._zone), _as_time(end, timed, self._zone), learnt))

    @property
    def closed_episodes(self) -> pd.DataFrame:
        """Every metric's episodes that closed in the last :meth:`update`: the ``by`` columns, ``episode_start``,
        ``episode_end`` and ``episode_new_normal`` (see :func:`detect_anomalies`), in no particular order.

        Why: a row shows one metric's episode, so when several metrics' episodes close on one row (a device back
        from a dropout) the rows name only one of them, and a live alert table never saw the others end.
        """
        parts = [
            pd.DataFrame({**keys, "episode_start": start, "episode_end": end, "episode_new_normal": learnt})
            for keys, start, end, learnt in self._closed
        ]
        if not parts:
            none = _as_time(np.empty(0, dtype=np.int64), self.time is not None, self._zone)
            return pd.DataFrame(
                {
                    **{name: pd.Series(dtype=object) for name in self.by},
                    "episode_start": none,
                    "episode_end": none,
                    "episode_new_normal": pd.Series(dtype=bool),
                }
            )
        return pd.concat(parts, ignore_index=True)

    def _row_reason(self, i: int, eps: list[Episodes], explainers: list[Callable[[int], str]], first: int) -> str:
        """Why row ``i`` alerts: every metric whose episode opens there, the most surprising first.

        Why all of them: a row raises one alert, but a fault often shows in several metrics at once (a device
        that drops out misses every reading); naming only one hid the others. Metrics with the same reason share
        it ("temperature, humidity: 3 missing readings in a row ..."), so a dropout reads as one problem.
        """
        if len(self.values) == 1:
            return explainers[0](i)
        groups: dict[str, list[str]] = {}
        for m in [first, *(m for m, e in enumerate(eps) if m != first and e.onset[i])]:
            if why := explainers[m](i):
                groups.setdefault(why, []).append(self.values[m])
        return metrics_reason(groups)

    def _rows_of(self, keys: np.ndarray) -> np.ndarray:
        """Each series' row in the state tables, adding rows for new series (and depth for a new cycle)."""
        rows = np.fromiter((self._rows.setdefault(k, len(self._rows)) for k in keys), dtype=np.int64, count=len(keys))
        depth, total = self._depth(), len(self._rows)
        grown = total > len(self._times)
        self._times = with_rows(with_depth(self._times, depth, _NO_READING_TIME), total, _NO_READING_TIME)
        if grown:
            for episodes in self._episodes:
                episodes.grow(total)
        for state in self._metrics.values():
            state.grow(total, depth)
        return rows

    def _result(
        self, index: pd.Index, order: np.ndarray, level: np.ndarray, reason: np.ndarray, ep: Any, normal: np.ndarray
    ) -> pd.DataFrame:
        """Put the series-ordered results back in the batch's row order."""
        columns = {
            "anomaly_score": score_from_log10(level),
            "surprise": level,
            "is_anomaly": ep.onset,
            "episode_id": ep.episode_id,
            "episode_start": np.where(ep.episode_id > 0, ep.start, _NO_TIME),
            "episode_end": np.where(ep.closed, ep.end, _NO_TIME),
            "episode_new_normal": ep.closed & normal,
            "reason": reason,
        }
        out = {}
        for name, col in columns.items():
            back = np.empty(len(order), dtype=col.dtype)
            back[order] = col
            out[name] = back
        for name in ("episode_start", "episode_end"):
            out[name] = _as_time(out[name], self.time is not None, self._zone)
        return pd.DataFrame(out, index=index)

    # -- one metric, all series ------------------------------------------------------------------
    def _score_metric(
        self, metric: str, rows: np.ndarray, seg: np.ndarray, values: np.ndarray, times: np.ndarray | None
    ) -> tuple[np.ndarray, Callable[[int], str], returns.ReturnInputs | None]:
        """Calibrated -log10 P for one metric's readings, given sorted by series (``seg``), their reasons, and what
        judging a return to the level before an alert needs (:mod:`.returns`; None for the ``stuck`` method).

        The reason for reading ``i`` is worded only when asked for (at an episode's onset). Holidays
        (:data:`.rolling.HOLIDAY`, a NaN to every statistic) get no score.
        """
        s = self.settings
        state = self._metrics[metric]
        t_new = times if times is not None else np.zeros(len(values), dtype=np.int64)
        lay = rl.build_layout(state.values[rows], self._times[rows], values, t_new, seg)
        pos = lay.new_pos
        nan = np.full(len(pos), np.nan)
        comp: dict[str, np.ndarray] = {}
        point = level = reversal = nan
        known = np.full(len(pos), float(s.window))
        rare = rare_before = np.zeros(len(pos))  # -ln of how often a rarely-moving series moves (0 elsewhere)
        if s.method != "stuck":
            comp = baselines.components(lay, s, self._period)
            point, level = np.abs(comp["point_z"]), np.abs(comp["level_z"])
            known = comp["known"]
            reversal = comp["reversal_z"]
            rare, rare_before = comp["rare"], comp["rare_before"]
            if s.method in ("zscore", "seasonal"):
                level = nan
            elif s.method == "level_shift":
                point = nan
        stuck, stuck_reason = (
            runs.stuck(lay, state, rows, s, times is not None, comp.get("as_usual"))
            if s.method in ("auto", "stuck")
            else (nan, None)
        )
        # Raw surprise (-ln P under the normal model, Student-t while the window is still filling), calibrated per
        # series and per statistic: a series whose level statistic is often large (a smooth, autocorrelated one)
        # must not make its spikes look usual.
        # Runs of repeats are already judged against the series' own rate of repeats: they bypass the calibrator.
        point_s = warmup_surprise(point, known, s.window) + rare
        # A spike and the step straight back: two opposite unusual steps, each with the probability of its size.
        # It shares the point statistic's calibration (a separate one raised more false alarms on real series).
        # Most readings are no jump back (0: no surprise): the tail probability is worked out for the others only.
        reversal_s = np.where(np.isnan(reversal), np.nan, -math.log(2.0))
        jumps = np.flatnonzero(reversal > 0)
        reversal_s[jumps] = (
            2.0 * warmup_surprise(reversal[jumps], known[jumps], s.window)
            - math.log(2.0)
            + rare[jumps]
            + rare_before[jumps]
        )
        jumped_back = np.nan_to_num(reversal_s, nan=-1.0) > np.nan_to_num(point_s, nan=-1.0)
        surprise = np.stack([np.fmax(point_s, reversal_s), warmup_surprise(level, known, s.window)], axis=1)
        # Moves off a window with no spread at all, which the calibrator counts apart (a jump and the step back
        # are measured in the spread from before the jump).
        flat = None
        if comp:
            flat = np.stack([np.where(jumped_back, comp["flat_before"], comp["flat"]), comp["level_flat"]], axis=1)
        log10, state.calib[rows], state.calib_pending[rows] = calibrate(
            surprise, seg, state.calib[rows], state.calib_pending[rows], s.calibration, flat
        )
        point_log10, level_log10 = log10[:, 0], log10[:, 1]
        normal_log10 = np.fmax(point_log10, level_log10)
        stuck_log10 = stuck / math.log(10.0)
        log10_p = np.fmax(normal_log10, stuck_log10)
        if s.method != "stuck":
            # A reading no statistic of its value judged yet (a young series' baseline and spread are still being
            # learnt) has no score, unless it is part of a run of repeats: the run statistic's 0 ("no run") showed a
            # 50-sigma spike on a series' 17th reading as a surprise of 0, perfectly usual.
            log10_p = np.where(np.isnan(normal_log10) & ~(stuck_log10 > 0), np.nan, log10_p)
        missing_reason = None
        if s.flag_missing:
            log10_p, missing_reason = runs.missing(lay, state, rows, log10_p)
        holiday = rl.is_holiday(values)
        if holiday.any():
            log10_p = np.where(holiday, np.nan, log10_p)  # not judged (runs.stuck scored it as a repeat)

        def explain(i: int) -> str:
            if missing_reason is not None and (why := missing_reason(i)):
                return why
            if stuck_reason is not None and _known(stuck_log10[i]) >= _known(normal_log10[i]):
                return stuck_reason(i)
            if _known(point_log10[i]) >= _known(level_log10[i]):
                why = baselines.reversal_reason if jumped_back[i] else baselines.point_reason
                return why(i, pos[i], comp, lay.values, s, self._period)
            return baselines.level_reason(i, comp, s)

        keep = rl.last_rows(lay, state.values.shape[1])
        state.values[rows] = lay.values[keep]
        self._times[rows] = lay.times[keep]  # the same for every metric
        given = None
        if comp:
            given = returns.ReturnInputs(
                lay.values[pos], comp["usual_flat"], comp["spread_flat"], comp["level_now_flat"],
                point_log10, level_log10, stuck_log10,
            )  # fmt: skip
        return log10_p, explain, given


def _infinite_explained(explain: Callable[[int], str], raw: np.ndarray, infinite: np.ndarray) -> Callable[[int], str]:
    """``explain``, but an infinite reading is worded as one (it was scored as a gross error, not by a statistic)."""

    def why(i: int) -> str:
        return f"an infinite reading ({raw[i]:+}), left out of the statistics" if infinite[i] else explain(i)

    return why


def _known(level: float) -> float:
    """A statistic's ``-log10 P`` for comparing reasons, -1 where it has none (NaN); one reading at a time."""
    return -1.0 if math.isnan(level) else float(level)


def _combine(eps: list[Episodes], levels: np.ndarray) -> tuple[Episodes, np.ndarray]:
    """One row's view of its metrics' episodes, and the metric that speaks for it.

    A row reports, in this order of precedence, a metric whose episode opens there (an alert), one whose
    episode closes there (so the alert it raised gets its end), one whose episode is open, else none; among
    equals, the most surprising metric. Episode ids are unique per series: the metric's own episode number
    times the number of metrics, plus the metric's number (with one metric, simply its episode number).
    """
    count = len(eps)
    speaker = np.zeros(levels.shape[1], dtype=np.int64)
    rank = np.full(levels.shape[1], -1)
    level = np.full(levels.shape[1], -np.inf)
    for m, ep in enumerate(eps):
        mine = np.where(ep.onset, 3, np.where(ep.closed, 2, np.where(ep.episode_id > 0, 1, 0)))
        better = (mine > rank) | ((mine == rank) & (levels[m] > level))
        speaker = np.where(better, m, speaker)
        rank, level = np.where(better, mine, rank), np.where(better, levels[m], level)
    pick = (speaker, np.arange(len(speaker)))
    ids = np.stack([np.where(ep.episode_id > 0, ep.episode_id * count + m, 0) for m, ep in enumerate(eps)])
    combined = Episodes(
        onset=np.stack([ep.onset for ep in eps])[pick],
        episode_id=ids[pick],
        start=np.stack([ep.start for ep in eps])[pick],
        end=np.stack([ep.end for ep in eps])[pick],
        closed=np.stack([ep.closed for ep in eps])[pick],
    )
    return combined, speaker


def detect_anomalies(
    data: pd.Series | pd.DataFrame,
    time: str | None = None,
    value: str | Sequence[str] | None = None,
    by: str | Sequence[str] | None = None,
    method: str = "auto",
    holidays: Any = None,
    progress: bool | None = None,
    **settings: Any,
) -> pd.DataFrame:
    """Flag unusual readings in one or many series; returns the input plus the columns below.

    ``anomaly_score`` (0..1, ``1 - P`` of the calibrated tail probability,
    monotone and unsaturated), ``surprise`` (``-log10 P``), ``is_anomaly``
    (True at the first reading of an episode whose score reached
    ``threshold``, default 0.9999999), ``episode_id`` (unique per series, 0 outside
    episodes; with several metrics each metric has its own episodes, and ``episode_id % len(value)`` is the
    position in ``value`` of the metric whose episode the row shows), ``episode_start``, ``episode_end`` (on the
    reading where the episode closed: find an alert's by its series and ``episode_start``, since episodes of
    several metrics that opened together may close on a row showing another metric's id), ``episode_new_normal``
    (on that reading too: True when the episode closed with the series at a new level, which the detector learnt as
    its new normal after about ``window / 2 + quiet`` readings, not back at the level before the alert) and a short
    human ``reason`` at each onset (with several metrics, every
    metric whose episode opens on that row: "temperature, humidity: 3 missing readings in a row ..."; "a: ...;
    b: ..." when their reasons differ, the most surprising first). Rows keep their order and
    index. ``by`` names the column(s) that identify a series (e.g. a device); ``value`` the metric
    column(s) (default: every numeric column); ``time`` orders readings within
    a series and lets ``auto`` find the daily cycle. Without ``time`` the
    rows' order is the time order.

    Methods: ``auto`` (default), ``zscore``, ``seasonal``, ``level_shift``,
    ``stuck`` -- all causal, identical to :class:`StreamingDetector` on the
    same data -- and ``iforest`` (IsolationForest over the value columns
    together, for multivariate rows). Documented behaviour on awkward input:
    runs of NaN readings are judged against how often the series misses
    readings (``flag_missing=False`` turns that off); the first ``2 * min_history`` readings of a series (24: its
    baseline needs ``min_history`` readings, the spread around it as many again) have no score (NaN, never flagged),
    but for runs of repeats, judged once a quarter of a ``window`` came before them (12 readings by default);
    duplicated timestamps are kept in their row order;
    a constant series flags its first change; time-zone-aware timestamps are
    compared in UTC, and mixing aware and naive ones is an error.

    ``holidays`` (needs ``time``): days whose readings are not judged -- a country code ("US"), a country and
    subdivision ("DE-BY"), an exchange ("NYSE"), a ``holidays`` package calendar, a list of dates (a shop's
    closing days), or a mapping of series keys (values of ``by``) to any of those, for series in several
    countries (a series it does not name is judged every day). Their rows get no score and never alert, and they
    teach the detector nothing, so a yearly closure neither alerts every year nor makes a real drop later look
    usual (see :mod:`.holiday_calendar`).

    Big data is scored half a million readings at a time, with the same results, so memory stays bounded (one
    pass over 3 million readings peaked at 2.5 GB); ``progress`` shows a bar while it works (``None``: over 2
    million readings, ``False``: never; the streaming methods only).
    """
    frame = data.to_frame(name=data.name if data.name is not None else "value") if isinstance(data, pd.Series) else data
    if not isinstance(frame, pd.DataFrame):
        raise AnomalyInputError("pass a pandas Series or DataFrame")
    by_cols = [by] if isinstance(by, str) else list(by or [])
    if value is None:
        skip = {*by_cols, time}
        value = [
            c
            for c in frame.columns
            if c not in skip and pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
        ]
        if not value:
            raise AnomalyInputError("no numeric column to examine; pass value='column'")
    values = [value] if isinstance(value, str) else list(value)
    if method not in METHODS:
        raise AnomalyInputError(f"unknown method {method!r}; use one of {', '.join(METHODS)}")
    if method == "iforest":
        if holidays is not None:
            raise AnomalyInputError("holidays= works with the streaming methods, not iforest; drop those rows first")
        scored = isolation_forest(frame, values, threshold=settings.get("threshold", 0.99999))
    else:
        detector = StreamingDetector(
            values, by=by_cols or None, time=time, holidays=holidays, method=method, **settings
        )
        if isinstance(detector.holidays, SeriesCalendars):
            _check_calendars_name_series(detector.holidays, frame, by_cols)
        # The detector reads these columns alone: a wide frame's others are not copied to sort it by time.
        needed = list(dict.fromkeys([*values, *by_cols, *([time] if time is not None else [])]))
        _require_columns(frame, needed)
        rows = frame[needed].reset_index(drop=True)
        positions = None
        read: tuple[np.ndarray | None, Any] = (None, None)
        if time is not None:
            times, zone = read = _times_ns(frame[time], time)
            order = np.argsort(times, kind="stable")
            if (np.diff(order) != 1).any():  # else the rows are in time order already
                positions = order
                rows = rows.iloc[positions].reset_index(drop=True)
                read = (times[positions], zone)
        scored = detector._update_read(rows, read, progress)
        if positions is not None:
            back = np.empty_like(positions)
            back[positions] = np.arange(len(positions))  # the scored row of each of the frame's rows
            scored = scored.take(back)
    out = frame.copy()
    for column in scored.columns:
        out[column] = scored[column].array  # .array keeps a time zone
    return out


def isolation_forest(
    frame: pd.DataFrame, columns: list[str], threshold: float = 0.99999, seed: int = 0
) -> pd.DataFrame:
    """IsolationForest over several columns: for rows unusual as a combination.

    The score is the row's rank among all rows (so ``threshold=0.99`` flags
    the most unusual 1 %); the reason names the columns furthest from their
    medians. Rows with a missing value are scored on the others (medians
    fill the gaps) and say so.
    """
    from sklearn.ensemble import IsolationForest

    _require_columns(frame, columns)
    matrix = np.column_stack([_numeric(frame[c], c) for c in columns])
    if len(matrix) < 16:
        raise AnomalyInputError(f"IsolationForest needs at least 16 rows, got {len(matrix)}; use method='zscore'")
    med = np.nanmedian(matrix, axis=0)
    mad = np.nanmedian(np.abs(matrix - med), axis=0) * MAD_TO_SD
    spread = np.where(mad > 0, mad, np.nanstd(matrix, axis=0))
    spread = np.where(spread > 0, spread, 1.0)
    z = (np.where(np.isnan(matrix), med, matrix) - med) / spread
    model = IsolationForest(n_estimators=200, random_state=seed).fit(z)
    raw = -model.score_samples(z)
    score = (pd.Series(raw).rank(method="max").to_numpy() - 0.5) / len(raw)
    flagged = score >= threshold
    reasons = np.full(len(raw), "", dtype=object)
    for i in np.flatnonzero(flagged):
        top = np.argsort(-np.abs(z[i]))[:2]
        parts = [f"{columns[j]} {'high' if z[i, j] > 0 else 'low'} ({reason_number(matrix[i, j])})" for j in top]
        reasons[i] = "unusual combination: " + ", ".join(parts)
        if np.isnan(matrix[i]).any():
            reasons[i] += "; has missing values"
    return pd.DataFrame({"anomaly_score": score, "is_anomaly": flagged, "reason": reasons}, index=frame.index)


# -- input handling ------------------------------------------------------------------------------------
def _check_calendars_name_series(calendars: SeriesCalendars, frame: pd.DataFrame, by: list[str]) -> None:
    """A mapping that names none of the data's series would leave out nothing, silently: say so instead.

    (A stream may meet its series later: it warns once it has seen as many series as the mapping names, none of
    them named; see :meth:`.SeriesCalendars.on`.)
    """
    _require_columns(frame, by)
    keys = _series_codes(frame, by)[1]
    if calendars.calendars and all(calendars.calendar_of(key) is None for key in keys):
        raise AnomalyInputError(
            f"holidays= names no series of the data ({calendars.mismatch()}); its keys are values of by={by!r}"
        )


def _require_columns(frame: pd.DataFrame, columns: list[str]) -> None:
    require_columns(frame.columns, columns, "the data")


def _numeric(column: pd.Series, name: str) -> np.ndarray:
    if pd.api.types.is_bool_dtype(column) or not pd.api.types.is_numeric_dtype(column):
        converted = pd.to_numeric(column, errors="coerce")
        bad = converted.isna() & column.notna()
        if bad.any():
            example = column[bad].iloc[0]
            raise AnomalyInputError(
                f"column {name!r} has non-numeric values such as {example!r}; convert it with pd.to_numeric first"
            )
        column = converted
    return column.to_numpy(dtype=float, na_value=np.nan)


def _times_ns(column: pd.Series, name: str) -> tuple[np.ndarray, Any]:
    """Timestamps as int64 nanoseconds (UTC when time zones are given), and the zone episode times are given in:
    the column's own, UTC for aware timestamps or text with offsets held as objects (read in UTC), else None."""
    if column.dtype == "datetime64[ns]":  # the usual case, without pandas' conversions
        ns = column.to_numpy().view(np.int64)
        if (ns == _NAT).any():
            raise AnomalyInputError(f"column {name!r} has missing timestamps; drop or fill those rows first")
        return ns, None
    if pd.api.types.is_datetime64_any_dtype(column):
        ts = column
    else:
        kinds = {type(v) for v in column.dropna()}
        tz_aware = {getattr(v, "tzinfo", None) is not None for v in column.dropna() if hasattr(v, "tzinfo")}
        if len(tz_aware) > 1:
            raise AnomalyInputError(
                f"column {name!r} mixes time-zone-aware and naive timestamps; make them all aware "
                "(pd.to_datetime(col, utc=True)) or all naive"
            )
        try:
            ts = _parse_times(column, utc=bool(tz_aware == {True}))
        except (ValueError, TypeError) as exc:
            # pandas' own message goes on with several lines of advice ("You might want to try: ..."): its first
            # sentence names the value and its position, which is what the user needs.
            said = str(exc).split(" You might want to try")[0].splitlines()[0].rstrip(" .")
            raise AnomalyInputError(
                f"column {name!r} is not a time column ({kinds and next(iter(kinds)).__name__}): {said}; convert it "
                "with pd.to_datetime(col, utc=True), and find the values it cannot read with errors='coerce' (NaT)"
            ) from None
    zone = getattr(column.dtype, "tz", None)
    if getattr(ts.dt, "tz", None) is not None:
        zone = zone or "UTC"
        ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
    if ts.isna().any():
        raise AnomalyInputError(f"column {name!r} has missing timestamps; drop or fill those rows first")
    return ts.to_numpy(dtype="datetime64[ns]").astype(np.int64), zone


def _parse_times(column: pd.Series, utc: bool) -> pd.Series:
    """Timestamps from text or datetime objects; text whose UTC offsets differ (written across a daylight-saving
    change: -05:00, then -04:00) is read in UTC."""
    ts = read_times(column, utc)
    return pd.to_datetime(column, utc=True) if ts is None else ts


def _series_codes(frame: pd.DataFrame, by: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Each row's series number (in order of first appearance) and each series' key, as text.

    Keys are compared as text (a device 7 and a device "7" are one series). A column of text (the usual device
    id) is hashed as it is, without making text of every row again.
    """
    if not by:
        return np.zeros(len(frame), dtype=np.int64), np.zeros(1, dtype=object)
    if len(by) == 1:
        # A missing key is code -1 here, and sends the column the way of text below, where None and NaN stay apart
        # (factorize's own way of keeping them, use_na_sentinel=False, checked every row for one first).
        codes, raw = pd.factorize(frame[by[0]])
        if all(type(v) is str for v in raw) and (len(codes) == 0 or codes.min() >= 0):  # else 2 and 2.0 would merge
            return codes, np.asarray(raw, dtype=object)
        keys = frame[by[0]].astype(str).to_numpy(dtype=object)
    else:
        keys = frame[by].astype(str).agg(KEY_SEPARATOR.join, axis=1).to_numpy(dtype=object)
    return pd.factorize(keys)  # hashing, not sorting strings


_NO_TIME = np.iinfo(np.int64).min


def _as_time(values: np.ndarray, timed: bool, zone: Any = None) -> Any:
    """Episode times as timestamps (NaT: none), in the time column's zone when it has one, or as reading numbers
    (NaN: none) for a stream without time.

    Why the zone: times are kept in UTC inside, and an episode that started at 10:00 in Berlin read as a naive
    09:00 next to its own reading's ``ts`` (and pandas refuses to compare the two).
    """
    if timed:
        stamps = values.astype(np.int64).view("datetime64[ns]")
        return stamps if zone is None else pd.DatetimeIndex(stamps).tz_localize("UTC").tz_convert(zone).array
    return np.where(values == _NO_TIME, np.nan, values.astype(float))


def _empty_result(index: pd.Index, timed: bool, zone: Any) -> pd.DataFrame:
    """No rows, with the columns and types a batch of rows gets (so a stream's parts concatenate cleanly)."""
    when = _as_time(np.empty(0, dtype=np.int64), timed, zone).dtype
    return pd.DataFrame(
        {
            "anomaly_score": pd.Series(dtype=float),
            "surprise": pd.Series(dtype=float),
            "is_anomaly": pd.Series(dtype=bool),
            "episode_id": pd.Series(dtype=np.int64),
            "episode_start": pd.Series(dtype=when),
            "episode_end": pd.Series(dtype=when),
            "episode_new_normal": pd.Series(dtype=bool),
            "reason": pd.Series(dtype=object),
        },
        index=index,
    )
