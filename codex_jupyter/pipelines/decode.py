"""Turn polled records into columns: JSON decoding, field mapping, and bad records with reasons.

``--fields ts=timestamp,device=deviceId,value=payload.value`` maps dotted
paths in each JSON record onto column names. Without a mapping, the
timestamp comes from ``ts``/``timestamp``/``time``, the device from
``deviceId``/``device_id``/``device``, and every other numeric top-level
field is a metric. A record that is not JSON, lacks a mapped field or has a
non-number where a number belongs is kept, with its reason, as a bad record;
the rest of the batch flows on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from codex_jupyter.sources.streams.base import RecordBatch, StreamConfigError

_TS_NAMES = ("ts", "timestamp", "time", "ts_ms")
_DEVICE_NAMES = ("deviceId", "device_id", "device", "id")
#: Numeric fields that place a device rather than measure it: kept as columns, never scored.
COORDINATES = ("lat", "lon", "latitude", "longitude")


@dataclass(frozen=True)
class FieldMap:
    """Column name -> dotted path in the record; ``ts`` and ``device`` are the special columns."""

    paths: dict[str, tuple[str, ...]]

    @classmethod
    def parse(cls, spec: str | None) -> FieldMap | None:
        """``"ts=timestamp,device=deviceId,value=payload.value"`` (None: infer from the records)."""
        if not spec:
            return None
        paths: dict[str, tuple[str, ...]] = {}
        for part in spec.split(","):
            name, sep, path = part.partition("=")
            if not sep or not name.strip() or not path.strip():
                raise StreamConfigError(f"fields entry {part!r} is not name=path; e.g. value=payload.value")
            if name.strip() in paths:
                raise StreamConfigError(f"fields names {name.strip()!r} twice; keep one")
            paths[name.strip()] = tuple(path.strip().split("."))
        return cls(paths)


@dataclass
class Decoded:
    """Good rows as a frame (``ts``, ``device`` and metric columns) and bad records with reasons."""

    frame: pd.DataFrame
    metrics: list[str]
    bad: list[dict[str, Any]]


def _lookup(record: Any, path: tuple[str, ...]) -> Any:
    for step in path:
        if not isinstance(record, dict) or step not in record:
            raise KeyError(".".join(path))
        record = record[step]
    return record


def _to_number(value: Any) -> float:
    if value is None:
        return float("nan")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(value)
    return float(value)


def decode(batch: RecordBatch, fields: FieldMap | None, known_metrics: frozenset[str] = frozenset()) -> Decoded:
    """Columns for the good records of ``batch``; bad ones are returned with their reason.

    Without ``--fields``, a JSON ``null`` counts as a missing reading of a metric the stream has
    carried as a number (in this batch, or in ``known_metrics`` from earlier ones), and is ignored
    for any other field.
    """
    if batch.columns is not None:
        return _from_columns(batch, fields)
    parsed: list[tuple[int, dict[str, Any]]] = []
    bad: list[dict[str, Any]] = []
    for i, payload in enumerate(batch.payloads or []):
        try:
            record = json.loads(payload)
        except (ValueError, UnicodeDecodeError) as exc:
            bad.append(_bad(batch, i, payload, f"not JSON ({exc.__class__.__name__}: {str(exc)[:60]})"))
            continue
        if not isinstance(record, dict):
            bad.append(_bad(batch, i, payload, f"not a JSON object ({type(record).__name__})"))
            continue
        parsed.append((i, record))
    numeric = set(known_metrics) | {
        k for _, r in parsed for k, v in r.items() if isinstance(v, int | float) and not isinstance(v, bool)
    }
    rows: list[dict[str, Any]] = []
    for i, record in parsed:
        try:
            rows.append(_map_record(record, fields, batch.timestamps_ms[i] if batch.timestamps_ms else None, numeric))
        except KeyError as exc:
            bad.append(_bad(batch, i, batch.payloads[i], f"missing field {exc.args[0]!r}"))
        except TypeError as exc:
            bad.append(_bad(batch, i, batch.payloads[i], f"not a number: {exc.args[0]!r}"))
        except _NoMetric as exc:
            bad.append(_bad(batch, i, batch.payloads[i], f"no numeric field ({exc})"))
    frame = pd.DataFrame(rows)
    metrics = [c for c in frame.columns if c not in ("ts", "device", *COORDINATES)]
    if not frame.empty:
        frame["ts"] = pd.to_datetime(frame["ts"], unit="ms", utc=True)
    return Decoded(frame, metrics, bad)


def _map_record(
    record: dict[str, Any], fields: FieldMap | None, broker_ts: int | None, numeric: set[str]
) -> dict[str, Any]:
    if fields is not None:
        row = {}
        for name, path in fields.paths.items():
            value = _lookup(record, path)
            row[name] = value if name in ("ts", "device") else _to_number(value)
        if "ts" not in row:
            row["ts"] = broker_ts
        row["ts"] = _timestamp_ms(row["ts"])
        row.setdefault("device", "all")
        return row
    row = {"ts": None, "device": "all"}
    text: list[str] = []
    for key, value in record.items():
        if key in _TS_NAMES and row["ts"] is None:
            row["ts"] = _timestamp_ms(value)
        elif key in _DEVICE_NAMES and row["device"] == "all":
            row["device"] = str(value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            row[key] = float(value)
        elif value is None and key in numeric:
            row[key] = float("nan")
        else:
            text.append(f"{key}={value!r}")
    if not any(k not in ("ts", "device", *COORDINATES) for k in row):
        raise _NoMetric(", ".join(text[:2]) or "the record has only a time and a device")
    if row["ts"] is None:
        row["ts"] = broker_ts
    return row


class _NoMetric(ValueError):
    """A record without one numeric field to watch (only when ``--fields`` is not given)."""


def _timestamp_ms(value: Any) -> int:
    """Milliseconds since the epoch from a number (s or ms) or an ISO string."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value if value > 1e11 else value * 1000)
    if isinstance(value, str):
        try:
            ts = pd.Timestamp(value)
        except ValueError:
            raise TypeError(value) from None
        return int((ts if ts.tzinfo else ts.tz_localize("UTC")).value // 1_000_000)
    raise TypeError(value)


def _bad(batch: RecordBatch, i: int, payload: bytes, reason: str) -> dict[str, Any]:
    return {
        "partition": batch.partitions[i] if batch.partitions else None,
        "key": batch.keys[i] if batch.keys else None,
        "payload": payload[:2000],
        "reason": reason,
    }


def _from_columns(batch: RecordBatch, fields: FieldMap | None) -> Decoded:
    cols = batch.columns or {}
    if not cols:
        return Decoded(pd.DataFrame(), [], [])
    if fields is not None:
        missing = [".".join(p) for p in fields.paths.values() if len(p) != 1 or p[0] not in cols]
        if missing:
            raise StreamConfigError(f"fields path {missing[0]!r} is not a field of this stream ({', '.join(cols)})")
        data = {name: cols[path[0]] for name, path in fields.paths.items()}
    else:
        data = {}
        for key, values in cols.items():
            if key in _TS_NAMES and "ts" not in data:
                data["ts"] = values
            elif key in _DEVICE_NAMES and "device" not in data:
                data["device"] = values
            else:
                data[key] = values
    frame = pd.DataFrame(data)
    frame["ts"] = pd.to_datetime(frame["ts"], unit="ms", utc=True)
    if "device" not in frame:
        frame["device"] = "all"
    metrics = [
        c for c in frame.columns if c not in ("ts", "device", *COORDINATES) and np.issubdtype(frame[c].dtype, np.number)
    ]
    return Decoded(frame, metrics, [])
