"""Forecasts: the frame a user gets, honest intervals, multiple seasonalities and clear errors for bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from codex_jupyter.analytics.forecast import backtest, forecast


def daily_panel(n: int = 12, days: int = 400, noise: float = 4.0, seed: int = 0) -> pd.DataFrame:
    """Daily series with a weekly cycle, a trend and Gaussian noise of known size."""
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2024-01-01", periods=days, freq="D")
    t = np.arange(days)
    frames = []
    for i in range(n):
        weekly = rng.uniform(5, 20) * np.sin(2 * np.pi * (t + i) / 7)
        y = 100 + i * 5 + rng.normal(0.02, 0.03) * t + weekly + rng.normal(0, noise, days)
        frames.append(pd.DataFrame({"store": f"S{i:02d}", "day": idx, "sales": y}))
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return daily_panel()


def test_frame_has_one_row_per_series_and_step_with_nested_intervals(panel: pd.DataFrame) -> None:
    out = forecast(panel, "day", "sales", 14, by="store", progress=False)
    assert list(out.columns) == [
        "store",
        "ds",
        "yhat",
        "yhat_lower_80",
        "yhat_upper_80",
        "yhat_lower_95",
        "yhat_upper_95",
        "model",
    ]
    assert len(out) == 12 * 14 and out.groupby("store").size().eq(14).all()
    first = out[out.store == "S00"].ds
    assert first.iloc[0] == pd.Timestamp("2024-01-01") + pd.Timedelta(days=400) and first.is_monotonic_increasing
    assert (out.yhat_lower_95 <= out.yhat_lower_80).all() and (out.yhat_lower_80 <= out.yhat).all()
    assert (out.yhat <= out.yhat_upper_80).all() and (out.yhat_upper_80 <= out.yhat_upper_95).all()
    assert out.groupby("store").model.nunique().eq(1).all()
    assert set(out.model) <= {"snaive", "ets", "theta", "ets_log", "theta_log", "gbm", "ensemble"}


def test_forecast_is_deterministic(panel: pd.DataFrame) -> None:
    a = forecast(panel, "day", "sales", 7, by="store", progress=False)
    b = forecast(panel.sample(frac=1, random_state=3), "day", "sales", 7, by="store", progress=False)
    pd.testing.assert_frame_equal(a, b)


def test_intervals_cover_as_promised_and_beat_seasonal_naive() -> None:
    data = daily_panel(n=30, days=300, noise=6.0, seed=1)
    report = backtest(data, "day", "sales", 14, by="store", n_windows=2, progress=False)
    overall = report.overall.iloc[0]
    assert 72 <= overall.coverage_80 <= 88
    assert 89 <= overall.coverage_95 <= 99.5
    assert overall.mase < overall.mase_snaive
    assert len(report.series) == 30 and {"smape", "mase", "coverage_80", "coverage_95"} <= set(report.series.columns)


def growing_panel(n: int = 30, months: int = 120, seed: int = 3) -> pd.DataFrame:
    """Monthly sales growing 1-3 % a month with a yearly cycle and noise proportional to the level."""
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2012-01-01", periods=months, freq="MS")
    t = np.arange(months)
    frames = []
    for i in range(n):
        season = 1 + rng.uniform(0.1, 0.3) * np.sin(2 * np.pi * (t + i) / 12)
        y = 50 * np.exp(rng.uniform(0.01, 0.03) * t) * season * np.exp(rng.normal(0, 0.06, months))
        frames.append(pd.DataFrame({"shop": f"S{i:02d}", "month": idx, "sales": y}))
    return pd.concat(frames, ignore_index=True)


def test_intervals_of_growing_series_keep_up_with_the_level() -> None:
    """Errors grow with the level: intervals calibrated on older, smaller errors must not fall short today."""
    report = backtest(growing_panel(), "month", "sales", 12, by="shop", n_windows=2, progress=False)
    overall = report.overall.iloc[0]
    assert 74 <= overall.coverage_80 <= 88
    assert 90 <= overall.coverage_95 <= 99.5


def test_yearly_history_longer_than_pandas_timedelta_is_forecast() -> None:
    """Yearly data since 1700 spans more than the 292 years a pandas Timedelta holds."""
    years = pd.date_range("1700-01-01", periods=309, freq="YS")
    y = 50 + 40 * np.sin(2 * np.pi * np.arange(309) / 11) + np.random.default_rng(0).normal(0, 5, 309)
    out = forecast(pd.DataFrame({"year": years, "spots": y}), "year", "spots", 6, progress=False)
    assert out.ds.iloc[0] == pd.Timestamp("2009-01-01") and out.yhat.notna().all()


def test_interval_width_matches_the_known_noise() -> None:
    """Pure noise around a weekly cycle: the 95 % band should be about +-1.96 sigma wide, not much more or less."""
    data = daily_panel(n=20, days=300, noise=5.0, seed=2)
    out = forecast(data, "day", "sales", 7, by="store", models=("ets", "theta"), progress=False)
    half = (out.yhat_upper_95 - out.yhat_lower_95).mean() / 2
    assert 1.6 * 5.0 < half < 3.2 * 5.0


def test_hourly_data_gets_daily_and_weekly_cycles() -> None:
    idx = pd.date_range("2025-01-06", periods=24 * 7 * 4, freq="h")
    weekend = np.where(idx.dayofweek >= 5, -30.0, 0.0)
    y = 100 + 20 * np.sin(2 * np.pi * idx.hour / 24) + weekend + np.random.default_rng(0).normal(0, 1, len(idx))
    out = forecast(pd.DataFrame({"ts": idx, "load": y}), "ts", "load", 24 * 7, progress=False)
    future = pd.DatetimeIndex(out.ds)
    expected = 100 + 20 * np.sin(2 * np.pi * future.hour / 24) + np.where(future.dayofweek >= 5, -30.0, 0.0)
    assert "by" not in out.columns and len(out) == 168
    assert np.abs(out.yhat - expected).mean() < 3.0


def test_monthly_frequency_is_inferred_and_time_zones_are_kept() -> None:
    months = pd.date_range("2015-01-01", periods=96, freq="MS")
    y = 50 + 10 * np.sin(2 * np.pi * months.month / 12) + np.arange(96) * 0.3
    out = forecast(pd.DataFrame({"m": months, "y": y}), "m", "y", 12, progress=False)
    assert out.ds.iloc[0] == pd.Timestamp("2023-01-01") and out.ds.iloc[-1] == pd.Timestamp("2023-12-01")
    hours = pd.date_range("2025-03-20", periods=300, freq="h", tz="Europe/Paris")
    out = forecast(pd.DataFrame({"t": hours, "y": np.sin(np.arange(300) / 4) + 5}), "t", "y", 6, progress=False)
    assert str(out.ds.dt.tz) == "Europe/Paris"


def test_constant_series_is_forecast_as_that_constant() -> None:
    idx = pd.date_range("2025-01-01", periods=60, freq="D")
    data = pd.concat(
        [
            pd.DataFrame({"k": "flat", "d": idx, "v": 7.0}),
            pd.DataFrame({"k": "wavy", "d": idx, "v": 10 + np.sin(np.arange(60))}),
        ]
    )
    out = forecast(data, "d", "v", 5, by="k", progress=False)
    flat = out[out.k == "flat"]
    assert (flat.yhat == 7.0).all() and (flat.yhat_lower_95 == 7.0).all() and (flat.model == "constant").all()


def test_short_series_still_gets_intervals_and_counts_stay_non_negative() -> None:
    """Just long enough for one backtest window: the band comes from that window's errors, never zero width."""
    days = pd.date_range("2025-01-01", periods=7 + 8 + 3, freq="D")
    counts = np.array([3, 0, 5, 1, 0, 4, 2, 0, 6, 1, 1, 0, 3, 2, 0, 5, 1, 2], dtype=float)
    out = forecast(pd.DataFrame({"d": days, "n": counts}), "d", "n", 7, progress=False)
    assert (out.yhat_upper_95 > out.yhat_lower_95).all()
    assert (out.yhat >= 0).all() and (out.yhat_lower_95 >= 0).all()


