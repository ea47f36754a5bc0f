"""Forecasts with honest prediction intervals, and the backtests that prove them.

``forecast`` fits every candidate model on each series' history cut at a few
rolling origins (the last ``n_windows`` horizons), keeps per series the model
with the smallest backtest error, refits it on the full history and sets the
interval widths from the backtest errors of that model (split conformal
prediction). Intervals therefore grow with the horizon as much as the real
errors did, whatever the model, instead of trusting a model's own variance
formula. Three things keep the calibration honest on real data: errors of
strictly positive series are measured relative to the series' level at each
origin (growing series have growing errors), model choice and spread are
estimated out of the window being scored, and newer backtest windows weigh
more than older ones (``_RECENCY``).

Candidate models (see :mod:`.models`): ``snaive`` (seasonal naive, the
baseline), ``ets`` (exponential smoothing, optionally damped trend), ``theta``,
``ets_log`` and ``theta_log`` (the same on the log scale, for proportional
seasonality and growth in positive series), ``gbm`` (one global gradient-boosting model on lags and calendar fields) and
``ensemble`` (the mean of ets, theta and gbm). ETS and Theta see the series
with its daily/weekly/yearly profiles removed, so hourly data gets both daily
and weekly cycles.

Series that were never negative (counts, sales) get forecasts and lower
bounds clipped at zero.

Documented behaviour for awkward input: a series that never changes is
forecast as that constant with zero-width intervals (model ``constant``); gaps,
duplicated timestamps, missing values, mixed time zones, a horizon <= 0 and
series shorter than ``horizon + 8`` points raise a one-line ``ValueError``
saying how to fix the data.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, replace
from html import escape
from typing import Any

import numpy as np
import pandas as pd

import codex_jupyter.analytics.forecast.models as fm
from codex_jupyter.analytics.forecast.inputs import MIN_TRAIN, Block, Panel, prepare
from codex_jupyter.errors import InputError

MODELS = ("snaive", "ets", "theta", "ets_log", "theta_log", "gbm", "ensemble")
#: Weight of a backtest window's scores relative to the next newer window's (see ``_conformal_quantiles``).
_RECENCY = 0.6
#: Points above which a progress bar is shown by default.
_PROGRESS_POINTS = 100_000


def _check_levels(level: float | Sequence[float]) -> tuple[float, ...]:
    levels = (level,) if isinstance(level, int | float) else tuple(level)
    if not levels or any(not 0 < lv < 100 for lv in levels):
        raise InputError(f"level must be percentages strictly between 0 and 100, e.g. (80, 95); got {level!r}")
    return levels


def _check_models(models: Sequence[str]) -> tuple[str, ...]:
    unknown = sorted(set(models) - set(MODELS))
    if unknown or not models:
        raise InputError(f"unknown model(s) {unknown}; choose from {list(MODELS)}")
    return tuple(m for m in MODELS if m in models)


def _check_windows(n_windows: int) -> None:
    if isinstance(n_windows, bool) or not isinstance(n_windows, int) or n_windows < 1:
        raise InputError(f"n_windows must be a whole number >= 1, got {n_windows!r}")


def _level_name(level: float) -> str:
    return f"{level:g}".replace(".", "_")


def _progress(total: int, enabled: bool | None, points: int, desc: str) -> Any:
    from tqdm.auto import tqdm

    show = points >= _PROGRESS_POINTS if enabled is None else enabled
    return tqdm(total=total, desc=desc, disable=not show, leave=False)


def _fit_predict(
    blocks: list[tuple[np.ndarray, pd.DatetimeIndex, pd.DatetimeIndex]],
    periods: tuple[int, ...],
    models: tuple[str, ...],
    seed: int,
) -> list[dict[str, np.ndarray]]:
    """Every requested model's forecasts, per block (the ensemble needs ets, theta and gbm)."""
    horizon = len(blocks[0][2])
    out = [fm.statistical(y, periods, horizon) for y, _, _ in blocks]
    if "gbm" in models or "ensemble" in models:
        for res, pred in zip(out, fm.gradient_boosting(blocks, periods, seed), strict=True):
            res["gbm"] = pred
            res["ensemble"] = (res["ets"] + res["theta"] + pred) / 3
    for (y, _, _), res in zip(blocks, out, strict=True):
        never_negative = (y >= 0).all(axis=1)[:, None]
        for m in res:
            res[m] = np.where(never_negative, np.maximum(res[m], 0.0), res[m])
    return [{m: res[m] for m in models} for res in out]


