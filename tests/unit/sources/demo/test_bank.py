"""The Demo Bank dataset: deterministic, labelled, and cached as a DuckDB file."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from codex_jupyter.sources.demo import bank as demo_data


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return demo_data.demo_tables()


def test_generation_is_deterministic(tables: dict[str, pd.DataFrame]) -> None:
    again = demo_data.demo_tables()
    for name, frame in tables.items():
        pd.testing.assert_frame_equal(frame, again[name], obj=name)


def test_branches_are_real_distinct_cities(tables: dict[str, pd.DataFrame]) -> None:
    br = tables["branches"]
    assert {"London", "Paris", "New York City", "Berlin"} <= set(br.city)
    assert br.city.is_unique and "Brooklyn" not in set(br.city)
    assert br.lat.between(-90, 90).all() and br.lon.between(-180, 180).all()


def test_fraud_is_labelled_rare_and_location_fraud_is_abroad(tables: dict[str, pd.DataFrame]) -> None:
    tx, cust = tables["transactions"], tables["customers"]
    assert 0.002 < tx.is_fraud.mean() < 0.01
    assert set(tx.fraud_type.dropna()) == {"location", "amount", "burst"}
    located = tx[tx.fraud_type == "location"].merge(cust, on="customer_id")
    km = 111 * np.hypot(
        located.lat - located.home_lat, (located.lon - located.home_lon) * np.cos(np.radians(located.lat))
    )
    assert (km > 400).all()
    assert tx.ts.min() >= pd.Timestamp("2024-01-01") and tx.ts.max() < pd.Timestamp("2026-01-02")


def test_sales_have_weekly_seasonality(tables: dict[str, pd.DataFrame]) -> None:
    sales = tables["daily_sales"]
    by_day = sales.groupby(pd.to_datetime(sales.date).dt.dayofweek).products_sold.mean()
    assert by_day[4] > by_day[0] > by_day[6]


def test_telemetry_faults_cover_every_kind(tables: dict[str, pd.DataFrame]) -> None:
    tel = tables["iot_telemetry"]
    assert set(tel.fault_type.dropna()) == {"spike", "shift", "stuck", "dropout"}
    assert tel[tel.fault_type == "dropout"].temperature.isna().all()
    assert not tel[tel.fault_type.isna()].temperature.isna().any()


def test_database_is_built_once_and_rebuilt_for_a_new_version(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("CODEX_JUPYTER_CACHE_DIR", str(tmp_path))
    (tmp_path / "demo_bank_v0.duckdb").write_bytes(b"old")
    path = demo_data.ensure_demo_database()
    assert path.name == f"demo_bank_v{demo_data.DEMO_DATA_VERSION}.duckdb"
    assert not (tmp_path / "demo_bank_v0.duckdb").exists()
    with duckdb.connect(str(path), read_only=True) as con:
        names = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
    assert {"branches", "customers", "accounts", "transactions", "daily_sales", "iot_devices", "iot_telemetry"} <= names
    mtime = path.stat().st_mtime_ns
    assert demo_data.ensure_demo_database() == path and path.stat().st_mtime_ns == mtime
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_every_customer_has_a_checking_account_and_deposits_follow_the_segment(tables: dict[str, pd.DataFrame]) -> None:
    acc, cust = tables["accounts"], tables["customers"]
    checking = acc[acc["product"] == "checking"]
    assert checking.customer_id.is_unique and set(checking.customer_id) == set(cust.customer_id)
    assert acc.account_id.is_unique and (acc.balance > 0).all()
    assert set(acc["product"]) == {"checking", "savings", "term_deposit"}
    assert (pd.to_datetime(acc.opened) <= demo_data.END).all()
    home = cust.set_index("customer_id").home_branch_id
    assert (acc.branch_id.to_numpy() == home.loc[acc.customer_id].to_numpy()).all()
    median = acc.merge(cust[["customer_id", "segment"]]).groupby("segment").balance.median()
    assert median["premier"] > median["retail"] > median["student"]
