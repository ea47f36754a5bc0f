"""Rolling means: the same value for a window whatever came before it (what makes streaming equal batch)."""

import numpy as np
import pytest

from codex_jupyter.analytics.anomaly.rolling import move_mean, window_sums


@pytest.mark.parametrize("window", [1, 2, 5, 6, 48, 100])
def test_window_sums_match_the_plain_sums(window: int) -> None:
    z = np.random.default_rng(window).normal(size=500)
    padded = np.r_[np.zeros(window - 1), z]
    plain = np.array([padded[i : i + window].sum() for i in range(len(z))])
    np.testing.assert_allclose(window_sums(z, window), plain, rtol=1e-12, atol=1e-12)


def test_a_window_sums_to_the_same_bits_whatever_precedes_it() -> None:
    rng = np.random.default_rng(7)
    values = rng.normal(scale=1e6, size=300)
    values[rng.random(300) < 0.05] = np.nan
    for lead in (rng.normal(size=17), rng.normal(scale=1e9, size=101)):
        shifted = move_mean(np.r_[lead, values], 48, 12)[len(lead) + 47 :]
        assert np.array_equal(shifted, move_mean(values, 48, 12)[47:], equal_nan=True)


def test_move_mean_ignores_missing_readings_and_needs_min_count() -> None:
    a = np.array([1.0, np.nan, 3.0, np.nan, np.nan, 8.0])
    np.testing.assert_allclose(move_mean(a, 3, 2), [np.nan, np.nan, 2.0, np.nan, np.nan, np.nan])
    np.testing.assert_allclose(move_mean(a, 4, 1), [1.0, 1.0, 2.0, 2.0, 3.0, 5.5])
