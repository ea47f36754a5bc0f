"""Per-series rolling windows over one flat array, so every series is scored in a single C call.

A batch holds points of many series. Each series' new points are laid out
after its own recent history (padded with NaN to a fixed length ``H``), and all
series are concatenated into one array. Any rolling statistic that looks back
at most ``H`` positions from a new point then sees only that series' own
values, so one ``bottleneck.move_median`` call serves every series at once.

This is also what makes streaming and batch agree: a point's window is the
same whether its history arrived in this batch or in earlier ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import bottleneck as bn
import numpy as np


@dataclass
class Layout:
    """Where each series' history and new points sit in the flat array.

    Series ``i`` of the batch occupies ``[starts[i], starts[i] + depth + counts[i])``: its ``depth`` stored
    readings (NaN in front while it has fewer), then its ``counts[i]`` new ones.
    """

    values: np.ndarray  # flat: [history + new] per series
    times: np.ndarray  # int64 ns, same layout (int64 minimum where unknown)
    new_pos: np.ndarray  # flat positions of the new points, in series order
    seg_first_new: np.ndarray  # flat position of each series' first new point
    seg_of_new: np.ndarray  # for each new point, index of its series in this batch
    first_new: np.ndarray  # for each new point, whether it is its series' first new one (bool)
    last_new: np.ndarray  # and whether it is its series' last
    starts: np.ndarray  # flat position where each series' block begins
    counts: np.ndarray  # new points per series
    _recent: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict, repr=False)

    def recent(self, lead: int) -> tuple[np.ndarray, np.ndarray]:
        """Flat positions from ``lead`` before each series' first new point to its end, and each one's offset
        from the start of its series' stretch (cached: several rolling statistics ask for the same)."""
        if lead not in self._recent:
            lengths = lead + self.counts
            offset = np.arange(lengths.sum()) - np.repeat(np.r_[0, np.cumsum(lengths)[:-1]], lengths)
            self._recent[lead] = (np.repeat(self.seg_first_new - lead, lengths) + offset, offset)
        return self._recent[lead]


#: A holiday's reading (``holidays=``) as stored in a series' history: a NaN with bits of its own. Every statistic
#: sees a NaN, yet a later batch can still tell the holiday from a missing reading (a run of repeats or of missing
#: readings goes on across it) without another array per series. An infinite reading is stored the same way: it is
#: left out of every statistic, and is no missing reading either (see ``StreamingDetector._score``).
_HOLIDAY_BITS = np.array([0x7FF8_0000_0000_0BAD], dtype=np.int64)
HOLIDAY = float(_HOLIDAY_BITS.view(np.float64)[0])


def is_holiday(a: np.ndarray) -> np.ndarray:
    """Which readings of ``a`` are holidays (:data:`HOLIDAY`), not plain missing readings."""
    return np.ascontiguousarray(a).view(np.int64) == _HOLIDAY_BITS


def past_holidays(x: np.ndarray, lay: Layout) -> np.ndarray:
    """Each reading, or at a holiday the series' last reading before it (NaN when there is none in the layout)."""
    keep = ~is_holiday(x)
    keep[lay.starts] = True  # never reach back into the previous series' block
    last = np.maximum.accumulate(np.where(keep, np.arange(len(x)), 0))
    return np.where(is_holiday(x[last]), np.nan, x[last])


def lag(a: np.ndarray, k: int) -> np.ndarray:
    """``a`` shifted right by ``k`` positions (NaN in front)."""
    out = np.full_like(a, np.nan)
    if k < len(a):
        out[k:] = a[: len(a) - k]
    return out


def window_sums(z: np.ndarray, window: int) -> np.ndarray:
    """Sum of the last ``window`` values ending at each position (zeros in front), each by a fixed tree.

    Why not a running sum (``bn.move_mean``): it carries rounding from wherever the array starts, i.e. from the
    batch's first row, so the same reading got a slightly different mean in a different split of the stream, and
    a calibration count could flip on it. Here each window is summed by the same binary tree of its own values
    (sums of 1, 2, 4, ... neighbours, then the powers of two that make up ``window``), so a window's sum depends
    on its values alone, at about ``log2(window)`` passes over the array instead of ``window``.
    """
    levels = [z]
    span = 1
    while 2 * span <= window:
        last = levels[-1]
        pair = np.empty_like(last)
        pair[:span] = last[:span]
        np.add(last[span:], last[:-span], out=pair[span:])
        levels.append(pair)
        span *= 2
    total = np.zeros_like(z)
    covered = 0
    for k in range(len(levels) - 1, -1, -1):
        size = 1 << k
        if window - covered >= size:  # this power of two is part of ``window``: the stretch just before
            if covered:
                total[covered:] += levels[k][:-covered]
            else:
                total += levels[k]
            covered += size
    return total


