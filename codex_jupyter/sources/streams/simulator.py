"""``sim://fleet``: a deterministic simulated fleet of IoT devices with injected, labelled faults.

``sim://fleet?devices=50&rate=500&faults=spike,shift,stuck,dropout&seed=7&interval=60``

Every device reports temperature, vibration and humidity with a daily cycle,
noise and slow drift, from a fixed location near a Demo Bank branch. Faults
start at random and are labelled in the ``fault`` column (``spike``: a short
jump; ``shift``: a lasting change in vibration; ``stuck``: humidity repeats
one value; ``dropout``: readings missing, sent as NaN). The same seed always
gives the same records, however they are polled, which makes the simulator
the test data of the anomaly detectors as well as the embedded default of
``%iot_tail``.

Time is simulated: readings are ``interval`` seconds apart from
2025-01-01T00:00Z. ``rate`` paces delivery in records per second of wall
time (``rate=0``: as fast as the consumer asks); ``count`` ends the stream
after that many records.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from codex_jupyter.sources.streams.base import RecordBatch, StreamConfigError, StreamURL

FAULTS = ("spike", "shift", "stuck", "dropout")
START_MS = 1_735_689_600_000  # 2025-01-01T00:00:00Z
#: Chance per device and reading that a fault starts (about one per device every few days of readings).
FAULT_RATE = 0.002
_DURATION = {"spike": (1, 3), "shift": (30, 120), "stuck": (10, 40), "dropout": (5, 20)}


def _int_option(url: StreamURL, name: str, default: int, low: int, high: int) -> int:
    raw = url.option(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise StreamConfigError(f"sim:// option {name}={raw!r} is not a whole number") from None
    if not low <= value <= high:
        raise StreamConfigError(f"sim:// option {name}={value} is out of range ({low}..{high})")
    return value


class SimulatedFleet:
    """The ``sim://`` stream; deterministic for a given seed whatever the poll sizes."""

    def __init__(self, url: StreamURL) -> None:
        self.url = url.raw
        unknown = set(url.options) - {"devices", "rate", "faults", "seed", "interval", "count"}
        if unknown:
            raise StreamConfigError(
                f"unknown sim:// option {sorted(unknown)[0]!r}; use devices, rate, faults, seed, interval, count"
            )
        self.devices = _int_option(url, "devices", 50, 1, 100_000)
        self.rate = _int_option(url, "rate", 500, 0, 10_000_000)
        self.seed = _int_option(url, "seed", 7, 0, 2**31 - 1)
        self.interval_ms = 1000 * _int_option(url, "interval", 60, 1, 86_400)
        self.count = _int_option(url, "count", 0, 0, 10**12) or None
        names = [f for f in (url.option("faults", ",".join(FAULTS)) or "").split(",") if f]
        bad = [f for f in names if f not in FAULTS]
        if bad:
            raise StreamConfigError(f"unknown fault {bad[0]!r} in sim://; use any of {','.join(FAULTS)}")
        self.faults = tuple(names)
        setup = np.random.default_rng([self.seed, 0])
        self._ids = np.array([f"sim-{i:05d}" for i in range(self.devices)], dtype=object)
        self._kind = setup.choice(["atm", "hvac", "vault"], self.devices)
        self._base_temp = np.select([self._kind == "atm", self._kind == "hvac"], [24.0, 19.0], 17.0) + setup.normal(
            0, 1, self.devices
        )
        cities = np.array([[51.507, -0.128], [40.713, -74.006], [48.857, 2.352], [52.520, 13.405], [43.651, -79.383]])
        home = cities[setup.integers(0, len(cities), self.devices)]
        self._lat = np.round(home[:, 0] + setup.normal(0, 0.05, self.devices), 5)
        self._lon = np.round(home[:, 1] + setup.normal(0, 0.08, self.devices), 5)
        self._drift = np.zeros(self.devices)
        self._fault = np.full(self.devices, "", dtype=object)
        self._fault_left = np.zeros(self.devices, dtype=np.int64)
        self._stuck_value = np.zeros(self.devices)
        self._shift = np.zeros(self.devices)
        self._tick = 0
        self._pending: dict[str, np.ndarray] | None = None
        self._sent = 0
        self._opened_at: float | None = None

    # -- Stream protocol ---------------------------------------------------------------------------
    def open(self) -> None:
        """Start the wall clock that paces ``rate``."""
        self._opened_at = time.monotonic()

    def close(self) -> None:
        """Nothing to release; the fleet keeps its place for a reopen."""
        self._opened_at = None

    def commit(self) -> None:
        """Nothing to commit: a simulated stream has no consumer group."""

    def lag(self) -> dict[str, int]:
        """Records generated but not yet delivered because of pacing."""
        if self._opened_at is None or not self.rate:
            return {}
        due = int((time.monotonic() - self._opened_at) * self.rate)
        return {"sim": max(0, due - self._sent)}

    def poll(self, max_records: int, timeout: float) -> RecordBatch:
        """The next records: as many as pacing allows, at most ``max_records``."""
        if self._opened_at is None:
            self.open()
        allowed = max_records
        if self.rate:
            deadline = time.monotonic() + timeout
            while True:
                due = int((time.monotonic() - self._opened_at) * self.rate) - self._sent
                if due > 0 or time.monotonic() >= deadline:
                    break
                time.sleep(min(0.01, max(deadline - time.monotonic(), 0)))
            allowed = min(allowed, max(due, 0))
        if self.count is not None:
            allowed = min(allowed, self.count - self._sent)
        if allowed <= 0:
            return RecordBatch(columns={})
        columns = self._take(allowed)
        self._sent += allowed
        return RecordBatch(
            columns=columns,
            keys=list(columns["deviceId"]),
            partitions=["sim"] * allowed,
            timestamps_ms=columns["ts_ms"].tolist(),
        )

    @property
    def finished(self) -> bool:
        """True once ``count`` records were delivered."""
        return self.count is not None and self._sent >= self.count

    # -- generation ----------------------------------------------------------------------------------
    def _take(self, n: int) -> dict[str, np.ndarray]:
        parts, have = [], 0
        if self._pending is not None:
            parts.append(self._pending)
            have = len(self._pending["ts_ms"])
            self._pending = None
        while have < n:
            tick = self._next_tick()
            parts.append(tick)
            have += len(tick["ts_ms"])
        merged = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        if have > n:
            self._pending = {k: v[n:] for k, v in merged.items()}
            merged = {k: v[:n] for k, v in merged.items()}
        return merged

    def _next_tick(self) -> dict[str, np.ndarray]:
        """All devices' readings at one simulated instant."""
        rng = np.random.default_rng([self.seed, 1, self._tick])
        n = self.devices
        ts = START_MS + self._tick * self.interval_ms
        hour = (ts // 3_600_000) % 24 + ((ts // 60_000) % 60) / 60
        self._drift += rng.normal(0, 0.01, n)
        temp = self._base_temp + 2.5 * np.sin(2 * np.pi * (hour - 9) / 24) + self._drift + rng.normal(0, 0.3, n)
        vib = np.abs(0.4 + (0.25 if 8 <= hour <= 20 else 0.0) + rng.normal(0, 0.05, n))
        hum = 45 + 5 * np.sin(2 * np.pi * (hour - 15) / 24) + rng.normal(0, 1.0, n)
        self._start_faults(rng)
        fault = self._fault.copy()
        temp = np.where(fault == "spike", temp + self._shift, temp)
        vib = np.where(fault == "shift", vib + self._shift, vib)
        hum = np.where(fault == "stuck", self._stuck_value, hum)
        gone = fault == "dropout"
        temp, vib, hum = (np.where(gone, np.nan, v) for v in (temp, vib, hum))
        self._fault_left = np.maximum(self._fault_left - 1, 0)
        self._fault[self._fault_left == 0] = ""
        self._tick += 1
        return {
            "ts_ms": np.full(n, ts, dtype=np.int64),
            "deviceId": self._ids,
            "kind": self._kind,
            "lat": self._lat,
            "lon": self._lon,
            "temperature": np.round(temp, 3),
            "vibration": np.round(vib, 4),
            "humidity": np.round(hum, 2),
            "fault": np.where(fault == "", None, fault),
        }

    def _start_faults(self, rng: np.random.Generator) -> None:
        if not self.faults:
            return
        starting = (self._fault_left == 0) & (rng.random(self.devices) < FAULT_RATE)
        for i in np.flatnonzero(starting):
            kind = self.faults[int(rng.integers(0, len(self.faults)))]
            low, high = _DURATION[kind]
            self._fault[i] = kind
            self._fault_left[i] = int(rng.integers(low, high + 1))
            self._shift[i] = rng.choice([-1.0, 1.0]) * rng.uniform(8, 14) if kind == "spike" else rng.uniform(0.6, 1.2)
            self._stuck_value[i] = round(45 + rng.normal(0, 3), 2)


def from_url(url: StreamURL, **settings: Any) -> SimulatedFleet:
    """``open_stream`` entry point for ``sim://``."""
    if url.netloc not in ("fleet", ""):
        raise StreamConfigError(f"sim://{url.netloc} is not a simulation; use sim://fleet?devices=50&rate=500")
    if settings:
        raise StreamConfigError(f"sim:// takes no settings ({', '.join(settings)}); put options in the URL")
    return SimulatedFleet(url)
