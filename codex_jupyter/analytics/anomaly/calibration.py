"""Per-series calibration of surprise, and the score built from it.

Why: a normal approximation of a detector's statistic holds on Gaussian noise
and fails on real series (heavy tails, discrete counts, trends, regime
changes): on real series the previous detector alerted on 1.4-1.8 % of
readings instead of the one in 100,000 its threshold promised. So each
series is calibrated against its own past behaviour.

How: a reading's raw *surprise* is ``-ln p`` of its statistic under the normal
model. If the model held, surprise above any level ``u`` would exceed it by an
exponential amount with mean 1. Real series have heavier tails, so each
series keeps how often its surprise exceeded ``u`` and the mean and variance
of the (capped) excess: a peaks-over-threshold fit of a generalised Pareto
tail by the method of moments (shape clipped to ``[0, max_shape]``), with a
prior worth ``prior_readings`` readings ("a bit heavier than normal") while
the history is short. The calibrated tail probability is

    P(S > s) = P(S > u) * Q(s - u)                                         for s > u
    P(S > s) = P(S > u) ** (s / u)                                         for s <= u

where ``Q`` is the fitted tail, ``T(t) = (1 + shape * t / scale) ** (-1 / shape)``, made *predictive*:
``Q = (1 - ln T / a) ** (-a)`` with ``a`` the exceedances the fit rests on (the prior's among them) plus
``scale_prior``. Why: plugging the fitted scale in treats it as exact, and a series with a few dozen
exceedances does not know it that well. Averaging the tail over the scale's uncertainty (an exponential
tail whose rate has a Gamma posterior gives this Lomax form exactly) moves a reading the plug-in put at
P = 1e-7 to about 3e-7 in a young series and 1.3e-7 after 300 exceedances. On the real series of
benchmarks/anomaly.py a young series' ordinary big moves alerted less (3.08 / 3.66 -> 2.94 / 2.74 per 10,000
readings, tuning / evaluation halves) and events scored better against the rest of their series (event F1
0.593 / 0.551 -> 0.590 / 0.568); the simulated fleet lost 0.5 points of its faults caught, which the gap
rule of :func:`.baselines._known` gave back. ``scale_prior`` was chosen among 0 to 150 on the tuning half and
the fleet: from 40 up the tuning half moves by under 0.05 alerts per 10,000 and 0.006 F1 and the fleet keeps
its faults caught; 0, the plain posterior, cut more alerts (2.61 / 2.18) but cost the fleet 1.5 points.

- Exceedances are declustered: a run of them counts once, as one event (what
  an alert stands for), so a long anomaly is not learnt as many.
- A reading is judged on readings at least ``lag`` (48) readings older, so an
  anomalous stretch cannot calibrate itself away while it happens.
- Moves with no scale to judge them by (a count that sat at 0 for the whole
  window and then is 1, a visibility at its cap of 10 miles that drops): their
  z against a spread of zero is astronomical, no tail fit can learn them, and
  every such move alerted (228 of an hourly tweet count's bursts). So such a
  move (``flat``: its statistic's window sat entirely on its baseline) counts
  apart, and is at least as likely as the series' own share of them: the first
  one alerts, later ones do not (after one in 1,000 readings, the next is
  P >= 1 / 1,200, with the prior's 200 readings). A gross outlier in a series with any spread (a sensor sending
  -999) is no such move: each one alerts.
- State: six integers per series and statistic (readings, exceedances,
  summed excess, summed squared excess, in fixed units, moves off a flat
  window, and whether the last reading exceeded ``u``) plus the last
  ``lag`` readings' contributions: bounded memory, exact integer sums, and
  therefore the same calibration however a stream is split into batches.

The score: ``anomaly_score = 1 - P`` down to ``P = 1e-9`` (so a threshold of
0.9999999 means P = 1e-7), and beyond, ``1 - 1e-9 / (1 + log10(1e-9 / P))``,
which keeps rising with the evidence without reaching 1.0 in floating point:
the worst readings rank above the merely unusual. ``surprise`` (the
calibrated ``-log10 P``) is the same ranking, unbounded.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln, log_ndtr, stdtr

_LN10 = math.log(10.0)
_Q = 4096  # excess is summed in 1/4096 units of a nat, as integers: exact, order-independent sums
_Q2 = 16  # squared excess in 1/16 units
#: The integers kept per series and statistic (see :func:`calibrate`).
COUNTS = 6
KNEE_LOG10 = 9.0  # the score equals 1 - P down to P = 1e-9 (thresholds mean what they say) ...
SCORE_KNEE = 1.0 - 10.0**-KNEE_LOG10  # ... i.e. up to a score of 0.999999999


@dataclass(frozen=True)
class CalibrationSettings:
    """The calibrator's knobs (chosen on the tuning half of the real series, see benchmarks/anomaly.py)."""

    level: float = math.log(10.0)  # u: surprises above -ln(0.1) feed the tail fit
    prior_readings: float = 200.0  # the prior's weight, in readings
    prior_excess: float = 1.5  # the prior's mean excess above u (1.0 = exactly normal)
    excess_cap: float = 300.0  # the most one reading adds to the summed excess, in nats (30 hid real heavy tails)
    max_shape: float = 0.2  # the heaviest tail the fit may choose (GPD shape): heavier let past faults hide new ones
    scale_prior: float = 60.0  # exceedances' worth of certainty in the tail's scale beyond the fit's own (see above)
    lag: int = 48  # a reading is calibrated on readings at least this many readings older