_GATHER_CHUNK = 16_384  # windows gathered at once by move_mean_and_typical (48 readings each: 6 MB)


def _window_total_count(a: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """The sum (NaN ignored) and count of the values in the last ``window`` positions ending at each position.

    Split-independent: the counts are integer cumulative sums and the sums come from :func:`window_sums`.
    """
    valid = ~np.isnan(a)
    seen = np.concatenate([np.zeros(window, np.int64), np.cumsum(valid)])
    return window_sums(np.where(valid, a, 0.0), window), seen[window:] - seen[:-window]


def _mean_of(total: np.ndarray, count: np.ndarray, min_count: int) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count >= max(1, min_count), total / count, np.nan)


def move_mean(a: np.ndarray, window: int, min_count: int) -> np.ndarray:
    """Rolling mean over the last ``window`` positions ending at each position (NaN ignored; NaN below ``min_count``).

    Split-independent (see :func:`_window_total_count`).
    """
    return _mean_of(*_window_total_count(a, window), min_count)


def move_mean_and_typical(
    a: np.ndarray, window: int, min_count: int, gross: float, lay: Layout, back: int, median: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`move_mean`, and the same mean without the window's gross values: its ``j`` largest, for the largest
    ``j`` (at most two, or an eighth of the window's readings) whose smallest is more than ``gross`` times the mean
    of the rest (``a`` is non-negative: absolute deviations).

    The second is that only from ``back`` before each series' first new point on (as :func:`move_median_recent`);
    elsewhere it is the plain mean, so read it nowhere else: further back it would differ with the stream's split.
    Nor where ``median`` (:func:`move_median_recent` of ``a``, the same ``back`` and ``min_count``: NaN where the
    window is not the series' own or holds too few readings) is 0 or NaN: a window that mostly sat on
    its baseline is judged on the size of its moves (see ``baselines._robust_scale``), and in a count that is mostly 0
    nearly every window holds a value 20 times the others' mean: worked out there too, a count that is 0 in 95 % of
    200,000 readings took twice as long to score, with 100 MB more memory.

    Why: one gross reading (a sensor's -999 among readings of 10 +- 1) made the mean absolute deviation over 20
    times too large for a whole window, so nothing in the next ``window`` readings could alert: a 10-sigma spike 20
    readings later scored P = 1e-0.15. Judged step by step (a random walk, a slowly drifting sensor) the same -999
    is two gross steps, down and back, and a spike there scored P = 1e-0.07. A fault lasts several readings as
    often as one (a sensor reading 10 degrees low for three minutes): each of its readings is as gross as the
    others, so none is 20 times the mean of the rest with the others in it, and taking the largest first left all
    three in (the window's spread tripled, and the same fault again 30 readings later went unreported on the IoT
    dashboard). So the largest ``j`` that qualifies counts, not the first. Leaving out only such values keeps the
    mean what it was for every window without them (the largest of 48 normal deviations is about 3 times the mean of
    the others). Split-independent there, as :func:`move_mean`: the window's own values are exact.
    """
    total, count = _window_total_count(a, window)
    mean = _mean_of(total, count, min_count)
    at, _ = lay.recent(back + window - 1)
    top = bn.move_max(a[at], window, min_count=1)
    t, c = total[at], count[at]
    most = _most_gross(c)
    # Only windows whose maximum passes a bound every window with a gross value passes are sorted (few are): the
    # j <= most largest leave at least c / 2 - j values at or above the median, so the rest's mean is at least
    # median * (c / 2 - most) / (c - most). A known median means a whole window of the series' own with at least
    # min_count (>= 3, see DetectorSettings) readings, so c - most >= 1.
    with np.errstate(invalid="ignore", divide="ignore"):
        bound = gross * np.maximum(c / 2 - most, 0) / (c - most) * median[at]
    hit = np.flatnonzero((median[at] > 0) & (top > bound))
    if not hit.size:
        return mean, mean
    typical = mean.copy()
    windows = np.lib.stride_tricks.sliding_window_view(a, window)
    k = min(int(_most_gross(window)), window - 2)  # the most any window here may leave out
    for lo in range(0, hit.size, _GATHER_CHUNK):  # the windows are gathered a block at a time: bounded memory
        part = hit[lo : lo + _GATHER_CHUNK]
        where = at[part]
        in_window, count_in = t[part], c[part]
        values = windows[where - window + 1]  # a copy, changed in place
        values[np.isnan(values)] = -np.inf
        values.partition(window - 1 - k, axis=1)
        largest = np.sort(values[:, window - 1 - k :], axis=1)[:, ::-1]  # the k largest, largest first
        # taken[:, j]: the sum of the j largest (column 0: none).
        taken = np.c_[np.zeros(len(part)), np.cumsum(np.where(np.isinf(largest), 0.0, largest), axis=1)]
        drop = np.zeros(len(part), dtype=np.int64)
        for j in range(1, k + 1):
            rest = in_window - taken[:, j]
            gross_j = (j <= most[part]) & (largest[:, j - 1] * (count_in - j) > gross * rest)
            drop = np.where(gross_j, j, drop)
        typical[where] = np.maximum(in_window - taken[np.arange(len(part)), drop], 0.0) / (count_in - drop)
    return mean, typical


def _most_gross(count: np.ndarray | int) -> np.ndarray:
    """The most gross values a window of ``count`` readings may leave out: two, or an eighth of them."""
    return np.maximum(2, np.asarray(count) // 8)


def move_median(a: np.ndarray, window: int, min_count: int) -> np.ndarray:
    """Rolling median over the last ``window`` positions ending at each position (NaN ignored)."""
    return bn.move_median(a, window, min_count=min(min_count, window))


def move_median_recent(a: np.ndarray, window: int, min_count: int, lay: Layout, back: int) -> np.ndarray:
    """:func:`move_median` at the positions from ``back`` before each series' first new point on (NaN elsewhere).

    Why: a statistic needed only for the newest readings need not be computed over the whole stored history
    (the history is there for the statistics it is computed from). Medians are exact, so the values are the
    same as :func:`move_median`'s.
    """
    lead = back + window - 1
    at, offset = lay.recent(lead)
    part = bn.move_median(a[at], window, min_count=min(min_count, window))
    full = offset >= window - 1  # a whole window of the series' own positions behind it
    out = np.full_like(a, np.nan)
    out[at[full]] = part[full]
    return out


def median3(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Element-wise median of three arrays, ignoring NaN (median of what is present)."""
    ordered = np.sort(np.stack([a, b, c]), axis=0)  # NaN sorts last
    present = (~np.isnan(ordered)).sum(axis=0)
    two = (ordered[0] + ordered[1]) / 2
    return np.select([present == 3, present == 2, present == 1], [ordered[1], two, ordered[0]], np.nan)


def build_layout(
    history: np.ndarray, hist_times: np.ndarray, new: np.ndarray, new_times: np.ndarray, seg: np.ndarray
) -> Layout:
    """Lay out each series' stored history (``history[i]``, one row per series) before its new points.

    ``new`` is sorted by series (``seg``, contiguous, 0..len(history) - 1); no Python loop over series.
    """
    n_series, depth = history.shape
    counts = np.bincount(seg, minlength=n_series)
    starts = np.r_[0, np.cumsum(depth + counts)[:-1]]
    hist_at = (starts[:, None] + np.arange(depth)).ravel()
    within = np.arange(len(seg)) - np.repeat(np.r_[0, np.cumsum(counts)[:-1]], counts)
    new_pos = starts[seg] + depth + within
    size = n_series * depth + len(new)
    values = np.empty(size)
    values[hist_at] = history.ravel()
    values[new_pos] = new
    times = np.empty(size, dtype=np.int64)
    times[hist_at] = hist_times.ravel()
    times[new_pos] = new_times
    return Layout(values, times, new_pos, starts + depth, seg, within == 0, within == counts[seg] - 1, starts, counts)


def last_rows(lay: Layout, depth: int) -> np.ndarray:
    """Flat positions of each series' last ``depth`` readings (history and new), one row per series."""
    return (lay.starts + lay.counts)[:, None] + np.arange(depth)
