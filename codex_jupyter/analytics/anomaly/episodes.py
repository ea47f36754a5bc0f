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
later; when the shift ends, the step back is no new alert (:mod:`.returns`).
A stretch whose last hot reading was a missing one closes on the
next reading that is neither missing nor a holiday instead: the data has
returned, and a fault after it is a new problem (9 of the 36 faults the
simulated fleet missed started within ``quiet`` readings of another
episode, most of them after a dropout; a spike 4 readings after one went
unreported). A hot reading straight after the dropout still belongs to it.
State per series is seven numbers, carried between batches, so episodes
are the same however a stream is split.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from codex_jupyter.errors import InputError

_NONE = np.iinfo(np.int64).min // 4  # "no hot reading yet": far enough back to start a new stretch


_FIELDS = ("readings", "last_hot", "last_hot_time", "open_id", "open_start", "episodes", "last_hot_missing")
_INITIAL = (0, _NONE, _NONE, 0, 0, 0, 0)


@dataclass
class EpisodeTable:
    """What every series carries between batches, one row per series (columns, so no loop over series).

    ``readings`` seen, reading number and time of the last hot reading, the episode the current stretch
    belongs to (0: none) and its onset time (int64 ns or reading number), episodes opened so far, and whether
    the last hot reading was a missing one.
    """

    columns: np.ndarray = field(default_factory=lambda: np.empty((len(_FIELDS), 0), dtype=np.int64))

    def grow(self, rows: int) -> None:
        """Add rows for new series (nothing seen yet)."""
        extra = np.repeat(np.asarray(_INITIAL, dtype=np.int64)[:, None], rows - self.columns.shape[1], axis=1)
        self.columns = np.hstack([self.columns, extra])

    def nbytes(self) -> int:
        return self.columns.nbytes


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
    table: EpisodeTable,
    rows: np.ndarray,
    alarm_log10: float,
    clear_log10: float,
    quiet: int,
    missing: np.ndarray,
    holiday: np.ndarray,
) -> Episodes:
    """Episodes for readings sorted by series (``seg`` contiguous, arrival order within a series).

    ``missing`` marks the missing readings and ``holiday`` the readings left out for a holiday: a stretch whose
    last hot reading was a missing one closes on the next reading that is neither (the data is back), not
    ``quiet`` readings after it. A dropout that runs across a holiday goes on across it, as its run does.

    ``times`` are int64 ns (None: reading numbers stand for times). Batch series ``i`` is row ``rows[i]`` of
    ``table``, which is updated in place.
    """
    n = len(log10_p)
    level = np.nan_to_num(log10_p, nan=-np.inf)
    hot = level >= clear_log10
    alarm = level >= alarm_log10
    first_of_seg = np.r_[True, seg[1:] != seg[:-1]]
    seg_start = np.flatnonzero(first_of_seg)
    st_readings, st_last_hot, carried_hot_time, st_open, st_start, st_eps, st_gone = table.columns[:, rows]
    number = reading_numbers(table, rows, seg)
    times = number if times is None else times
    hot, last_gone, prev_gone = _dropouts(hot, missing, holiday, seg, seg_start, st_readings, st_last_hot, st_gone)
    quiet_now = np.where(last_gone == 1, 1, quiet)
    # The last hot reading at or before each reading (this batch's, else the carried one).
    last_hot = _segment_forward_fill(np.where(hot, number, _NONE), seg_start, st_last_hot)
    prev_hot = np.r_[_NONE, last_hot[:-1]]
    prev_hot = np.where(first_of_seg, st_last_hot[seg], prev_hot)
    # A hot reading more than `quiet` readings after the previous one starts a new stretch.
    new_stretch = hot & (number - prev_hot > np.where(prev_gone == 1, 1, quiet))
    continues_carried = ~_segment_running_any(new_stretch, seg_start)
    # Stretch ids: each new stretch gets a fresh one; rows before a new stretch belong to the carried one (-1).
    stretch = np.cumsum(new_stretch)
    stretch = np.where(continues_carried, -1, stretch)
    # Alarms counted within the stretch up to each reading.
    key = np.where(continues_carried, -1 - seg, stretch)  # the carried stretch is per series
    alarms_before = _group_running_sum(alarm.astype(np.int64), key)
    carried_open = st_open[seg]
    has_open = np.where(continues_carried, carried_open > 0, False)
    onset = alarm & (alarms_before == 1) & ~has_open
    # Episode numbers: the series' running count of onsets.
    onsets_so_far = _segment_running_sum(onset.astype(np.int64), seg_start) + st_eps[seg]
    in_stretch_episode = has_open | (alarms_before >= 1)
    open_now = in_stretch_episode & (number - last_hot < quiet_now)
    closes = in_stretch_episode & (number - last_hot == quiet_now)
    episode_id = np.where(open_now | closes, np.where(has_open, carried_open, onsets_so_far), 0)
    onset_time = _segment_forward_fill(np.where(onset, times, _NONE), seg_start, np.full(len(rows), _NONE))
    start = np.where(has_open, st_start[seg], onset_time)
    # The end reported at the closing reading: the time of the stretch's last hot reading.
    hot_time = _segment_forward_fill(np.where(hot, times, _NONE), seg_start, carried_hot_time)
    last = np.r_[seg_start[1:], n] - 1
    still_open = open_now[last]
    table.columns[:, rows] = np.stack(
        [
            number[last] + 1,
            last_hot[last],
            hot_time[last],
            np.where(still_open, episode_id[last], 0),
            np.where(still_open, start[last], 0),
            onsets_so_far[last],
            last_gone[last],
        ]
    )
    return Episodes(onset, episode_id, start, hot_time, closes & (episode_id > 0))


