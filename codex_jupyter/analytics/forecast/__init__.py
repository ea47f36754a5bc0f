"""Forecasts with conformal prediction intervals: input checks (:mod:`.inputs`), the candidate
models (:mod:`.models`), and model choice, intervals and backtests (:mod:`.forecaster`).
"""

from codex_jupyter.analytics.forecast.forecaster import MODELS, BacktestReport, backtest, forecast

__all__ = ["MODELS", "BacktestReport", "backtest", "forecast"]