def _scale(y: np.ndarray, periods: tuple[int, ...]) -> np.ndarray:
    """In-sample mean absolute error of the seasonal naive forecast: the MASE denominator."""
    usable = fm.usable_periods(periods, y.shape[1])
    m = usable[0] if usable else 1
    return np.abs(y[:, m:] - y[:, :-m]).mean(axis=1)


def _origin_level(values: np.ndarray, periods: tuple[int, ...]) -> np.ndarray:
    """The series' recent level at a forecast origin: the scale its errors are measured against.

    Errors of growing positive series (sales, passengers, prices) grow with
    their level, so errors from backtest windows cut years ago understate
    today's. Strictly positive series are therefore scored relative to the
    mean of their last cycle before the origin; others (level 1) absolutely.
    """
    usable = fm.usable_periods(periods, values.shape[1])
    recent = values[:, -max(usable[0] if usable else 1, 4) :]
    return np.where((values > 0).all(axis=1), recent.mean(axis=1), 1.0)


def _step_profile(scores: np.ndarray) -> np.ndarray:
    """How the typical score grows with the horizon: mean score per step, made non-decreasing (isotonic).

    Means rest on every score of a step, so they are far steadier than a high
    quantile per step would be.
    """
    from sklearn.isotonic import IsotonicRegression

    finite = np.isfinite(scores)
    counts = finite.sum(axis=0)
    seen = counts > 0
    if not seen.any():
        return np.ones(scores.shape[1])
    means = np.where(finite, scores, 0.0).sum(axis=0)[seen] / counts[seen]
    if means.max() <= 0:
        return np.ones(scores.shape[1])
    steps = np.arange(scores.shape[1])
    fit = IsotonicRegression(increasing=True, out_of_bounds="clip").fit(steps[seen], means, sample_weight=counts[seen])
    return np.maximum(fit.predict(steps), 1e-12)


def _conformal_quantiles(scores: np.ndarray, ages: np.ndarray, levels: tuple[float, ...]) -> dict[float, np.ndarray]:
    """Per horizon step, the conformal quantile of the scores (rows: window x series, columns: steps).

    Errors grow with the horizon, but a high quantile taken per step rests on
    few scores and is noisy. So the growth comes from ``_step_profile`` and
    one quantile is taken over all scores divided by it. Scores from older
    backtest windows weigh ``_RECENCY`` times less per window of age
    (weighted conformal prediction for data that drift, Barber et al. 2023):
    the newest windows, trained on nearly as much history as the final fit,
    say most about the next horizon. With too few scores for a level, the
    largest score is used.
    """
    profile = _step_profile(scores)
    finite = np.isfinite(scores)
    values = (scores / profile)[finite]
    weights = np.broadcast_to(_RECENCY ** ages[:, None].astype(float), scores.shape)[finite]
    order = np.argsort(values)
    values = values[order]
    cumulative = np.cumsum(weights[order]) / (weights.sum() + 1.0)  # the next point's weight is 1: the newest
    out = {}
    for level in levels:
        if not len(values):
            out[level] = np.zeros(scores.shape[1])
            continue
        k = min(len(values) - 1, int(np.searchsorted(cumulative, level / 100)))
        out[level] = values[k] * profile
    return out


