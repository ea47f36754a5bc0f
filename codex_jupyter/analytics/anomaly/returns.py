"""A series back at the level it had before its last alert: the end of a problem, not a new one.

Why: a level shift that lasts is learnt (the rolling baseline moves to it, see :mod:`.episodes`), so when the
fault ended and the series stepped back, that step was a level shift of its own and raised a second alert. On the
simulated fleet 65 of the tail's 955 alerts were such returns at the end of a vibration shift (7 of 894 are left:
shifts whose onset raised no alert, or whose level kept was replaced by a later alert), and the anomaly review
showed one (dev-0005, an alert where its shift ended). So the level just before each episode's onset is kept (the
plain baseline and its spread there), and while the series has shifted away from it since (today's baseline more
than ``SHIFTED`` spreads off it), a reading nearer it than today's baseline and within ``NEAR`` spreads of it is
judged against it as well, for ``WITHIN`` windows after the onset: its point and level statistics count no more
than they would against that level (the level statistic, a median of the last few readings that lags on its way
back, no more than the reading itself). A spike or a dropout leaves the baseline where it was, so after them the record
does nothing; a move past the old level, or one after ``WITHIN`` windows, alerts as before. Only readings that
reach the episodes' ``clear`` level are judged so (no other can count towards an episode): a return's other
readings keep the score they had. Real series and the benchmark's injected events raised the same alerts as before.

Whether a reading is such a return depends on the onsets before it, and the onsets on the readings' scores, so
the episodes of the series whose onsets moved a record are tracked again (see :func:`settle`); the records go
with the series' state, so a stream split anywhere gets the same answer as one batch (tested).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from codex_jupyter.analytics.anomaly.calibration import normal_surprise
from codex_jupyter.analytics.anomaly.episodes import Episodes

SHIFTED = 3.0  # spreads between the level before the alert and today's baseline: the series has moved since
NEAR = 3.0  # spreads from the level before the alert: a reading back at it
WITHIN = 5  # windows after the onset during which a return is recognised


@dataclass
class ReturnInputs:
    """One metric's readings (series order) as :func:`judged` needs them."""

    x: np.ndarray  # the readings
    usual: np.ndarray  # the plain baseline (the median of the window before each reading)
    spread: np.ndarray  # and its spread (as a standard deviation)
    level_now: np.ndarray  # the median of the last few readings (the level statistic's)
    point_log10: np.ndarray  # the calibrated point statistic
    level_log10: np.ndarray  # and level statistic
    other_log10: np.ndarray  # every other statistic (runs of repeats), which a return does not change


@dataclass
class Records:
    """For some readings: the level and spread before the last onset before each, and that onset's reading number
    (NaN where there is none)."""

    level: np.ndarray
    spread: np.ndarray
    at: np.ndarray


def judged(
    inputs: ReturnInputs, at: np.ndarray, rec: Records, number: np.ndarray, window: int
) -> tuple[np.ndarray, np.ndarray]:
    """Which of the readings ``at`` are returns, and their calibrated ``-log10 P`` judged so (NaN for the others)."""
    x, usual, now = inputs.x[at], inputs.usual[at], inputs.level_now[at]
    shifted = _moved(usual, rec)
    with np.errstate(invalid="ignore", divide="ignore"):
        z_point = np.abs(x - rec.level) / rec.spread
        z_level = np.abs(now - rec.level) / rec.spread
        # Back: nearer the level before the alert than today's baseline, and within NEAR spreads of it.
        near_point = (z_point <= NEAR) & (np.abs(x - rec.level) < np.abs(x - usual))
        near_level = (z_level <= NEAR) & (np.abs(now - rec.level) < np.abs(now - usual))
        # The level statistic lags: a few readings after the step back its median still sits between today's
        # baseline and the level before (on the simulated fleet it raised most of the 24 returns left).
        off_now, off_usual = now - rec.level, usual - rec.level
        on_the_way = (off_now * off_usual > 0) & (np.abs(off_now) < np.abs(off_usual))
        back = shifted & near_point & (number[at] - rec.at <= WITHIN * window)
    out = np.full(len(at), np.nan)
    if back.any():
        as_before = normal_surprise(z_point) / math.log(10.0)
        point = np.minimum(inputs.point_log10[at], as_before)
        level = inputs.level_log10[at]
        level = np.where(near_level, np.minimum(level, normal_surprise(z_level) / math.log(10.0)), level)
        level = np.where(on_the_way & ~near_level, np.minimum(level, as_before), level)
        out[back] = np.fmax(np.fmax(point, level), inputs.other_log10[at])[back]
    return back, out


