"""One fleet model behind the demo table ``iot_telemetry`` and the ``sim://fleet`` stream."""

from __future__ import annotations

import pandas as pd
import pytest

from codex_jupyter.sources.demo import bank
from codex_jupyter.sources.demo.fleet import DEVICE_COLUMNS, FAULTS, READING_COLUMNS, FleetModel
from codex_jupyter.sources.streams import open_stream, simulator


def _stream(url: str, records: int) -> pd.DataFrame:
    stream = open_stream(url)
    return pd.concat([pd.DataFrame(stream.poll(5_000, 0).columns) for _ in range(0, records, 5_000)], ignore_index=True)


@pytest.fixture(scope="module")
def devices() -> pd.DataFrame:
    return bank.iot_devices(bank.branches())


def test_the_table_and_the_stream_carry_the_same_columns_and_fault_labels(devices: pd.DataFrame) -> None:
    table = bank.iot_telemetry(devices)
    stream = _stream("sim://fleet?devices=40&rate=0&seed=7", 100_000)
    assert list(table.columns) == ["ts", "device_id", "temperature", "vibration", "humidity", "fault_type", "is_fault"]
    assert list(stream.columns) == [
        "ts_ms",
        "device_id",
        "kind",
        "lat",
        "lon",
        "temperature",
        "vibration",
        "humidity",
        "fault_type",
    ]
    assert set(table.fault_type.dropna()) == set(stream.fault_type.dropna()) == {"spike", "shift", "stuck", "dropout"}
    for frame in (table, stream):
        gone = frame.fault_type == "dropout"
        assert frame[gone].temperature.isna().all() and frame[~gone].temperature.notna().all()


def test_both_are_the_fleet_model_stepped(devices: pd.DataFrame) -> None:
    hours = pd.date_range(bank.TELEMETRY_START, periods=bank.TELEMETRY_DAYS * 24, freq="h")
    model = FleetModel(devices, bank.SEED + 5, fault_rate=bank.TELEMETRY_FAULT_RATE, quiet_steps=7 * 24)
    expected = model.run(hours)
    pd.testing.assert_frame_equal(
        bank.iot_telemetry(devices)[["ts", *READING_COLUMNS]], expected[["ts", *READING_COLUMNS]]
    )

    sim = simulator.simulated_devices(6, 3)
    minutes = pd.date_range(pd.Timestamp(simulator.START_MS, unit="ms"), periods=500, freq="min")
    expected = FleetModel(sim, 3, fault_rate=simulator.FAULT_RATE, faults=FAULTS).run(minutes)
    expected = expected.sort_values(["ts", "device_id"], ignore_index=True)
    stream = _stream("sim://fleet?devices=6&rate=0&seed=3&interval=60&count=3000", 3_000)
    columns = list(dict.fromkeys([*DEVICE_COLUMNS, *READING_COLUMNS]))
    pd.testing.assert_frame_equal(stream[columns], expected[columns], check_dtype=False)
