"""KPI cards: a row of headline numbers for a dashboard's first screen."""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from html import escape

import numpy as np


class KpiCards:
    """Headline figures shown as cards; values are formatted, labels escaped.

    ``KpiCards({"Customers": 6000, "Fraud rate": "0.40 %"})`` displays in
    JupyterLab, Voila and nbconvert alike (plain HTML, no JavaScript). Numbers
    may be Python's or NumPy's (a query's first row: ``KpiCards(frame.iloc[0])``).
    """

    def __init__(self, values: Mapping[str, object]) -> None:
        self.values = dict(values)

    @staticmethod
    def _fmt(value: object) -> str:
        if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
            return str(value)
        if isinstance(value, numbers.Integral) or float(value).is_integer():
            return f"{int(value):,}"
        return f"{value:,.2f}"

    def __repr__(self) -> str:
        return "  ".join(f"{k}: {self._fmt(v)}" for k, v in self.values.items())

    def _repr_html_(self) -> str:
        cards = "".join(
            "<div style='flex:1;min-width:min(140px,100%);box-sizing:border-box;padding:12px 16px;"
            "border-radius:8px;background:#f4f6fb;"
            "border:1px solid #dde3f0'>"
            f"<div style='color:#5a6478;font-size:12px;text-transform:uppercase'>{escape(str(k))}</div>"
            "<div style='font-size:clamp(18px,5vw,26px);font-weight:600;overflow-wrap:anywhere;color:#1d2b4f'>"
            f"{escape(self._fmt(v))}</div></div>"
            for k, v in self.values.items()
        )
        return f"<div class='codex-kpis' style='display:flex;gap:12px;flex-wrap:wrap'>{cards}</div>"