def normal_surprise(z: np.ndarray) -> np.ndarray:
    """``-ln`` of the two-sided normal tail probability of ``|z|`` (NaN stays NaN); exact far into the tail."""
    with np.errstate(invalid="ignore"):
        return -(math.log(2.0) + log_ndtr(-np.abs(z)))


def warmup_surprise(z: np.ndarray, known: np.ndarray, window: int) -> np.ndarray:
    """``-ln`` of the two-sided tail probability of ``|z|`` when its scale came from ``known`` readings.

    Why: early in a series the spread is estimated from a handful of readings, so a z-score is Student-t
    distributed, not normal, and a normal tail turns the first ordinary jump of a short history into a
    "1e-20" event (a third of the false alarms on real series came in their first 60 readings). A scale
    from ``known`` readings gives ``known - 1`` degrees of freedom; a full window (``known >= window``) keeps
    the normal tail, so long series are judged as before.
    """
    normal = normal_surprise(z)
    df = np.maximum(known - 1.0, 1.0)
    young = known < window
    if not young.any():
        return normal
    a, nu = np.abs(z[young]), df[young]
    with np.errstate(divide="ignore", invalid="ignore"):
        sf = stdtr(nu, -a)
        # Far in the tail stdtr underflows: its power law, ln C + (nu - 1) / 2 ln nu - nu ln |z|, keeps ranking.
        log_c = gammaln((nu + 1) / 2) - gammaln(nu / 2) - 0.5 * np.log(nu * math.pi)
        tail = log_c + 0.5 * (nu - 1) * np.log(nu) - nu * np.log(a)
        ln_sf = np.where(sf > 1e-250, np.log(sf), tail)
    out = normal.copy()
    out[young] = np.fmin(-(math.log(2.0) + ln_sf), normal[young])
    return out


def exclusive_cumsum(x: np.ndarray, seg: np.ndarray, carried: np.ndarray) -> np.ndarray:
    """Per-segment running sums of ``x`` *before* each position, starting from ``carried[seg]``.

    ``seg`` is sorted (segments are contiguous); integer inputs give exact sums.
    """
    total = np.cumsum(x)
    before = total - x
    starts = np.flatnonzero(np.r_[True, seg[1:] != seg[:-1]])
    offset = np.repeat(before[starts], np.diff(np.r_[starts, len(x)]))
    return carried[seg] + before - offset


