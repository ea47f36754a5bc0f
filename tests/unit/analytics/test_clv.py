"""Customer lifetime value: the published CDNOW parameters, recovery of known parameters, the holdout check."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from codex_jupyter.analytics.clv import clv, fit_bgnbd, fit_gamma_gamma, summarise

# Fader, Hardie and Lee (2005): BG/NBD on the CDNOW sample (2,357 customers, 39 calibration weeks),
# and the Gamma-Gamma spend model on its 946 repeat buyers.
PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "gamma": 15.44}


def _cdnow_dir() -> Path:
    """The CDNOW files shipped in the ``lifetimes`` wheel (a test-only dependency; never imported)."""
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("the test-only dependency lifetimes==0.11.3 (source of the CDNOW data files) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets"


@pytest.fixture(scope="module")
def cdnow() -> pd.DataFrame:
    raw = pd.read_csv(
        _cdnow_dir() / "CDNOW_sample.txt",
        sep=r"\s+",
        header=None,
        names=["master_id", "customer", "date", "cds", "value"],
        dtype={"date": str},
    )
    return raw.assign(date=pd.to_datetime(raw.date, format="%Y%m%d"))


def test_bgnbd_reproduces_the_published_cdnow_fit_from_the_published_summary() -> None:
    summary = pd.read_csv(_cdnow_dir() / "cdnow_customers_summary.csv").rename(columns={"T": "age"})
    params = fit_bgnbd(summary)
    assert params == pytest.approx(PUBLISHED_BGNBD, rel=0.002)


def test_fit_from_raw_cdnow_transactions_matches_the_papers(cdnow: pd.DataFrame) -> None:
    """From raw purchases, day-level ages differ slightly from the paper's week fractions: a few percent at most."""
    summary = summarise(cdnow, "customer", "date", "value", pd.Timestamp("1997-10-01"))
    assert len(summary) == 2357 and int((summary.frequency > 0).sum()) == 946
    assert fit_bgnbd(summary) == pytest.approx(PUBLISHED_BGNBD, rel=0.05)
    assert fit_gamma_gamma(summary) == pytest.approx(PUBLISHED_GAMMA_GAMMA, rel=0.005)


def test_cdnow_holdout_check_tracks_what_customers_did(cdnow: pd.DataFrame) -> None:
    result = clv(cdnow, "customer", "date", "value", 39, observation_end="1998-07-01", calibration_end="1997-10-01")
    check = result.holdout.set_index("calibration_purchases")
    assert list(check.index[:3]) == ["0", "1", "2"] and check.index[-1] == "all (total)"
    assert check.loc["all (total)", "customers"] == 2357
    # the known behaviour of BG/NBD on CDNOW: conditional expectations rise with past frequency, totals within ~15 %
    assert check.loc["7+", "predicted"] > check.loc["1", "predicted"] > check.loc["0", "predicted"]
    assert check.loc["all (total)", "predicted"] == pytest.approx(check.loc["all (total)", "actual"], rel=0.15)


def simulate(n: int, r: float, alpha: float, a: float, b: float, weeks: float, seed: int = 0) -> pd.DataFrame:
    """Purchases from the BG/NBD story with spend from Gamma-Gamma (p=6, q=4, gamma=20), all starting at week 0."""
    rng = np.random.default_rng(seed)
    rows = []
    start = pd.Timestamp("2024-01-01")
    for c in range(n):
        lam, drop = rng.gamma(r, 1 / alpha), rng.beta(a, b)
        nu = rng.gamma(4, 1 / 20)
        t, times = 0.0, [0.0]
        while True:
            t += rng.exponential(1 / lam)
            if t >= weeks:
                break
            times.append(t)
            if rng.random() < drop:
                break
        days = np.unique(np.floor(np.array(times) * 7))
        for d in days:
            rows.append(
                (f"C{c:05d}", start + pd.Timedelta(days=float(d)), rng.gamma(6, 1 / nu), "gold" if c % 3 else "basic")
            )
    return pd.DataFrame(rows, columns=["customer", "ts", "amount", "tier"])


@pytest.fixture(scope="module")
def simulated() -> pd.DataFrame:
    return simulate(3000, r=0.6, alpha=6.0, a=0.7, b=2.5, weeks=104)


def test_known_parameters_are_recovered(simulated: pd.DataFrame) -> None:
    result = clv(simulated, "customer", "ts", "amount", 52, segment="tier", observation_end="2025-12-29")
    assert result.params["r"] == pytest.approx(0.6, rel=0.2)
    assert result.params["alpha"] == pytest.approx(6.0, rel=0.25)
    assert result.params["a"] / (result.params["a"] + result.params["b"]) == pytest.approx(0.7 / 3.2, rel=0.25)
    assert result.params["p"] * result.params["gamma"] / (result.params["q"] - 1) == pytest.approx(
        simulated.amount.mean(), rel=0.25
    )
    customers = result.customers
    assert len(customers) == 3000 and customers.p_alive.between(0, 1).all()
    assert {"tier", "frequency", "recency", "age", "expected_purchases", "expected_spend", "clv"} <= set(customers)
    assert (customers.clv >= 0).all()
    assert set(result.segments.tier) == {"gold", "basic"}
    assert result.segments.customers.sum() == 3000


def test_frequent_recent_buyers_are_worth_more(simulated: pd.DataFrame) -> None:
    customers = clv(simulated, "customer", "ts", "amount", 52, observation_end="2025-12-29").customers
    busy = customers[(customers.frequency >= 5) & (customers.age - customers.recency < 4)]
    lapsed = customers[(customers.frequency >= 5) & (customers.age - customers.recency > 40)]
    assert busy.p_alive.mean() > 0.8 > lapsed.p_alive.mean()
    assert busy.clv.mean() > lapsed.clv.mean()


@pytest.mark.parametrize(
    ("change", "kwargs", "message"),
    [
        (lambda d: d.assign(amount=-d.amount), {}, "negative 'amount'"),
        (lambda d: d.drop(columns="amount"), {}, "no column 'amount' in transactions"),
        (lambda d: d, {"horizon": 0}, "horizon must be a positive"),
        (lambda d: d.head(3), {}, "bought more than once"),
        (lambda d: d, {"segment": "region"}, "no column 'region' in transactions"),
        (lambda d: d.assign(ts=d.ts.where(d.index != 2)), {}, "no missing values"),
    ],
)
def test_bad_input_gets_a_clear_message(simulated: pd.DataFrame, change, kwargs, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        clv(change(simulated.head(2000)), "customer", "ts", "amount", **({"horizon": 52} | kwargs))
