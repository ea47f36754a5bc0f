"""A card-fraud review queue: the location rules and an amount rule merged into one list with one reason per row.

Why one function: a reviewer wants one queue, each transaction flagged once
with the rule that flagged it and a sentence to read, not two detectors'
outputs to reconcile. Location comes first (its reason names a distance and a
speed, which a customer can confirm); the amount rule adds what the location
rules did not flag. Amounts are judged on a log scale against the customer's
own history, so a 20-fold purchase stands out the same way for a student and a
premier customer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from codex_jupyter.analytics.anomaly import detect_anomalies
from codex_jupyter.analytics.location_fraud import location_fraud
from codex_jupyter.errors import InputError


@dataclass(frozen=True)
class FraudReview:
    """Every transaction with ``flagged_by`` (``"location"``, ``"amount"`` or ``""``) and ``why``."""

    reviewed: pd.DataFrame
    label: str | None

    @property
    def flagged(self) -> pd.DataFrame:
        """The review queue: flagged transactions, newest first."""
        queue = self.reviewed[self.reviewed.flagged_by != ""]
        return queue.sort_values("ts", ascending=False, kind="stable")

    def kpis(self) -> dict[str, object]:
        """Headline figures; with a label column, also precision and recall against it."""
        flagged = self.reviewed.flagged_by != ""
        figures: dict[str, object] = {"Transactions": len(self.reviewed), "Flagged for review": int(flagged.sum())}
        if self.label:
            truth = self.reviewed[self.label].astype(bool)
            figures["Labelled fraud among flagged"] = f"{truth[flagged].mean() if flagged.any() else 0:.0%}"
            figures["Labelled fraud caught"] = f"{flagged[truth].mean() if truth.any() else 0:.0%}"
        return figures

    def by_rule(self, fraud_type: str = "fraud_type") -> pd.DataFrame:
        """Rows: the rule that flagged (or "not flagged"); columns: the labelled fraud type ("genuine" if none)."""
        return pd.crosstab(
            self.reviewed.flagged_by.replace("", "not flagged").rename("flagged by"),
            self.reviewed[fraud_type].fillna("genuine").rename("labelled as"),
        )


def fraud_review(
    transactions: pd.DataFrame,
    customers: pd.DataFrame,
    amount: str = "amount",
    threshold: float = 0.9999,
    label: str | None = "is_fraud",
) -> FraudReview:
    """Flag card transactions for review by place (``location_fraud``) and by unusual amount for the customer.

    ``threshold`` is the amount rule's calibrated score: 0.9999 means about one
    genuine transaction in 10,000 is queued (a review queue, not a pager).
    ``transactions`` needs ``customer_id``, ``ts``, ``lat``, ``lon`` and
    ``amount`` (positive); ``customers`` needs ``customer_id``, ``home_lat`` and
    ``home_lon``. ``label`` names a ground-truth column, when there is one.
    """
    if amount not in transactions.columns:
        raise InputError(f"fraud_review: transactions have no {amount!r} column; pass amount=")
    if label is not None and label not in transactions.columns:
        label = None
    located = location_fraud(transactions, customers)
    located["log_amount"] = np.log10(located[amount].clip(lower=0.01))
    scored = detect_anomalies(
        located,
        time="ts",
        value="log_amount",
        by="customer_id",
        method="zscore",
        flag_missing=False,
        threshold=threshold,
    )
    by_amount = scored.is_anomaly & ~scored.is_location_fraud
    scored["flagged_by"] = np.select([scored.is_location_fraud, by_amount], ["location", "amount"], "")
    scored["why"] = np.where(scored.is_location_fraud, scored.location_reason, np.where(by_amount, scored.reason, ""))
    return FraudReview(scored, label)