def _honest_scores(abs_err: np.ndarray, fallback: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Conformity scores that carry model choice and spread estimation out of sample.

    For each backtest window the model is chosen, and the series' typical
    error (its spread) measured, on the *other* windows only; the window's
    errors divided by that spread are the scores. Choosing on the same errors
    that calibrate the intervals would make them too narrow. A series with a
    single window has nothing to leave out and uses its in-sample choice.
    ``abs_err`` is models x windows x series x steps (NaN where a series has no such window).
    """
    _, n_windows, n_series, _ = abs_err.shape
    have = np.isfinite(abs_err[0, :, :, 0])  # windows x series
    per_window = np.where(have[None], np.nan_to_num(abs_err).mean(axis=3), 0.0)
    total, count = per_window.sum(axis=1), have.sum(axis=0)
    leave_out = count >= 2
    rows = np.arange(n_series)
    out, ages = [], []
    for w in range(n_windows):
        rest = (total - np.where(leave_out, per_window[:, w], 0.0)) / np.maximum(count - leave_out * have[w], 1)
        pick = np.argmin(rest, axis=0)
        spread = rest[pick, rows]
        spread = np.where(spread > 0, spread, fallback)
        ok = have[w] & (spread > 0)
        out.append(abs_err[pick[ok], w, rows[ok]] / spread[ok, None])
        ages.append(np.full(ok.sum(), w))
    return np.concatenate(out), np.concatenate(ages)


@dataclass
class _Fitted:
    """Per block: every model's final forecasts, the model chosen per series, the forecast and its bounds."""

    block: Block
    preds: dict[str, np.ndarray]
    chosen: np.ndarray
    yhat: np.ndarray
    bounds: dict[float, tuple[np.ndarray, np.ndarray]]


def _forecast_panel(
    panel: Panel,
    horizon: int,
    levels: tuple[float, ...],
    models: tuple[str, ...],
    n_windows: int,
    progress: bool | None,
    seed: int,
) -> list[_Fitted]:
    """Backtest every model, choose per series, refit on everything and add conformal intervals."""
    points = sum(b.values.size for b in panel.blocks)
    windows = [min(n_windows, (b.values.shape[1] - MIN_TRAIN) // horizon) for b in panel.blocks]
    errors = [{m: np.full((n_windows, len(b.keys), horizon), np.nan) for m in models} for b in panel.blocks]
    origin = [np.ones((n_windows, len(b.keys))) for b in panel.blocks]
    with _progress(n_windows + 1, progress, points, "forecast") as bar:
        for w in range(1, n_windows + 1):
            bar.set_description(f"backtest window {w}/{n_windows}")
            live = [i for i, b in enumerate(panel.blocks) if windows[i] >= w]
            cuts = [panel.blocks[i].values.shape[1] - w * horizon for i in live]
            jobs = [
                (panel.blocks[i].values[:, :c], panel.blocks[i].index[:c], panel.blocks[i].index[c : c + horizon])
                for i, c in zip(live, cuts, strict=True)
            ]
            results = _fit_predict(jobs, panel.periods, models, seed) if jobs else []
            for i, c, res in zip(live, cuts, results, strict=True):
                origin[i][w - 1] = _origin_level(panel.blocks[i].values[:, :c], panel.periods)
                for m in models:
                    errors[i][m][w - 1] = panel.blocks[i].values[:, c : c + horizon] - res[m]
            bar.update()
        bar.set_description("final fit")
        jobs = [(b.values, b.index, _future(b.index, panel.freq, horizon)) for b in panel.blocks]
        finals = _fit_predict(jobs, panel.periods, models, seed)
        bar.update()

    fitted, spreads, scores = [], [], []
    for b, err, preds, lvl in zip(panel.blocks, errors, finals, origin, strict=True):
        rows = np.arange(len(b.keys))
        abs_err = np.abs(np.stack([err[m] for m in models]))  # models x windows x series x steps
        mae = np.nanmean(abs_err, axis=(1, 3)).T  # series x models
        rel_err = abs_err / lvl[None, :, :, None]
        now = _origin_level(b.values, panel.periods)
        pick = np.argmin(mae, axis=1)
        yhat = np.stack([preds[m] for m in models], axis=1)[rows, pick]
        constant = np.ptp(b.values, axis=1) == 0
        fallback = np.where(constant, 0.0, _scale(b.values, panel.periods))
        spread = np.where(constant, 0.0, np.nanmean(rel_err, axis=(1, 3)).T[rows, pick] * now)
        spread = np.where(spread > 0, spread, fallback)
        scores.append(_honest_scores(rel_err[:, :, ~constant], fallback[~constant] / now[~constant]))
        chosen = np.asarray(models, dtype=object)[pick]
        chosen[constant] = "constant"
        yhat[constant] = b.values[constant, -1:]
        fitted.append(_Fitted(b, preds, chosen, yhat, {}))
        spreads.append(spread)
    quantiles = _conformal_quantiles(
        np.concatenate([s for s, _ in scores]), np.concatenate([a for _, a in scores]), levels
    )
    for f, spread in zip(fitted, spreads, strict=True):
        for level, q in quantiles.items():
            half = spread[:, None] * q[None, :]
            lower = np.where((f.block.values >= 0).all(axis=1)[:, None], np.maximum(f.yhat - half, 0.0), f.yhat - half)
            f.bounds[level] = (lower, f.yhat + half)
    return fitted


def _future(index: pd.DatetimeIndex, freq: pd.DateOffset, horizon: int) -> pd.DatetimeIndex:
    return pd.date_range(index[-1], periods=horizon + 1, freq=freq)[1:]


def _key_columns(by: str | Sequence[str] | None, keys: list[Hashable], repeat: int) -> dict[str, np.ndarray]:
    """The ``by`` column(s) for ``keys``, each key repeated ``repeat`` times."""
    if by is None:
        return {}
    names = [by] if isinstance(by, str) else list(by)
    values = [keys] if len(names) == 1 else list(zip(*keys, strict=True))
    return {n: np.repeat(np.asarray(v, dtype=object), repeat) for n, v in zip(names, values, strict=True)}


def forecast(
    data: pd.DataFrame,
    time: str,
    value: str,
    horizon: int,
    by: str | Sequence[str] | None = None,
    freq: str | None = None,
    level: float | Sequence[float] = (80, 95),
    *,
    models: Sequence[str] = MODELS,
    n_windows: int = 5,
    progress: bool | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Forecast ``horizon`` steps of one series, or of one series per ``by`` group, with prediction intervals.

    ``data`` is long: one row per timestamp (and group). ``freq`` is inferred
    when not given. Returns one row per series and future step: the ``by``
    column(s), ``ds``, ``yhat``, ``yhat_lower_<level>``/``yhat_upper_<level>``
    per level and ``model`` (the model chosen for that series by the rolling
    backtest over the last ``n_windows`` horizons). Results are deterministic
    for a given ``seed``. A progress bar shows on large inputs (``progress=True``
    forces it, ``False`` hides it).
    """
    levels = _check_levels(level)
    models = _check_models(models)
    _check_windows(n_windows)
    panel = prepare(data, time, value, horizon, by, freq)
    fitted = _forecast_panel(panel, int(horizon), levels, models, n_windows, progress, seed)
    frames = []
    for f in fitted:
        n = len(f.block.keys)
        cols: dict[str, object] = _key_columns(by, f.block.keys, horizon)
        cols["ds"] = np.tile(_future(f.block.index, panel.freq, horizon), n)
        cols["yhat"] = f.yhat.ravel()
        for lv in levels:
            cols[f"yhat_lower_{_level_name(lv)}"] = f.bounds[lv][0].ravel()
            cols[f"yhat_upper_{_level_name(lv)}"] = f.bounds[lv][1].ravel()
        cols["model"] = np.repeat(f.chosen, horizon)
        frames.append(pd.DataFrame(cols))
    return pd.concat(frames, ignore_index=True)


@dataclass(frozen=True)
class BacktestReport:
    """Out-of-sample accuracy of :func:`forecast`: per series and overall, next to seasonal naive.

    ``series`` has one row per series: ``model`` (most often chosen),
    ``smape`` (percent), ``mase`` and ``coverage_<level>`` (percent of actual
    values inside the interval), plus ``smape_snaive`` and ``mase_snaive`` for
    the seasonal-naive baseline. ``overall`` is one row: means over series,
    coverage pooled over every forecast point, and ``beats_snaive_pct``, the
    share of series whose MASE is below the baseline's.
    """

    series: pd.DataFrame
    overall: pd.DataFrame

    def __repr__(self) -> str:
        return f"BacktestReport overall:\n{self.overall.to_string(index=False)}"

    def _repr_html_(self) -> str:
        return (
            f"<div><b>{escape('Backtest, overall')}</b>{self.overall.to_html(index=False)}"
            f"<b>Per series</b>{self.series.to_html(index=False, max_rows=20)}</div>"
        )


def _smape(actual: np.ndarray, pred: np.ndarray) -> np.ndarray:
    denom = np.abs(actual) + np.abs(pred)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, 200 * np.abs(actual - pred) / denom, 0.0)


def backtest(
    data: pd.DataFrame,
    time: str,
    value: str,
    horizon: int,
    by: str | Sequence[str] | None = None,
    freq: str | None = None,
    level: float | Sequence[float] = (80, 95),
    *,
    models: Sequence[str] = MODELS,
    n_windows: int = 2,
    inner_windows: int = 5,
    progress: bool | None = None,
    seed: int = 0,
) -> BacktestReport:
    """Score :func:`forecast` out of sample: sMAPE, MASE and interval coverage per series and overall.

    The last ``n_windows`` horizons of each series are held out one at a
    time; for each, ``forecast`` runs on the history before it (choosing models
    and calibrating intervals on that history only, with ``inner_windows``
    backtest windows) and is scored against what happened. Series too short
    for a window are scored on the windows they have.
    """
    levels = _check_levels(level)
    models = _check_models(models)
    _check_windows(n_windows)
    panel = prepare(data, time, value, horizon, by, freq)
    rows: dict[Hashable, dict[str, list]] = {}
    with _progress(n_windows, progress, sum(b.values.size * n_windows for b in panel.blocks), "backtest") as bar:
        for w in range(n_windows, 0, -1):
            cut_panel = replace(panel, blocks=[])
            actuals = []
            for b in panel.blocks:
                c = b.values.shape[1] - w * horizon
                if c >= horizon + MIN_TRAIN:
                    cut_panel.blocks.append(Block(b.keys, b.index[:c], b.values[:, :c]))
                    actuals.append(b.values[:, c : c + horizon])
            if not cut_panel.blocks:
                raise InputError(
                    f"series are too short to hold out {w} window(s) of {horizon} steps; "
                    "use fewer n_windows or a shorter horizon"
                )
            fitted = _forecast_panel(cut_panel, horizon, levels, models, inner_windows, False, seed)
            for f, actual in zip(fitted, actuals, strict=True):
                scale = _scale(f.block.values, panel.periods)
                with np.errstate(invalid="ignore", divide="ignore"):
                    mase = np.abs(actual - f.yhat).mean(axis=1) / scale
                    mase_naive = (
                        np.abs(actual - f.preds["snaive"]).mean(axis=1) / scale if "snaive" in f.preds else None
                    )
                for i, key in enumerate(f.block.keys):
                    r = rows.setdefault(
                        key, {"model": [], "smape": [], "mase": [], "smape_snaive": [], "mase_snaive": []}
                    )
                    r["model"].append(f.chosen[i])
                    r["smape"].append(_smape(actual[i], f.yhat[i]).mean())
                    r["mase"].append(mase[i] if scale[i] > 0 else np.nan)
                    if mase_naive is not None:
                        r["smape_snaive"].append(_smape(actual[i], f.preds["snaive"][i]).mean())
                        r["mase_snaive"].append(mase_naive[i] if scale[i] > 0 else np.nan)
                    for lv in levels:
                        lo, hi = f.bounds[lv][0][i], f.bounds[lv][1][i]
                        r.setdefault(f"hits_{_level_name(lv)}", []).extend((actual[i] >= lo) & (actual[i] <= hi))
            bar.update()
    return _report(rows, by, levels)


def _report(
    rows: dict[Hashable, dict[str, list]], by: str | Sequence[str] | None, levels: tuple[float, ...]
) -> BacktestReport:
    keys = list(rows)
    table: dict[str, object] = _key_columns(by, keys, 1)
    table["model"] = [pd.Series(rows[k]["model"]).mode().iloc[0] for k in keys]
    for col in ("smape", "mase"):
        table[col] = [np.mean(rows[k][col]) for k in keys]
    for lv in levels:
        table[f"coverage_{_level_name(lv)}"] = [100 * np.mean(rows[k][f"hits_{_level_name(lv)}"]) for k in keys]
    for col in ("smape_snaive", "mase_snaive"):
        table[col] = [np.mean(rows[k][col]) if rows[k][col] else np.nan for k in keys]
    series = pd.DataFrame(table)
    overall: dict[str, object] = {
        "series": len(series),
        "smape": series.smape.mean(),
        "mase": series.mase.mean(),
    }
    for lv in levels:
        hits = np.concatenate([rows[k][f"hits_{_level_name(lv)}"] for k in keys])
        overall[f"coverage_{_level_name(lv)}"] = 100 * hits.mean()
    overall["smape_snaive"] = series.smape_snaive.mean()
    overall["mase_snaive"] = series.mase_snaive.mean()
    overall["beats_snaive_pct"] = 100 * (series.mase < series.mase_snaive).mean()
    return BacktestReport(series=series, overall=pd.DataFrame([overall]))