def _hourly(n: int = 100) -> pd.DataFrame:
    return pd.DataFrame({"t": pd.date_range("2025-01-01", periods=n, freq="h"), "y": np.arange(n, dtype=float)})


@pytest.mark.parametrize(
    ("change", "kwargs", "message"),
    [
        (lambda d: d.drop(index=[10, 11, 12]), {}, "3 missing timestamp"),
        (lambda d: pd.concat([d, d.iloc[[5]]]), {}, "duplicated timestamp"),
        (lambda d: d.assign(y=d.y.where(d.index != 7)), {}, "missing or infinite"),
        (lambda d: d.head(20), {}, "needs at least 32"),
        (lambda d: d, {"horizon": 0}, "horizon must be a positive"),
        (lambda d: d, {"horizon": -3}, "horizon must be a positive"),
        (lambda d: d, {"horizon": 2.5}, "horizon must be a positive"),
        (lambda d: d, {"value": "nope"}, "no column 'nope' in the data"),
        (lambda d: d, {"level": (80, 120)}, "level must be percentages"),
        (lambda d: d, {"models": ("prophet",)}, "unknown model"),
        (lambda d: d.assign(y=d.y.astype(str)), {}, "must be numeric"),
        (lambda d: d.assign(t=d.t + pd.to_timedelta(np.where(d.index == 40, 7, 0), unit="min")), {}, "not on the"),
    ],
)
def test_bad_input_gets_a_one_line_message(change, kwargs, message: str) -> None:
    args = {"time": "t", "value": "y", "horizon": 24} | kwargs
    with pytest.raises(ValueError, match=message) as info:
        forecast(change(_hourly()), **args, progress=False)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("as_text", [False, True])
def test_mixed_time_zones_are_refused(as_text: bool) -> None:
    stamps = [pd.Timestamp("2025-01-01 00:00", tz="UTC") + pd.Timedelta(hours=i) for i in range(60)]
    stamps[30] = stamps[30].tz_convert("America/New_York")
    column = [s.isoformat() for s in stamps] if as_text else pd.Series(stamps, dtype=object)
    with pytest.raises(ValueError, match="mixes time zones"):
        forecast(pd.DataFrame({"t": column, "y": np.arange(60.0)}), "t", "y", 6, progress=False)
