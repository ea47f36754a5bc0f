"""What a detector keeps per metric between batches (:class:`MetricState`), grown as series appear.

Each column's size is bounded by the window (and the cycle), whatever the stream's length.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from codex_jupyter.analytics.anomaly.calibration import COUNTS

_STATS = 2  # calibrated statistics: point (or jump and back), level


#: What each of a new series' state columns starts as.
_FRESH = {
    "values": np.nan,
    "run_len": 0,
    "run_start": 0,
    "run_p_repeat": 0.5,
    "run_p_stay": 0.5,
    "run_unexpected": 0,
    "repeats": 0,
    "calib": 0,
    "calib_pending": 0,
    "missing": 0,
    "before_alert": np.nan,
}


def with_rows(table: np.ndarray, rows: int, fill: float) -> np.ndarray:
    """``table`` with rows of ``fill`` added at the end up to ``rows`` rows (the same array when it has them)."""
    add = rows - len(table)
    return table if add <= 0 else np.concatenate([table, np.full((add, *table.shape[1:]), fill, table.dtype)])


def with_depth(history: np.ndarray, depth: int, fill: float) -> np.ndarray:
    """A (series, readings) ``history`` widened to ``depth`` readings by ``fill`` in front (older than anything)."""
    deeper = depth - history.shape[1]
    return history if deeper <= 0 else np.hstack([np.full((len(history), deeper), fill, history.dtype), history])


@dataclass
class MetricState:
    """What one metric keeps between batches, one row per series: bounded by ``depth`` readings.

    Kept as columns (not one object per series) so a batch reads and writes every series' state with a
    few numpy operations instead of a Python loop over series.
    """

    values: np.ndarray  # (series, depth): the last readings, NaN in front while a series has fewer
    run_len: np.ndarray  # the current run of repeated readings
    run_start: np.ndarray  # its start time
    run_p_repeat: np.ndarray  # and the rate of repeats it is judged against
    run_p_stay: np.ndarray  # and how likely it was to go on
    run_unexpected: np.ndarray  # and its repeats the cycle did not expect
    repeats: np.ndarray  # (series, 3): unexpected repeats, repeats of a repeat among them, readings judged, ever
    # Calibration counts of the point (or jump-and-back) and level statistics (see calibration.calibrate) and
    # the last `lag` readings' contributions.
    calib: np.ndarray
    calib_pending: np.ndarray
    missing: np.ndarray  # readings, missing, current run of missing readings, missing after another missing
    before_alert: np.ndarray  # (series, 3): the level and spread before the last onset, and its reading number

    @classmethod
    def empty(cls, depth: int, lag: int) -> MetricState:
        return cls(
            values=np.empty((0, depth)),
            run_len=np.empty(0, dtype=np.int64),
            run_start=np.empty(0, dtype=np.int64),
            run_p_repeat=np.empty(0),
            run_p_stay=np.empty(0),
            run_unexpected=np.empty(0, dtype=np.int64),
            repeats=np.empty((0, 3), dtype=np.int64),
            calib=np.empty((0, _STATS * COUNTS), dtype=np.int64),
            calib_pending=np.empty((0, lag, _STATS * COUNTS), dtype=np.int32),
            missing=np.empty((0, 4), dtype=np.int64),
            before_alert=np.empty((0, 3)),
        )

    def grow(self, rows: int, depth: int) -> None:
        """Rows for new series (nothing seen yet), and a deeper history (once the cycle length is known)."""
        self.values = with_depth(self.values, depth, np.nan)
        for name, fill in _FRESH.items():
            setattr(self, name, with_rows(getattr(self, name), rows, fill))

    def nbytes(self) -> int:
        return sum(a.nbytes for a in vars(self).values())
