"""What publishing sends and reports, shared by every broker's publisher.

Kept apart from :mod:`.publish` (which picks the broker) so the per-broker
modules (:mod:`.kinesis_publish` ...) import these types without importing
the dispatcher that imports them.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from codex_jupyter.sources.streams._common import first_line


@dataclass
class OutgoingRecord:
    """One record ready for the wire: its position in the input, payload, key and header values."""

    index: int
    payload: bytes
    key: str | None
    fields: Mapping[str, Any]


@dataclass
class PublishFailure:
    index: int
    key: str | None
    reason: str


@dataclass
class PublishReport:
    """What happened to every record: ``sent`` + ``len(failures)`` equals the number given."""

    url: str
    total: int = 0
    sent: int = 0
    retried: int = 0
    failures: list[PublishFailure] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> int:
        return len(self.failures)

    def reasons(self) -> Counter[str]:
        return Counter(f.reason for f in self.failures)

    def fail(self, record: OutgoingRecord, reason: str) -> None:
        self.failures.append(PublishFailure(record.index, record.key, reason))

    def _summary(self) -> str:
        return f"{self.sent} of {self.total} sent, {self.retried} retried, {self.failed} failed in {self.seconds:.2f} s"

    def __repr__(self) -> str:
        lines = [f"PublishReport({self.url}: {self._summary()})"]
        lines += [f"  {count} x {reason}" for reason, count in self.reasons().most_common(5)]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{count}</td><td>{html.escape(reason)}</td></tr>"
            for reason, count in self.reasons().most_common(10)
        )
        table = f"<table><tr><th>records</th><th>reason</th></tr>{rows}</table>" if rows else ""
        return f"<div><b>Published to {html.escape(self.url)}</b>: {html.escape(self._summary())}{table}</div>"


def _json_default(value: Any) -> Any:
    """numpy scalars, timestamps and the like, which ``json`` does not know."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _rows(records_or_df: Any) -> Iterable[Any]:
    """Dict-like rows; a DataFrame goes through pandas' JSON writer so NaN/NaT become null."""
    if hasattr(records_or_df, "to_json") and hasattr(records_or_df, "columns"):
        text = records_or_df.to_json(orient="records", lines=True, date_format="iso", date_unit="ms")
        return (json.loads(line) for line in text.splitlines() if line)
    if isinstance(records_or_df, (bytes, str, Mapping)):
        raise TypeError("publish() takes a list of records or a DataFrame, not a single record; wrap it in a list")
    return records_or_df


#: ``publish``'s default key: the record's device field, under the names a tail recognises (see pipelines/decode.py).
AUTO_KEY = "auto"
_DEVICE_FIELDS = ("deviceId", "device_id", "device")


def _key_value(record: Mapping, key: str | None) -> Any:
    """The record's key: ``key``'s field, the first device field present for ``AUTO_KEY``, none for ``None``."""
    if key == AUTO_KEY:
        return next((record[name] for name in _DEVICE_FIELDS if record.get(name) is not None), None)
    return record.get(key) if key else None


def outgoing_records(records_or_df: Any, key: str | None, report: PublishReport) -> list[OutgoingRecord]:
    """Encode each record for the wire; one that cannot be encoded goes to ``report.failures`` with its reason."""
    out: list[OutgoingRecord] = []
    for index, record in enumerate(_rows(records_or_df)):
        report.total += 1
        if isinstance(record, (bytes, bytearray, str)):
            payload = record.encode() if isinstance(record, str) else bytes(record)
            out.append(OutgoingRecord(index, payload, None, {}))
            continue
        if not isinstance(record, Mapping):
            report.failures.append(PublishFailure(index, None, f"not a dict, bytes or str: {type(record).__name__}"))
            continue
        key_value = _key_value(record, key)
        rec_key = None if key_value is None else str(key_value)
        try:
            payload = json.dumps(record, default=_json_default, allow_nan=False, separators=(",", ":")).encode()
        except (TypeError, ValueError) as error:
            report.failures.append(PublishFailure(index, rec_key, f"not JSON-serializable: {first_line(error)}"))
            continue
        out.append(OutgoingRecord(index, payload, rec_key, record))
    return out
