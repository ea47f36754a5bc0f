"""The calibrator on its own: how a series' own past judges a reading."""

from __future__ import annotations

import numpy as np

from codex_jupyter.analytics.anomaly.calibration import COUNTS, CalibrationSettings, calibrate


def test_a_move_off_a_flat_window_is_as_usual_as_the_series_own_such_moves_whichever_statistic_saw_them() -> None:
    """Hourly visibility sits at its cap (10 miles) and leaves it every few days, each time a move off a window of
    identical readings (no spread: a raw surprise beyond any tail). The point statistic sees each move; the level
    statistic only the few that last hours. Judged by its own count of such moves (none), a 0.5-mile dip for 3 hours
    scored P = 1e-42 on New York's airports after 28 dips; judged by the series', about 1 in 100."""
    n, cs = 3_000, CalibrationSettings()
    surprise, flat = np.zeros((n, 2)), np.zeros((n, 2), dtype=bool)
    moves = np.arange(50, n - 100, 100)  # 29 moves seen by the point statistic
    surprise[moves, 0] = flat[moves, 0] = 1e6
    surprise[-1, 1] = flat[-1, 1] = 1e6  # the first the level statistic sees
    totals = np.zeros((1, 2 * COUNTS), dtype=np.int64)
    pending = np.zeros((1, cs.lag, 2 * COUNTS), dtype=np.int32)
    log10 = calibrate(surprise, np.zeros(n, dtype=np.int64), totals, pending, cs, flat)[0]
    assert 1.5 < log10[-1, 1] < 2.5  # 29 such moves in 3,000 readings (and the prior's 200)
    assert 1.5 < log10[moves[-1], 0] < 2.5  # the point statistic's own, as before
    assert log10[moves[0], 0] > 100  # the series' first move of all: only the tail judges it