def _moved(usual: np.ndarray, rec: Records) -> np.ndarray:
    """Whether today's baseline sits more than ``SHIFTED`` spreads off the level before the last alert (NaN: no)."""
    with np.errstate(invalid="ignore"):
        return np.abs(usual - rec.level) > SHIFTED * rec.spread


def new_normal(
    closed: np.ndarray,
    onset: np.ndarray,
    inputs: ReturnInputs,
    number: np.ndarray,
    seg: np.ndarray,
    carried: np.ndarray,
) -> np.ndarray:
    """Which closing readings (``closed``) end an episode whose series settled at a new level: its baseline there is
    more than ``SHIFTED`` spreads off the level before the episode's onset, so the detector learnt the shift as the
    new normal, not a series back to normal.

    Why tell them apart: an alert table that says "ended 16:40" of a vibration shift that went on until 17:30 told
    an operator the fault was over when the detector had only stopped calling it unusual.
    """
    out = np.zeros(len(closed), dtype=bool)
    at = np.flatnonzero(closed)
    if at.size:
        out[at] = _moved(inputs.usual[at], records(onset, inputs, number, seg, carried, at))
    return out


def records(
    onset: np.ndarray, inputs: ReturnInputs, number: np.ndarray, seg: np.ndarray, carried: np.ndarray, at: np.ndarray
) -> Records:
    """The records of the readings ``at``: from the last onset strictly before each in its series (this batch's,
    else the carried one: ``carried`` is (batch series, 3): level, spread, reading number of the onset)."""
    onsets = np.flatnonzero(onset)
    k = np.searchsorted(onsets, at) - 1
    src = onsets[np.maximum(k, 0)] if onsets.size else np.zeros(len(at), dtype=np.int64)
    mine = (k >= 0) & (seg[src] == seg[at])
    kept = carried[seg[at]]
    return Records(
        np.where(mine, inputs.usual[src], kept[:, 0]),
        np.where(mine, inputs.spread[src], kept[:, 1]),
        np.where(mine, number[src], kept[:, 2]),
    )


def carried_after(
    onset: np.ndarray, inputs: ReturnInputs, number: np.ndarray, seg: np.ndarray, carried: np.ndarray
) -> np.ndarray:
    """The records each batch series carries on: from its last onset in this batch, else as carried in."""
    out = carried.copy()
    at = np.flatnonzero(onset)
    if at.size:
        last = np.r_[seg[at][1:] != seg[at][:-1], True]  # the last onset of each series
        at = at[last]
        out[seg[at]] = np.stack([inputs.usual[at], inputs.spread[at], number[at].astype(float)], axis=1)
    return out


def settle(
    level: np.ndarray,
    inputs: ReturnInputs,
    carried: np.ndarray,
    number: np.ndarray,
    seg: np.ndarray,
    window: int,
    track: Callable[[np.ndarray, np.ndarray | None], Episodes],
    alarm: float,
    clear: float,
) -> tuple[np.ndarray, Episodes]:
    """One metric's scores with returns judged, and the episodes ``track`` finds on them.

    ``track(scores, only)`` tracks the readings of the batch series ``only`` (all of them: None), starting from
    the episode state the batch found. Returns are judged against the records of the onsets tracked (the carried
    ones before them), and the series where that moves a reading across the alarm or the clear level (all
    ``track`` looks at) are tracked again. Each pass settles at least each series' next onset, so this ends; in one
    pass where no onset is followed by a return.
    """
    episodes = track(level, None)
    hot = np.flatnonzero(level >= clear)  # only these can count towards an episode, so only these are judged
    tracked = level[hot]  # their scores as last tracked
    for _ in range(len(level) + 1):
        back, as_back = judged(inputs, hot, records(episodes.onset, inputs, number, seg, carried, hot), number, window)
        now = np.where(back, np.nan_to_num(as_back, nan=-np.inf), level[hot])
        moved = ((now >= alarm) != (tracked >= alarm)) | ((now >= clear) != (tracked >= clear))
        tracked = now
        scores = level.copy()
        scores[hot] = now
        if not moved.any():  # the same episodes: every onset, and so every record, stays
            return scores, episodes
        only = np.unique(seg[hot[moved]])
        again = np.isin(seg, only)
        part = track(scores[again], only)
        for name in vars(episodes):
            getattr(episodes, name)[again] = getattr(part, name)
    raise AssertionError("returns did not settle")  # pragma: no cover - each pass settles an onset
