"""Customer lifetime value: BG/NBD for repeat purchases and Gamma-Gamma for spend.

The two standard probabilistic models (Fader, Hardie and Lee 2005, "Counting
your customers the easy way" and "RFM and CLV") fitted by maximum likelihood
with scipy. pymc-marketing's CLV module is the maintained home of these models
but adds 28 packages and 230 MB to our install (PyMC, PyTensor, numba and
llvmlite, ArviZ, xarray, h5py), takes 8 s to import and compiles C++ at run
time: on CDNOW its first BG/NBD fit takes 19 s with a cold PyTensor cache and
its MAP fit 1.5 s warm, against 0.1 s for ours (``benchmarks/clv.py``, 2 cores).
``lifetimes`` is unmaintained since 2020. Our fit reproduces the published CDNOW
parameters (see ``tests/unit/test_clv.py``).

Purchases on the same calendar day count as one transaction, as in the papers;
zero-value purchases count as purchases but customers whose repeat purchases
average zero are left out of the spend fit. Value is undiscounted expected
spend over the horizon.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape

import numpy as np
import pandas as pd
from scipy import optimize, special

from codex_jupyter.errors import InputError, require_columns

#: Fewest customers with a repeat purchase that the spend model is fitted on.
MIN_REPEAT_CUSTOMERS = 10


@dataclass(frozen=True)
class CLVResult:
    """What :func:`clv` found.

    ``customers``: one row per customer with ``frequency`` (repeat purchase
    days), ``recency`` and ``age`` (time of last purchase and of the end of
    observation, both since the first purchase, in ``unit``s), ``avg_spend``,
    ``p_alive``, ``expected_purchases`` and ``expected_spend`` per purchase
    over the horizon and ``clv`` (their product). ``segments``: totals and
    means per segment (when a segment column was given). ``params``: the
    fitted BG/NBD (r, alpha, a, b) and Gamma-Gamma (p, q, gamma) parameters.
    ``holdout``: the calibration/holdout check when ``calibration_end`` was
    given: actual against predicted purchases in the holdout period, by the
    number of repeat purchases in the calibration period.
    """

    customers: pd.DataFrame
    segments: pd.DataFrame | None
    params: dict[str, float]
    holdout: pd.DataFrame | None = field(default=None)

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v:.3f}" for k, v in self.params.items())
        return f"CLVResult({len(self.customers)} customers; {params})"

    def _repr_html_(self) -> str:
        parts = [f"<p>{escape(repr(self))}</p>"]
        if self.segments is not None:
            parts.append(self.segments.to_html(index=False, float_format="{:,.2f}".format))
        if self.holdout is not None:
            parts.append("<b>Calibration / holdout check</b>" + self.holdout.to_html(index=False))
        return "<div>" + "".join(parts) + "</div>"


def summarise(
    transactions: pd.DataFrame,
    customer: str,
    time: str,
    amount: str,
    observation_end: pd.Timestamp,
    unit: str = "W",
) -> pd.DataFrame:
    """Frequency, recency, age and average repeat spend per customer (purchases before ``observation_end``)."""
    span = pd.Timedelta(1, unit=unit) if unit != "W" else pd.Timedelta(weeks=1)
    days = (
        pd.DataFrame({"c": transactions[customer], "d": transactions[time].dt.floor("D"), "v": transactions[amount]})
        .loc[lambda f: f.d < observation_end]
        .groupby(["c", "d"], sort=True)
        .v.sum()
        .reset_index()
    )
    g = days.groupby("c", sort=True)
    first, last, n, total = g.d.min(), g.d.max(), g.d.size(), g.v.sum()
    first_value = days.drop_duplicates("c").set_index("c").v
    repeats = n - 1
    with np.errstate(invalid="ignore", divide="ignore"):
        avg = np.where(repeats > 0, (total - first_value) / repeats, np.nan)
    return pd.DataFrame(
        {
            "frequency": repeats.to_numpy(),
            "recency": ((last - first) / span).to_numpy(),
            "age": ((observation_end - first) / span).to_numpy(),
            "avg_spend": avg,
        },
        index=first.index.rename(customer),
    )


def _bgnbd_loglik(params: np.ndarray, x: np.ndarray, tx: np.ndarray, age: np.ndarray) -> np.ndarray:
    """Per-customer BG/NBD log-likelihood (Fader, Hardie and Lee 2005, equation 6)."""
    r, alpha, a, b = params
    a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    a2 = special.betaln(a, b + x) - special.betaln(a, b)
    a3 = -(r + x) * np.log(alpha + age)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(x > 0, np.log(a) - np.log(b + x - 1) - (r + x) * np.log(alpha + tx), -np.inf)
    return a1 + a2 + np.logaddexp(a3, a4)


def _gamma_gamma_loglik(params: np.ndarray, x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Per-customer Gamma-Gamma log-likelihood of the average spend ``m`` over ``x`` purchases."""
    p, q, g = params
    return (
        special.gammaln(p * x + q)
        - special.gammaln(p * x)
        - special.gammaln(q)
        + q * np.log(g)
        + (p * x - 1) * np.log(m)
        + p * x * np.log(x)
        - (p * x + q) * np.log(g + x * m)
    )


