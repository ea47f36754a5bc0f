"""Episodes: one alert at the onset of an anomalous stretch, not one per reading.

Why: an anomaly in a real stream is a stretch (a level shift, a stuck sensor,
a burst of missing readings), and flagging every reading of it floods an
operator with hundreds of alerts for one problem.

How (hysteresis, per series): a reading is *hot* when its calibrated surprise
reaches ``clear_log10`` (lower than the alarm level) and *alarming* when it
reaches the threshold. Hot readings fewer than ``quiet`` readings apart form
one stretch; an episode opens at the stretch's first alarming reading (that
reading alone gets ``is_anomaly``) and closes ``quiet`` readings after the
stretch's last hot reading: that closing reading carries ``episode_end``
(the time of the last hot reading). A level shift that persists stops being
hot once the rolling baseline has moved to it (about ``window / 2``
readings), so the detector has learnt the new normal ``quiet`` readings
later. State per series is six numbers, carried between batches, so
episodes are the same however a stream is split.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from codex_jupyter.errors import InputError

_NONE = np.iinfo(np.int64).min // 4  # "no hot reading yet": far enough back to start a new stretch


@dataclass
class EpisodeState:
    """What one series carries between batches."""

    readings: int = 0  # readings seen
    last_hot: int = _NONE  # reading number of the last hot reading
    last_hot_time: int = _NONE  # and its time
    open_id: int = 0  # the episode the current stretch belongs to (0: the stretch has none)
    open_start: int = 0  # its onset time (int64 ns or reading number)
    episodes: int = 0  # episodes opened so far


@dataclass
class Episodes:
    """Per reading: onset flag, episode number (0: none), its onset time, and its end where it closes."""

    onset: np.ndarray
    episode_id: np.ndarray
    start: np.ndarray
    end: np.ndarray
    closed: np.ndarray


def track(
    log10_p: np.ndarray,
    times: np.ndarray | None,
    seg: np.ndarray,
    states: list[EpisodeState],
    alarm_log10: float,
    clear_log10: float,
    quiet: int,
) -> Episodes:
    """Episodes for readings sorted by series (``seg`` contiguous, arrival order within a series).

    ``times`` are int64 ns (None: reading numbers stand for times).
    Updates ``states`` in place.
    """
    n = len(log10_p)
    level = np.nan_to_num(log10_p, nan=-np.inf)
    hot = level >= clear_log10
    alarm = level >= alarm_log10
    first_of_seg = np.r_[True, seg[1:] != seg[:-1]]
    seg_start = np.flatnonzero(first_of_seg)
    within = np.arange(n) - np.repeat(seg_start, np.diff(np.r_[seg_start, n]))
    st_readings = np.array([st.readings for st in states], dtype=np.int64)
    st_last_hot = np.array([st.last_hot for st in states], dtype=np.int64)
    number = st_readings[seg] + within  # reading number within its series
    times = number if times is None else times
    # The last hot reading at or before each reading (this batch's, else the carried one).
    last_hot = _segment_forward_fill(np.where(hot, number, _NONE), seg_start, st_last_hot)
    prev_hot = np.r_[_NONE, last_hot[:-1]]
    prev_hot = np.where(first_of_seg, st_last_hot[seg], prev_hot)
    # A hot reading more than `quiet` readings after the previous one starts a new stretch.
    new_stretch = hot & (number - prev_hot > quiet)
    continues_carried = ~_segment_running_any(new_stretch, seg_start)
    # Stretch ids: each new stretch gets a fresh one; rows before a new stretch belong to the carried one (-1).
    stretch = np.cumsum(new_stretch)
    stretch = np.where(continues_carried, -1, stretch)
    # Alarms counted within the stretch up to each reading.
    key = np.where(continues_carried, -1 - seg, stretch)  # the carried stretch is per series
    alarms_before = _group_running_sum(alarm.astype(np.int64), key)
    carried_open = np.array([st.open_id for st in states], dtype=np.int64)[seg]
    has_open = np.where(continues_carried, carried_open > 0, False)
    onset = alarm & (alarms_before == 1) & ~has_open
    # Episode numbers: the series' running count of onsets.
    st_eps = np.array([st.episodes for st in states], dtype=np.int64)
    onsets_so_far = _segment_running_sum(onset.astype(np.int64), seg_start) + st_eps[seg]
    in_stretch_episode = has_open | (alarms_before >= 1)
    open_now = in_stretch_episode & (number - last_hot < quiet)
    closes = in_stretch_episode & (number - last_hot == quiet)
    episode_id = np.where(open_now | closes, np.where(has_open, carried_open, onsets_so_far), 0)
    start_carried = np.array([st.open_start for st in states], dtype=np.int64)[seg]
    onset_time = _segment_forward_fill(np.where(onset, times, _NONE), seg_start, np.full(len(states), _NONE))
    start = np.where(has_open, start_carried, onset_time)
    # The end reported at the closing reading: the time of the stretch's last hot reading.
    carried_hot_time = np.array([st.last_hot_time for st in states], dtype=np.int64)
    hot_time = _segment_forward_fill(np.where(hot, times, _NONE), seg_start, carried_hot_time)
    for i, last in enumerate(np.r_[seg_start[1:], n] - 1):
        st = states[i]
        st.readings = int(number[last]) + 1
        st.last_hot, st.last_hot_time = int(last_hot[last]), int(hot_time[last])
        st.episodes = int(onsets_so_far[last])
        st.open_id = int(episode_id[last]) if open_now[last] else 0
        st.open_start = int(start[last]) if open_now[last] else 0
    return Episodes(onset, episode_id, start, hot_time, closes & (episode_id > 0))


def _segment_running_any(x: np.ndarray, seg_start: np.ndarray) -> np.ndarray:
    return _segment_running_sum(x.astype(np.int64), seg_start) > 0


def _segment_running_sum(x: np.ndarray, seg_start: np.ndarray) -> np.ndarray:
    total = np.cumsum(x)
    before = np.repeat(total[seg_start] - x[seg_start], np.diff(np.r_[seg_start, len(x)]))
    return total - before


def _group_running_sum(x: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Running sum of ``x`` within runs of equal ``key`` (each key's rows are contiguous)."""
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    return _segment_running_sum(x, starts)


