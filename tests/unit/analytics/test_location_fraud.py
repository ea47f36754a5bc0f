"""Location fraud: far from usual places, impossible travel."""

from __future__ import annotations

import pandas as pd
import pytest

from codex_jupyter import location_fraud

CUSTOMERS = pd.DataFrame({"customer_id": ["c1", "c2"], "home_lat": [51.5074, 40.7128], "home_lon": [-0.1278, -74.006]})


def tx(rows: list[tuple[str, str, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["customer_id", "ts", "lat", "lon"]).assign(ts=lambda d: pd.to_datetime(d.ts))


def test_first_use_far_from_home_is_flagged_with_the_distance() -> None:
    out = location_fraud(
        tx(
            [
                ("c1", "2025-01-01 10:00", 51.51, -0.12),  # home
                ("c1", "2025-01-05 10:00", 41.39, 2.17),  # Barcelona, first time
                ("c1", "2025-01-06 10:00", 41.38, 2.18),  # Barcelona again: a known place now
                ("c1", "2025-01-09 10:00", 51.50, -0.13),  # back home
            ]
        ),
        CUSTOMERS,
    )
    assert out.is_location_fraud.tolist() == [False, True, False, False]
    assert out.location_reason.iloc[1].startswith("first use 1,13") and "km from home" in out.location_reason.iloc[1]


def test_impossible_travel_flags_the_use_away_from_home_only() -> None:
    out = location_fraud(
        tx(
            [
                ("c2", "2025-03-01 09:00", 40.71, -74.0),  # New York
                ("c2", "2025-03-01 11:00", 34.05, -118.24),  # Los Angeles two hours later
                ("c2", "2025-03-01 12:00", 40.72, -74.01),  # New York one hour after that
            ]
        ),
        CUSTOMERS,
    )
    assert out.is_location_fraud.tolist() == [False, True, False]
    assert "impossible travel: 3,9" in out.location_reason.iloc[1] and "km/h" in out.location_reason.iloc[1]


def test_rows_keep_order_and_unknown_customers_are_not_judged() -> None:
    data = tx([("zz", "2025-01-02", 0.0, 0.0), ("c1", "2025-01-01", 51.5, -0.1)])
    out = location_fraud(data, CUSTOMERS)
    assert out.customer_id.tolist() == ["zz", "c1"] and pd.isna(out.km_from_home.iloc[0])
    assert not out.is_location_fraud.any()


def test_missing_columns_say_which() -> None:
    with pytest.raises(ValueError, match="transactions has no column 'lat'"):
        location_fraud(pd.DataFrame({"customer_id": [], "ts": []}), CUSTOMERS)
