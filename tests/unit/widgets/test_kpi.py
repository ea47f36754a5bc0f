"""KPI cards: headline numbers formatted the same whether they come from Python or from a query's NumPy row."""

from __future__ import annotations

import numpy as np
import pandas as pd

from codex_jupyter.widgets.kpi import KpiCards


def test_kpi_cards_format_numpy_numbers_like_python_ones() -> None:
    cards = KpiCards(pd.Series({"Customers": np.int64(6000), "Spend": np.float64(1234.5), "Rate": "0.4 %"}))
    assert repr(cards) == "Customers: 6,000  Spend: 1,234.50  Rate: 0.4 %"
