"""The one model of the Demo Bank's sensor fleet, behind the ``iot_telemetry`` table and ``sim://fleet``.

Both the warehouse table (hourly readings, built once into the demo cache)
and the simulated stream (readings ``interval`` seconds apart, however it is
polled) step the same :class:`FleetModel`, so a detector tuned on one sees
the same signals, faults, labels and column names on the other.

Devices are ATM, HVAC and vault sensors placed near a site (a branch). Each
reports ``temperature`` (daily cycle, slow random-walk drift, noise),
``vibration`` (busier in opening hours) and ``humidity`` (daily cycle,
noise). Faults start at random, one at a time per device, and are labelled
in ``fault_type``: ``spike`` (a short jump in temperature), ``shift`` (a
lasting level change in vibration), ``stuck`` (humidity repeats the value it
had when the fault began) and ``dropout`` (every reading missing, NaN).
Every random draw comes from a generator seeded by ``(seed, step)``, so the
readings depend only on the seed, the devices and the step number.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from codex_jupyter.errors import InputError
from codex_jupyter.sphere import jitter_km

FAULTS = ("spike", "shift", "stuck", "dropout")
SENSOR_KINDS = ("atm", "hvac", "vault")
#: What places a device: the columns of a devices frame (``iot_devices`` adds the branch).
DEVICE_COLUMNS = ("device_id", "kind", "lat", "lon")
#: What every reading carries, in the warehouse table and in the stream alike.
READING_COLUMNS = ("device_id", "temperature", "vibration", "humidity", "fault_type")
#: Readings a fault lasts, by kind (inclusive range).
FAULT_STEPS = {"spike": (1, 3), "shift": (30, 120), "stuck": (10, 40), "dropout": (5, 20)}
#: Faults are kept as small integers while the readings are worked out (comparing labels cost a tenth of the
#: simulator's time), and labelled at the end.
_CODE = {kind: 1 + i for i, kind in enumerate(FAULTS)}
_LABELS = np.array([None, *FAULTS], dtype=object)
_BASE_TEMPERATURE = {"atm": 24.0, "hvac": 19.0, "vault": 17.0}


def place_devices(
    site_lat: np.ndarray,
    site_lon: np.ndarray,
    kind: Sequence[str],
    rng: np.random.Generator,
    *,
    spread_km: float,
    ids: Sequence[str],
) -> pd.DataFrame:
    """Devices (``DEVICE_COLUMNS``) of the given kinds, each about ``spread_km`` from its site."""
    lat, lon = jitter_km(rng, np.asarray(site_lat, float), np.asarray(site_lon, float), spread_km)
    return pd.DataFrame({"device_id": list(ids), "kind": list(kind), "lat": lat, "lon": lon})


class FleetModel:
    """Every device's readings at one instant after another, with faults injected and labelled.

    ``fault_rate`` is the chance per device and reading that a fault starts
    (readings an hour apart want a lower one than readings a minute apart);
    ``quiet_steps`` readings at the start are fault free, so detectors have
    a clean history to learn from; ``faults`` limits the kinds injected.
    """

    def __init__(
        self,
        devices: pd.DataFrame,
        seed: int,
        *,
        fault_rate: float,
        faults: Sequence[str] = FAULTS,
        quiet_steps: int = 0,
    ) -> None:
        unknown = sorted(set(faults) - set(FAULTS))
        if unknown:
            raise InputError(f"unknown fault {unknown[0]!r}; use any of {','.join(FAULTS)}")
        self.seed, self.fault_rate, self.faults, self.quiet_steps = seed, fault_rate, tuple(faults), quiet_steps
        n = len(devices)
        self._device = {c: devices[c].to_numpy() for c in DEVICE_COLUMNS}
        kind = self._device["kind"]
        setup = np.random.default_rng([seed, 0])
        self._base_temp = np.array([_BASE_TEMPERATURE[k] for k in kind], dtype=float) + setup.normal(0, 1, n)
        self._drift = np.zeros(n)
        self._fault = np.zeros(n, dtype=np.int8)  # 0: none, else 1 + the fault's place in FAULTS
        self._fault_left = np.zeros(n, dtype=np.int64)
        self._offset = np.zeros(n)  # a spike's jump in temperature or a shift's in vibration
        self._stuck_value = np.zeros(n)
        self.steps = 0

    def steps_at(self, ts_ms: np.ndarray) -> dict[str, np.ndarray]:
        """Readings at each of ``ts_ms`` (UTC milliseconds; they set the time of day) in turn: device columns as
        they are, readings as (time, device) arrays.

        The numbers do not depend on how the instants are split into calls: only the random draws and fault
        bookkeeping run per instant (each instant's draws come from its own generator), and the arithmetic runs
        element by element over the block, so a block of one instant rounds as a block of many. The daily cycles
        depend on the time alone, and the drift is a running sum in instant order, so both are worked out for the
        whole block at once (per instant they cost half the simulator's time).
        """
        k, n = len(ts_ms), len(self._base_temp)
        ts = np.asarray(ts_ms, dtype=np.int64)
        hour = (ts // 3_600_000) % 24 + ((ts // 60_000) % 60) / 60
        temp_cycle = (2.5 * np.sin(2 * np.pi * (hour - 9) / 24))[:, None]
        vib_level = (0.4 + np.where((hour >= 8) & (hour <= 20), 0.25, 0.0))[:, None]
        hum_cycle = (45 + 5 * np.sin(2 * np.pi * (hour - 15) / 24))[:, None]
        # Each instant draws its drift step and three noises in that order: one standard normal draw of 4n, scaled
        # (normal(0, s) is s times the standard normal, draw for draw).
        draws = np.empty((k, 4, n))
        fault = np.empty((k, n), dtype=np.int8)
        offset, stuck = np.empty((k, n)), np.empty((k, n))
        for j in range(k):
            rng = np.random.default_rng([self.seed, 1, self.steps])
            draws[j] = rng.standard_normal(4 * n).reshape(4, n)
            if self.steps >= self.quiet_steps:
                self._start_faults(rng, hum_cycle[j] + draws[j, 3])
            fault[j], offset[j], stuck[j] = self._fault, self._offset, self._stuck_value
            self._fault_left = np.maximum(self._fault_left - 1, 0)
            self._fault[self._fault_left == 0] = 0
            self.steps += 1
        drift = np.cumsum(np.concatenate([self._drift[None, :], 0.01 * draws[:, 0]]), axis=0)[1:]
        self._drift = drift[-1].copy() if k else self._drift
        noise = (0.3 * draws[:, 1], 0.05 * draws[:, 2], draws[:, 3])
        temp = self._base_temp + temp_cycle + drift + noise[0]
        vib = np.abs(vib_level + noise[1])
        hum = hum_cycle + noise[2]
        temp = np.where(fault == _CODE["spike"], temp + offset, temp)
        vib = np.where(fault == _CODE["shift"], vib + offset, vib)
        hum = np.where(fault == _CODE["stuck"], stuck, hum)
        gone = fault == _CODE["dropout"]
        temp, vib, hum = (np.where(gone, np.nan, v) for v in (temp, vib, hum))
        return {
            **self._device,
            "temperature": np.round(temp, 3),
            "vibration": np.round(vib, 4),
            "humidity": np.round(hum, 2),
            "fault_type": _LABELS[fault],
        }

    def run(self, times: pd.DatetimeIndex) -> pd.DataFrame:
        """One row per device and time (``ts`` then ``DEVICE_COLUMNS`` and readings), device by device."""
        block = self.steps_at(times.asi8 // 1_000_000)
        n = len(self._base_temp)
        frame = {"ts": np.tile(times.to_numpy(), n)}
        for column in DEVICE_COLUMNS:
            frame[column] = np.repeat(self._device[column], len(times))
        for column in READING_COLUMNS[1:]:
            frame[column] = block[column].T.ravel()
        return pd.DataFrame(frame)

    def _start_faults(self, rng: np.random.Generator, humidity: np.ndarray) -> None:
        if not self.faults:
            return
        starting = (self._fault_left == 0) & (rng.random(len(self._fault_left)) < self.fault_rate)
        for i in np.flatnonzero(starting):
            kind = self.faults[int(rng.integers(0, len(self.faults)))]
            low, high = FAULT_STEPS[kind]
            self._fault[i] = _CODE[kind]
            self._fault_left[i] = int(rng.integers(low, high + 1))
            self._offset[i] = rng.choice([-1.0, 1.0]) * rng.uniform(8, 14) if kind == "spike" else rng.uniform(0.6, 1.2)
            self._stuck_value[i] = round(float(humidity[i]), 2)
