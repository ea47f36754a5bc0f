"""Card use far from a customer's usual places, and impossible travel between uses.

Two rules a fraud analyst can explain to a customer, each with its distance
and speed as the reason:

- *far from usual places*: the first use in a place (a ~50 km grid cell)
  more than ``far_km`` from home where the card was never used before;
- *impossible travel*: a use away from home reached from the previous use
  faster than ``max_speed_kmh`` (an airliner's cruising speed by default).

Only the use away from home is flagged, never the customer's return home.
Everything is vectorised over all customers at once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from codex_jupyter.errors import InputError
from codex_jupyter.sphere import haversine_km


def location_fraud(
    transactions: pd.DataFrame,
    customers: pd.DataFrame,
    customer: str = "customer_id",
    time: str = "ts",
    lat: str = "lat",
    lon: str = "lon",
    home_lat: str = "home_lat",
    home_lon: str = "home_lon",
    far_km: float = 500.0,
    max_speed_kmh: float = 900.0,
    min_travel_km: float = 100.0,
) -> pd.DataFrame:
    """Return ``transactions`` plus ``km_from_home``, ``speed_kmh``, ``is_location_fraud`` and ``location_reason``.

    Rows keep their order. Transactions of customers missing from
    ``customers`` or without coordinates are not judged (``km_from_home`` is
    NaN, never flagged).
    """
    for frame, cols, name in (
        (transactions, [customer, time, lat, lon], "transactions"),
        (customers, [customer, home_lat, home_lon], "customers"),
    ):
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise InputError(
                f"{name} has no column {missing[0]!r}; pass the column names (customer=, time=, lat=, lon=, "
                "home_lat=, home_lon=)"
            )
    homes = customers.drop_duplicates(customer).set_index(customer)[[home_lat, home_lon]]
    tx = transactions[[customer, time, lat, lon]].copy()
    tx["_row"] = np.arange(len(tx))
    tx["_home_lat"] = tx[customer].map(homes[home_lat])
    tx["_home_lon"] = tx[customer].map(homes[home_lon])
    tx["_t"] = pd.to_datetime(tx[time], utc=True)
    tx = tx.sort_values([customer, "_t", "_row"], kind="stable")

    la, lo = tx[lat].to_numpy(float), tx[lon].to_numpy(float)
    from_home = haversine_km(tx["_home_lat"].to_numpy(float), tx["_home_lon"].to_numpy(float), la, lo)
    same_customer = tx[customer].to_numpy() == np.roll(tx[customer].to_numpy(), 1)
    same_customer[0] = False
    hop = np.where(same_customer, haversine_km(np.roll(la, 1), np.roll(lo, 1), la, lo), np.nan)
    hours = (tx["_t"] - tx["_t"].shift(1)).dt.total_seconds().to_numpy() / 3600
    with np.errstate(divide="ignore", invalid="ignore"):
        speed = np.where(same_customer & (hop >= min_travel_km), hop / np.maximum(hours, 1 / 60), np.nan)
    cell = pd.Series(list(zip(np.round(la * 2), np.round(lo * 2), strict=True)), index=tx.index)
    first_in_cell = ~pd.DataFrame({"c": tx[customer], "cell": cell}).duplicated()
    away = from_home > far_km
    far_new = away & first_in_cell.to_numpy()
    impossible = away & (np.nan_to_num(speed, nan=0.0) > max_speed_kmh)
    reasons = np.full(len(tx), "", dtype=object)
    for i in np.flatnonzero(far_new | impossible):
        parts = []
        if impossible[i]:
            parts.append(f"impossible travel: {hop[i]:,.0f} km in {hours[i]:.1f} h ({speed[i]:,.0f} km/h)")
        if far_new[i]:
            parts.append(f"first use {from_home[i]:,.0f} km from home")
        reasons[i] = "; ".join(parts)
    out = transactions.copy()
    order = tx["_row"].to_numpy()
    for name, values in (
        ("km_from_home", from_home),
        ("speed_kmh", speed),
        ("is_location_fraud", far_new | impossible),
        ("location_reason", reasons),
    ):
        column = np.empty(len(tx), dtype=np.asarray(values).dtype)
        column[order] = values
        out[name] = column
    return out