def _fit(loglik: Callable[..., np.ndarray], n_params: int, *data: np.ndarray) -> np.ndarray:
    """Maximum likelihood over log-parameters (keeps every parameter positive)."""

    def objective(log_params: np.ndarray) -> float:
        value = -loglik(np.exp(log_params), *data).sum()
        return value if np.isfinite(value) else 1e300

    # A quasi-Newton run gets close fast; a simplex polish then settles flat ridges the gradient steps stall on.
    res = optimize.minimize(objective, np.zeros(n_params), method="L-BFGS-B")
    res = optimize.minimize(
        objective, res.x, method="Nelder-Mead", options={"maxiter": 4000, "xatol": 1e-6, "fatol": 1e-8}
    )
    return np.exp(res.x)


def fit_bgnbd(summary: pd.DataFrame) -> dict[str, float]:
    """BG/NBD parameters ``r, alpha, a, b`` by maximum likelihood."""
    r, alpha, a, b = _fit(_bgnbd_loglik, 4, *(summary[c].to_numpy(float) for c in ("frequency", "recency", "age")))
    return {"r": r, "alpha": alpha, "a": a, "b": b}


def fit_gamma_gamma(summary: pd.DataFrame) -> dict[str, float]:
    """Gamma-Gamma parameters ``p, q, gamma`` from customers with repeat purchases of positive value."""
    repeat = summary[(summary.frequency > 0) & (summary.avg_spend > 0)]
    if len(repeat) < MIN_REPEAT_CUSTOMERS:
        raise InputError(
            f"only {len(repeat)} customers bought more than once; the spend model needs at least "
            f"{MIN_REPEAT_CUSTOMERS} (use a longer period of transactions)"
        )
    p, q, g = _fit(_gamma_gamma_loglik, 3, repeat.frequency.to_numpy(float), repeat.avg_spend.to_numpy(float))
    return {"p": p, "q": q, "gamma": g}


def p_alive(params: dict[str, float], summary: pd.DataFrame) -> np.ndarray:
    """Probability that each customer is still active at the end of observation."""
    r, alpha, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
    x, tx, age = (summary[c].to_numpy(float) for c in ("frequency", "recency", "age"))
    with np.errstate(divide="ignore", invalid="ignore"):
        odds = np.where(x > 0, a / (b + x - 1) * ((alpha + age) / (alpha + tx)) ** (r + x), 0.0)
    return 1 / (1 + odds)


def expected_purchases(params: dict[str, float], summary: pd.DataFrame, t: float) -> np.ndarray:
    """Expected purchases in the next ``t`` units given each customer's history (FHL 2005, equation 10)."""
    r, alpha, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
    x, age = summary.frequency.to_numpy(float), summary.age.to_numpy(float)
    hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + age + t))
    first = (a + b + x - 1) / (a - 1) * (1 - ((alpha + age) / (alpha + age + t)) ** (r + x) * hyp)
    return first * p_alive(params, summary)


def expected_spend(params: dict[str, float], summary: pd.DataFrame) -> np.ndarray:
    """Expected spend per purchase: each customer's average shrunk towards the population mean."""
    p, q, g = params["p"], params["q"], params["gamma"]
    x, m = summary.frequency.to_numpy(float), summary.avg_spend.to_numpy(float)
    population = p * g / (q - 1) if q > 1 else np.nan
    with np.errstate(invalid="ignore"):
        return np.where(x > 0, (g + x * np.nan_to_num(m)) * p / (p * x + q - 1), population)


def _check(transactions: pd.DataFrame, customer: str, time: str, amount: str, horizon: float) -> pd.DataFrame:
    if not isinstance(transactions, pd.DataFrame):
        raise InputError(f"transactions must be a pandas DataFrame, not {type(transactions).__name__}")
    require_columns(transactions.columns, (customer, time, amount), "transactions")
    if not horizon > 0:
        raise InputError(f"horizon must be a positive number of time units, got {horizon!r}")
    frame = transactions.copy()
    frame[time] = pd.to_datetime(frame[time])
    if frame[[customer, time, amount]].isna().any().any():
        raise InputError(f"columns {customer!r}, {time!r} and {amount!r} must have no missing values; drop those rows")
    if (frame[amount] < 0).any():
        raise InputError(
            f"{int((frame[amount] < 0).sum())} transaction(s) have a negative {amount!r}; drop refunds "
            "(or net them into their purchase) first"
        )
    return frame