def calibrate(
    surprise: np.ndarray,
    seg: np.ndarray,
    totals: np.ndarray,
    pending: np.ndarray,
    cs: CalibrationSettings,
    flat: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Calibrated ``-log10 P`` for each reading and statistic, and the updated per-series state.

    ``surprise`` is (readings, statistics); each statistic is calibrated on
    its own (the counts of all of them in one pass). The state per series is ``totals`` (a row of
    an int64 array (series, statistics * COUNTS): per statistic readings,
    exceedances of ``u``, summed capped excess, summed squared excess, in
    fixed integer units, moves off a flat window, and a run flag) over readings older than the last
    ``cs.lag``, and ``pending`` (series, lag, statistics * COUNTS), those last
    ``lag`` readings' contributions. A reading is judged with the counts of
    the readings at least ``lag`` before it, so an anomalous stretch cannot
    calibrate itself away while it happens. NaN surprise (no score yet, or a
    missing reading) neither gets a value nor counts.
    """
    n, k_stats = surprise.shape
    by_stat = surprise.T  # (statistics, readings): each input below is one contiguous row
    known = ~np.isnan(by_stat)
    s = np.where(known, by_stat, 0.0)
    over = known & (s > cs.level)
    capped = np.where(over, np.minimum(s - cs.level, cs.excess_cap), 0.0)
    degenerate = over & (False if flat is None else flat.T)  # a move off a window with no spread
    inputs = np.empty((k_stats, COUNTS, n), dtype=np.int64)
    columns = [known, over, np.rint(capped * _Q), np.rint(capped * capped * _Q2), degenerate, over]
    for j, column in enumerate(columns):
        inputs[:, j] = column
    seen, totals, pending = _lagged_counts(inputs.reshape(k_stats * COUNTS, n), seg, totals, pending, cs.lag)
    n0 = cs.prior_readings
    prior_over = n0 * math.exp(-cs.level)
    m0 = cs.prior_excess
    ln_p = np.empty((k_stats, n))
    # Every reading needs its series' rate of exceedances; only the readings above u need the tail fit, so the
    # excess sums are gathered and the tail worked out for those alone (about a tenth of them: u is -ln 0.1).
    for j in range(k_stats):
        row = j * COUNTS
        readings, exceedances = seen(slice(row, row + 2), slice(None))
        p_over = (exceedances + prior_over) / (readings + n0)
        ln_p_over = np.log(p_over)
        ln_p[j] = ln_p_over * s[j] / cs.level
        at = np.flatnonzero(s[j] > cs.level)
        if not at.size:
            continue
        excess, squared = seen(slice(row + 2, row + 4), at)
        k = exceedances[at] + prior_over
        mean = (excess / _Q + prior_over * m0) / k
        var = np.maximum((squared / _Q2 + prior_over * 2 * m0 * m0) / k - mean * mean, 1e-9)
        # Generalised Pareto tail by the method of moments (shape 0 = exponential), shape kept in [0, max_shape].
        ratio = mean * mean / var
        shape = np.clip(0.5 * (1.0 - ratio), 0.0, cs.max_shape)
        scale = mean * (1.0 - shape)  # a GPD's mean excess is scale / (1 - shape)
        t = (s[j, at] - cs.level) / scale
        with np.errstate(divide="ignore", invalid="ignore"):
            log_tail = np.where(shape > 1e-6, -np.log1p(shape * t) / np.maximum(shape, 1e-6), -t)
        a = k + cs.scale_prior
        log_tail = -a * np.log1p(-log_tail / a)  # predictive: the scale's uncertainty averaged over
        ln_p[j, at] = ln_p_over[at] + log_tail
        # A move with no scale is at least as likely as the series' past share of them (none before: the tail
        # decides), whichever statistic saw them: a series leaving a window of identical readings is one kind of
        # event, first seen by the point statistic and, if it stays off, by the level statistic, whose own count
        # mostly missed it (its first exceedance in a stretch is often judged against a spread that is no longer
        # flat, and only a stretch's first one counts): visibility read every hour, at its cap of 10 miles most of
        # the time, had left it 28 times when a half-mile dip for 3 hours scored P = 1e-42 as a level shift.
        moved = np.flatnonzero(degenerate[j, at])
        if moved.size:
            flat_moves = seen(slice(4, None, COUNTS), at[moved]).sum(axis=0)  # every statistic's
            with np.errstate(divide="ignore"):
                ln_share = np.log(flat_moves / (readings[at[moved]] + n0))
            ln_p[j, at[moved]] = np.logaddexp(ln_p[j, at[moved]], ln_share)
    return np.where(known, -ln_p / _LN10, np.nan).T, totals, pending


def _lagged_counts(
    inputs: np.ndarray, seg: np.ndarray, totals: np.ndarray, pending: np.ndarray, lag: int
) -> tuple[Callable[[slice, slice | np.ndarray], np.ndarray], np.ndarray, np.ndarray]:
    """Per reading, the sums of ``inputs`` over its series' readings at least ``lag`` before it.

    ``inputs`` (width, readings) holds ``COUNTS`` rows per statistic (see :func:`calibrate`); it is declustered in
    place. The sums come back as a function ``seen(which, readings)``: the sums of those input rows for those
    readings, gathered only where asked for (most rows are needed only at the tenth of readings above ``u``).
    ``pending`` (series, lag, width) holds each series' last ``lag`` inputs, zero rows in front while it has
    fewer; ``totals`` (series, width) the sums of everything older. Each series is laid out as [its pending
    readings, its new readings] in one flat array, so one cumulative sum (along contiguous memory) serves all series.
    """
    n_series, width = totals.shape
    counts = np.bincount(seg, minlength=n_series)
    firsts = np.r_[0, np.cumsum(counts)[:-1]]
    within = np.arange(len(seg)) - np.repeat(firsts, counts)
    # Declustering: a run of exceedances is one event, so only its first reading feeds the tail fit (the last
    # row keeps every reading's own exceedance flag, so a run continues across batches: a series' first new
    # reading follows its last pending one).
    flag = COUNTS - 1
    flags = inputs[flag::COUNTS]
    previous = np.empty_like(flags)
    previous[:, 1:] = flags[:, :-1]
    has_new = counts > 0
    previous[:, firsts[has_new]] = pending[has_new, -1, flag::COUNTS].T
    inputs.reshape(-1, COUNTS, len(seg))[:, 1:flag] *= (1 - previous)[:, None, :]
    starts = np.r_[0, np.cumsum(counts + lag)[:-1]]  # where each series' block begins
    rows = np.empty((width, n_series * lag + len(seg)), dtype=np.int64)
    rows[:, (starts[:, None] + np.arange(lag)).ravel()] = pending.reshape(-1, width).T
    rows[:, starts[seg] + lag + within] = inputs
    cum = np.zeros((width, rows.shape[1] + 1), dtype=np.int64)  # cum[:, q]: sum of rows[:, :q]
    np.cumsum(rows, axis=1, out=cum[:, 1:])
    # New reading at block position lag + w: readings at least `lag` before it are block rows [0, w + 1).
    # Each series' older totals less the sum before its block: one small table, spread to its readings once.
    offset = totals.T - np.take(cum, starts, axis=1)
    at_reading = starts[seg] + within + 1

    def seen(which: slice, readings: slice | np.ndarray) -> np.ndarray:
        return np.take(cum[which], at_reading[readings], axis=1) + np.take(offset[which], seg[readings], axis=1)

    ends = starts + lag + counts
    new_totals = totals + (np.take(cum, ends - lag, axis=1) - np.take(cum, starts, axis=1)).T
    new_pending = np.take(rows, (ends[:, None] - lag + np.arange(lag)).ravel(), axis=1)
    return seen, new_totals, new_pending.T.reshape(n_series, lag, width).astype(np.int32)


def score_from_log10(log10_inv_p: np.ndarray) -> np.ndarray:
    """The 0..1 score from calibrated ``-log10 P``: ``1 - P`` up to the knee, then a slow, unsaturated rise."""
    with np.errstate(invalid="ignore", over="ignore"):
        below = 1.0 - np.power(10.0, -np.minimum(log10_inv_p, KNEE_LOG10))
        above = 1.0 - 10.0**-KNEE_LOG10 / (1.0 + np.maximum(log10_inv_p - KNEE_LOG10, 0.0))
    return np.where(log10_inv_p > KNEE_LOG10, above, below)


def log10_from_score(score: float) -> float:
    """The calibrated ``-log10 P`` a score threshold stands for (the inverse of :func:`score_from_log10`)."""
    if score <= SCORE_KNEE:
        return -math.log10(1.0 - score)
    return KNEE_LOG10 + 10.0**-KNEE_LOG10 / (1.0 - score) - 1.0