def _segment_forward_fill(x: np.ndarray, seg_start: np.ndarray, initial: np.ndarray) -> np.ndarray:
    """The last value other than ``_NONE`` at or before each position of its segment (else ``initial``)."""
    idx = np.maximum.accumulate(np.where(x != _NONE, np.arange(len(x)), -1))
    seg_of = np.repeat(np.arange(len(seg_start)), np.diff(np.r_[seg_start, len(x)]))
    ok = idx >= seg_start[seg_of]
    return np.where(ok, x[np.maximum(idx, 0)], initial[seg_of])


def episode_recall(
    frame: pd.DataFrame, series: str | list[str], label: str = "fault_type", flag: str = "is_anomaly"
) -> pd.DataFrame:
    """How many labelled episodes got at least one alert, per label and in total (the ``"all"`` row).

    Why: an episode-based detector raises one alert per stretch, so counting
    flagged *readings* would punish it for not repeating itself; what matters
    is whether each labelled stretch (one series, one label) was caught at all.
    Rows with no label (normal readings) are ignored. Columns: ``episodes``,
    ``caught`` and ``recall`` (a share between 0 and 1), indexed by label.
    """
    keys = [series] if isinstance(series, str) else list(series)
    missing = [c for c in [*keys, label, flag] if c not in frame.columns]
    if missing:
        raise InputError(f"episode_recall: no column {missing[0]!r}; pass series=, label= and flag= for your frame")
    caught = frame.dropna(subset=[label]).groupby([*keys, label])[flag].any()
    per_label = caught.groupby(level=label).agg(episodes="size", caught="sum")
    per_label.loc["all"] = per_label.sum()
    per_label = per_label.astype(int)
    per_label["recall"] = (per_label.caught / per_label.episodes.where(per_label.episodes > 0)).fillna(0.0)
    return per_label
