"""``sim://fleet``: a deterministic simulated fleet of IoT devices with injected, labelled faults.

``sim://fleet?devices=50&rate=500&faults=spike,shift,stuck,dropout&seed=7&interval=60``

The readings come from the Demo Bank's fleet model
(:mod:`codex_jupyter.sources.demo.fleet`), the one behind the ``iot_telemetry``
table: ATM, HVAC and vault sensors near a few cities report temperature,
vibration and humidity with a daily cycle, noise and slow drift, and faults
(``spike``, ``shift``, ``stuck``, ``dropout``) are labelled in ``fault_type``
with the same columns and labels as the table. The same seed always gives
the same records, however they are polled, which makes the simulator the
test data of the anomaly detectors as well as the embedded default of
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
import pandas as pd

from codex_jupyter.sources.demo.fleet import FAULTS, SENSOR_KINDS, FleetModel, place_devices
from codex_jupyter.sources.streams.base import RecordBatch, StreamConfigError, StreamURL

START_MS = 1_735_689_600_000  # 2025-01-01T00:00:00Z
#: Chance per device and reading that a fault starts (about one per device every 500 readings).
FAULT_RATE = 0.002
#: Cities the simulated devices stand near: London, New York, Paris, Berlin, Toronto.
SITES = np.array([[51.507, -0.128], [40.713, -74.006], [48.857, 2.352], [52.520, 13.405], [43.651, -79.383]])


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
        self._model = FleetModel(
            simulated_devices(self.devices, self.seed), self.seed, fault_rate=FAULT_RATE, faults=names
        )
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
            keys=list(columns["device_id"]),
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
        if have < n:
            parts.append(self._next_ticks(-(-(n - have) // self.devices)))
        merged = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]} if len(parts) > 1 else parts[0]
        if len(merged["ts_ms"]) > n:
            self._pending = {k: v[n:] for k, v in merged.items()}
            merged = {k: v[:n] for k, v in merged.items()}
        return merged

    def _next_ticks(self, count: int) -> dict[str, np.ndarray]:
        """All devices' readings at the next ``count`` simulated instants, instant by instant."""
        ts = START_MS + (self._model.steps + np.arange(count, dtype=np.int64)) * self.interval_ms
        readings = self._model.steps_at(ts)
        return {
            "ts_ms": np.repeat(ts, self.devices),
            **{k: np.tile(v, count) if v.ndim == 1 else v.ravel() for k, v in readings.items()},
        }


def simulated_devices(count: int, seed: int) -> pd.DataFrame:
    """``count`` devices of random kinds, each within a few kilometres of one of the ``SITES``."""
    rng = np.random.default_rng([seed, 0, 0])
    kind = rng.choice(SENSOR_KINDS, count)
    site = SITES[rng.integers(0, len(SITES), count)]
    ids = [f"sim-{i:05d}" for i in range(count)]
    return place_devices(site[:, 0], site[:, 1], kind, rng, spread_km=6.0, ids=ids)


def from_url(url: StreamURL, **settings: Any) -> SimulatedFleet:
    """``open_stream`` entry point for ``sim://``."""
    if url.netloc not in ("fleet", ""):
        raise StreamConfigError(f"sim://{url.netloc} is not a simulation; use sim://fleet?devices=50&rate=500")
    if settings:
        raise StreamConfigError(f"sim:// takes no settings ({', '.join(settings)}); put options in the URL")
    return SimulatedFleet(url)