def clv(
    transactions: pd.DataFrame,
    customer: str,
    time: str,
    amount: str,
    horizon: float = 52,
    *,
    segment: str | None = None,
    unit: str = "W",
    observation_end: str | pd.Timestamp | None = None,
    calibration_end: str | pd.Timestamp | None = None,
) -> CLVResult:
    """Expected purchases, spend and lifetime value per customer over the next ``horizon`` ``unit``s.

    ``transactions`` has one row per purchase. Observation ends at
    ``observation_end`` (default: the day after the last purchase). With
    ``calibration_end``, the models are also fitted on purchases before it and
    their predictions for the rest of the observation period are checked
    against what customers actually did (``CLVResult.holdout``); the reported
    values come from the fit on all the data.
    """
    frame = _check(transactions, customer, time, amount, horizon)
    end = (
        pd.Timestamp(observation_end)
        if observation_end is not None
        else frame[time].max().floor("D") + pd.Timedelta(days=1)
    )
    summary = summarise(frame, customer, time, amount, end, unit)
    params = fit_bgnbd(summary) | fit_gamma_gamma(summary)
    out = summary.assign(
        p_alive=p_alive(params, summary),
        expected_purchases=expected_purchases(params, summary, horizon),
        expected_spend=expected_spend(params, summary),
    )
    out["clv"] = out.expected_purchases * out.expected_spend
    segments = None
    if segment is not None:
        require_columns(frame.columns, [segment], "transactions (segment=)")
        out.insert(0, segment, frame.groupby(customer)[segment].first().reindex(out.index))
        segments = (
            out.groupby(segment, sort=True)
            .agg(
                customers=("clv", "size"),
                total_clv=("clv", "sum"),
                mean_clv=("clv", "mean"),
                mean_p_alive=("p_alive", "mean"),
                mean_expected_purchases=("expected_purchases", "mean"),
            )
            .reset_index()
            .sort_values("total_clv", ascending=False, ignore_index=True)
        )
    holdout = None
    if calibration_end is not None:
        holdout = holdout_check(frame, customer, time, amount, pd.Timestamp(calibration_end), end, unit)
    return CLVResult(customers=out.reset_index(), segments=segments, params=params, holdout=holdout)


def holdout_check(
    transactions: pd.DataFrame,
    customer: str,
    time: str,
    amount: str,
    calibration_end: pd.Timestamp,
    observation_end: pd.Timestamp,
    unit: str = "W",
) -> pd.DataFrame:
    """Fit on purchases before ``calibration_end``; compare predicted and actual purchases after it.

    Rows group customers by their repeat purchases in the calibration period
    (0 to 6, then "7+"), as in Fader, Hardie and Lee (2005), plus a total row.
    """
    if not transactions[time].min() < calibration_end < observation_end:
        raise InputError("calibration_end must fall after the first purchase and before the end of observation")
    calib = summarise(transactions, customer, time, amount, calibration_end, unit)
    params = fit_bgnbd(calib)
    span = (observation_end - calibration_end) / (pd.Timedelta(weeks=1) if unit == "W" else pd.Timedelta(1, unit=unit))
    later = transactions[(transactions[time] >= calibration_end) & (transactions[time] < observation_end)]
    actual = later.assign(d=later[time].dt.floor("D")).drop_duplicates([customer, "d"]).groupby(customer).size()
    table = pd.DataFrame(
        {
            "calibration_purchases": np.where(calib.frequency >= 7, "7+", calib.frequency.astype(str)),
            "actual": actual.reindex(calib.index, fill_value=0).to_numpy(),
            "predicted": expected_purchases(params, calib, span),
        }
    )
    grouped = table.groupby("calibration_purchases").agg(
        customers=("actual", "size"), actual=("actual", "mean"), predicted=("predicted", "mean")
    )
    order = sorted(grouped.index, key=lambda k: 99 if k == "7+" else int(k))
    grouped = grouped.loc[order].reset_index()
    total = pd.DataFrame(
        [
            {
                "calibration_purchases": "all (total)",
                "customers": len(table),
                "actual": table.actual.sum(),
                "predicted": table.predicted.sum(),
            }
        ]
    )
    return pd.concat([grouped, total], ignore_index=True).round({"actual": 3, "predicted": 3})
