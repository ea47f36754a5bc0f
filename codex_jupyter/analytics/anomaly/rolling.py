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

from dataclasses import dataclass

import bottleneck as bn
import numpy as np


@dataclass
class Layout:
    """Where each series' history and new points sit in the flat array."""

    values: np.ndarray  # flat: [pad + history + new] per series
    times: np.ndarray  # int64 ns, same layout (NaT-like minimum where unknown)
    new_pos: np.ndarray  # flat positions of the new points, in batch order of `order`
    seg_first_new: np.ndarray  # flat position of each series' first new point
    seg_of_new: np.ndarray  # for each new point, index of its series in this batch


def lag(a: np.ndarray, k: int) -> np.ndarray:
    """``a`` shifted right by ``k`` positions (NaN in front)."""
    out = np.full_like(a, np.nan)
    if k < len(a):
        out[k:] = a[: len(a) - k]
    return out


def move_median(a: np.ndarray, window: int, min_count: int) -> np.ndarray:
    """Rolling median over the last ``window`` positions ending at each position (NaN ignored)."""
    return bn.move_median(a, window, min_count=min(min_count, window))


def median3(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Element-wise median of three arrays, ignoring NaN (median of what is present)."""
    ordered = np.sort(np.stack([a, b, c]), axis=0)  # NaN sorts last
    present = (~np.isnan(ordered)).sum(axis=0)
    two = (ordered[0] + ordered[1]) / 2
    return np.select([present == 3, present == 2, present == 1], [ordered[1], two, ordered[0]], np.nan)


def build_layout(
    histories: list[np.ndarray],
    hist_times: list[np.ndarray],
    news: list[np.ndarray],
    new_times: list[np.ndarray],
    depth: int,
) -> Layout:
    """Lay out ``depth`` positions of (padded) history before each series' new points."""
    values, times, new_pos, firsts, seg_of_new = [], [], [], [], []
    offset = 0
    for i, (hist, ht, new, nt) in enumerate(zip(histories, hist_times, news, new_times, strict=True)):
        pad = depth - len(hist)
        values.extend([np.full(pad, np.nan), hist, new])
        times.extend([np.full(pad, np.iinfo(np.int64).min), ht, nt])
        start = offset + depth
        firsts.append(start)
        new_pos.append(np.arange(start, start + len(new)))
        seg_of_new.append(np.full(len(new), i))
        offset = start + len(new)
    return Layout(
        values=np.concatenate(values).astype(float),
        times=np.concatenate(times).astype(np.int64),
        new_pos=np.concatenate(new_pos),
        seg_first_new=np.asarray(firsts, dtype=np.int64),
        seg_of_new=np.concatenate(seg_of_new),
    )