def reading_numbers(table: EpisodeTable, rows: np.ndarray, seg: np.ndarray) -> np.ndarray:
    """Each reading's number within its series (its readings before this batch, then its place in the batch), for
    readings sorted by series (``seg``, contiguous) whose series are rows ``rows`` of ``table``."""
    n = len(seg)
    seg_start = np.flatnonzero(np.r_[True, seg[1:] != seg[:-1]])
    return table.columns[0, rows][seg] + np.arange(n) - np.repeat(seg_start, np.diff(np.r_[seg_start, n]))


def _dropouts(
    hot: np.ndarray,
    missing: np.ndarray,
    holiday: np.ndarray,
    seg: np.ndarray,
    seg_start: np.ndarray,
    st_readings: np.ndarray,
    st_last_hot: np.ndarray,
    st_gone: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hot readings (a holiday inside a dropout is one), and whether the last hot reading at or before each reading,
    and before it, was a missing one (1) or not (0): a stretch that ends in one closes on the reading after it.

    A holiday straight after a missing hot reading (or after such holidays) is part of the dropout. Whether the
    reading before a batch was one is in the state: its last reading was then the last hot one, and missing.
    """
    gone = hot & missing
    if holiday.any():
        before = ((st_gone == 1) & (st_last_hot == st_readings - 1)).astype(np.int64)
        gone_before = _segment_forward_fill(np.where(holiday, _NONE, gone.astype(np.int64)), seg_start, before)
        gone |= holiday & (gone_before == 1)
        hot = hot | gone
    if not (gone.any() or st_gone.any()):  # no dropout in sight: the usual quiet everywhere
        none = np.zeros(len(hot), dtype=np.int64)
        return hot, none, none
    last_gone = _segment_forward_fill(np.where(hot, gone.astype(np.int64), _NONE), seg_start, st_gone)
    first_of_seg = np.zeros(len(hot), dtype=bool)
    first_of_seg[seg_start] = True
    prev_gone = np.where(first_of_seg, st_gone[seg], np.r_[0, last_gone[:-1]])
    return hot, last_gone, prev_gone


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
    frame: pd.DataFrame,
    series: str | list[str],
    label: str = "fault_type",
    flag: str = "is_anomaly",
    time: str | None = None,
) -> pd.DataFrame:
    """How many labelled episodes got at least one alert, per label and in total (the ``"all"`` row).

    Why: an episode-based detector raises one alert per stretch, so counting
    flagged *readings* would punish it for not repeating itself; what matters
    is whether each labelled stretch was caught at all. A stretch is a run of
    consecutive readings of one series with the same label (in ``time`` order, else
    the rows' order within the series): two faults of one kind on one device are two
    episodes, so a second fault the detector missed is not hidden by the first.
    Rows with no label (normal readings) are ignored. Columns: ``episodes``,
    ``caught`` and ``recall`` (a share between 0 and 1), indexed by label, and ``under_way``: the stretches already
    under way at their series' first row, which are not judged (nor counted in ``episodes``). Why: their onset is
    not in the data, so no detector could have alerted there. A review that starts on a given day met two
    vibration shifts already under way at midnight, and a live view's buffer (its last rows per device) cuts the
    faults it began with; counted as missed, they put the IoT dashboard's recall at 93 % where the detector had
    caught every fault whose onset it saw but three.
    """
    keys = [series] if isinstance(series, str) else list(series)
    missing = [c for c in [*keys, label, flag, *([time] if time else [])] if c not in frame.columns]
    if missing:
        raise InputError(
            f"episode_recall: no column {missing[0]!r}; pass series=, label=, flag= and time= for your frame"
        )
    code = frame.groupby(keys, sort=False, dropna=False).ngroup().to_numpy()
    order = np.lexsort((frame[time].to_numpy(), code)) if time else np.argsort(code, kind="stable")
    labels = frame[label].to_numpy(dtype=object)[order]
    labelled = ~pd.isna(labels)
    same_series = np.r_[False, code[order][1:] == code[order][:-1]]
    same_run = same_series & np.r_[False, labels[1:] == labels[:-1]]
    run = np.cumsum(labelled & ~same_run)
    stretches = pd.DataFrame(
        {
            "run": run[labelled],
            "label": labels[labelled],
            "flag": frame[flag].to_numpy(bool)[order][labelled],
            "first": ~same_series[labelled],  # the series' first row
        }
    )
    runs = stretches.groupby("run").agg(label=("label", "first"), caught=("flag", "any"), cut=("first", "first"))
    runs = runs.assign(judged=~runs.cut, caught=runs.caught & ~runs.cut)
    per_label = runs.groupby("label").agg(
        episodes=("judged", "sum"), caught=("caught", "sum"), under_way=("cut", "sum")
    )
    per_label.index.name = label
    per_label.loc["all"] = per_label.sum()
    per_label = per_label.astype(int)
    per_label["recall"] = (per_label.caught / per_label.episodes.where(per_label.episodes > 0)).fillna(0.0)
    per_label = per_label[["episodes", "caught", "recall", "under_way"]]
    return per_label
