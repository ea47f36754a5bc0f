"""``fraud_review``: location and amount rules merged into one queue, each transaction flagged once with a reason."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from codex_jupyter.analytics.fraud import fraud_review
from codex_jupyter.errors import InputError

CUSTOMERS = pd.DataFrame({"customer_id": ["c1"], "home_lat": [51.5074], "home_lon": [-0.1278]})


def _history() -> pd.DataFrame:
    """200 ordinary purchases at home, then a 50-fold one at home and a first use in New York."""
    rng = np.random.default_rng(3)
    n = 200
    rows = pd.DataFrame(
        {
            "customer_id": "c1",
            "ts": pd.date_range("2025-01-01", periods=n, freq="D"),
            "lat": 51.50 + rng.normal(0, 0.01, n),
            "lon": -0.12 + rng.normal(0, 0.01, n),
            "amount": np.exp(rng.normal(np.log(40), 0.3, n)),
            "is_fraud": False,
        }
    )
    odd = pd.DataFrame(
        {
            "customer_id": ["c1", "c1"],
            "ts": pd.to_datetime(["2025-08-01 12:00", "2025-08-03 12:00"]),
            "lat": [51.51, 40.71],
            "lon": [-0.12, -74.0],
            "amount": [2000.0, 45.0],
            "is_fraud": [True, True],
        }
    )
    return pd.concat([rows, odd], ignore_index=True)


def test_each_flag_names_its_rule_and_reason_and_location_wins() -> None:
    review = fraud_review(_history(), CUSTOMERS)
    queue = review.flagged
    assert queue.flagged_by.tolist() == ["location", "amount"]  # newest first
    assert "km from home" in queue.why.iloc[0] and queue.why.iloc[1] != ""
    assert review.kpis() == {
        "Transactions": 202,
        "Flagged for review": 2,
        "Labelled fraud among flagged": "100%",
        "Labelled fraud caught": "100%",
    }


def test_by_rule_crosses_rules_with_labels() -> None:
    history = _history().assign(fraud_type=lambda d: np.where(d.is_fraud, "stolen card", None))
    table = fraud_review(history, CUSTOMERS).by_rule()
    assert table.loc["not flagged", "genuine"] == 200 and table.loc["amount", "stolen card"] == 1


def test_without_labels_there_are_no_label_figures() -> None:
    review = fraud_review(_history().drop(columns="is_fraud"), CUSTOMERS)
    assert list(review.kpis()) == ["Transactions", "Flagged for review"]


def test_missing_amount_names_the_fix() -> None:
    with pytest.raises(InputError, match="amount="):
        fraud_review(_history().drop(columns="amount"), CUSTOMERS)
