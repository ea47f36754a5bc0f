"""One protocol for every stream: open a URL, poll a batch, commit what was processed, close.

A source returns :class:`RecordBatch` objects. Broker sources (Kafka, Kinesis,
MQTT) fill ``payloads`` with the raw message bytes, which the tail engine
decodes (JSON by default) and maps into columns; the simulator, which has no
wire format, fills ``columns`` directly. ``commit()`` is called by the engine
only after a batch has been processed, which is what makes delivery
at-least-once: a consumer that restarts resumes after the last commit.

Errors: :class:`StreamConfigError` for a URL or option the user must fix (not
retried), :class:`StreamUnavailable` for a broker or endpoint that cannot be
reached right now (the engine shows "reconnecting" and retries with backoff).
``poll`` and ``commit`` may raise it too; the stream object stays usable, and a
commit that failed during an outage is retried by the next one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import numpy as np

from codex_jupyter.errors import InputError, ServiceUnavailable
from codex_jupyter.extras import EXTRAS, require


class StreamConfigError(InputError):
    """A stream URL or option that cannot work; the message says what to change."""


class StreamUnavailable(ServiceUnavailable):
    """The broker or endpoint is unreachable right now; worth retrying with backoff."""


@dataclass
class RecordBatch:
    """Records polled together, as columns.

    ``payloads`` (raw bytes per record) for broker sources, or ``columns``
    (name -> array, already decoded) for sources without a wire format. The
    other lists have one entry per record.
    """

    payloads: list[bytes] | None = None
    columns: dict[str, np.ndarray] | None = None
    keys: list[str | None] = field(default_factory=list)
    partitions: list[str] = field(default_factory=list)
    timestamps_ms: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        if self.payloads is not None:
            return len(self.payloads)
        if self.columns:
            return len(next(iter(self.columns.values())))
        return 0


class Stream(Protocol):
    """What every source implements."""

    url: str

    def open(self) -> None:
        """Connect (raises StreamUnavailable when the broker cannot be reached)."""
        ...

    def poll(self, max_records: int, timeout: float) -> RecordBatch:
        """Up to ``max_records`` new records, waiting at most ``timeout`` seconds (may be empty)."""
        ...

    def commit(self) -> None:
        """Mark everything returned by ``poll`` so far as processed."""
        ...

    def lag(self) -> dict[str, int]:
        """How far behind, per partition or shard: records (Kafka), milliseconds (Kinesis); empty if unknown."""
        ...

    def close(self) -> None:
        """Release connections; the stream may be opened again."""
        ...


@dataclass(frozen=True)
class StreamURL:
    """A parsed stream URL: ``scheme://netloc/path?query`` with single-valued options."""

    scheme: str
    netloc: str
    path: str
    options: dict[str, str]
    raw: str

    @classmethod
    def parse(cls, url: str) -> StreamURL:
        # "#" is an MQTT wildcard, not a fragment, and "+" in an ISO time is not a space.
        parts = urlsplit(url.replace("#", "%23"))
        if not parts.scheme:
            raise StreamConfigError(f"{url!r} has no scheme; use kafka://, kinesis://, mqtt:// or sim://")
        options: dict[str, str] = {}
        for key, values in parse_qs(parts.query.replace("+", "%2B"), keep_blank_values=True).items():
            if len(values) > 1:
                raise StreamConfigError(f"option {key!r} is given more than once in {url!r}; keep one")
            options[key] = values[0]
        return cls(parts.scheme.lower(), parts.netloc, unquote(parts.path).lstrip("/"), options, url)

    def option(self, name: str, default: str | None = None) -> str | None:
        return self.options.get(name, default)


def stream_name(url: str) -> str:
    """``url`` as logs and status show it: scheme, host and path; never the user, password or query options.

    A URL may carry credentials (``mqtt://user:password@host/topic``) or client settings in its query, so the
    name keeps only what says which stream it is.
    """
    try:
        parts = urlsplit(url.replace("#", "%23"))
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # a malformed netloc or port: show nothing of it
        return f"{url.partition(':')[0]}://?"
    path = unquote(parts.path)
    return f"{parts.scheme}://{host}{port}{path}"


#: scheme -> module with ``from_url(url: StreamURL, **settings) -> Stream``; imported on first use,
#: since client libraries (kafka-python, boto3, paho-mqtt) are slow to import.
SOURCES = {
    "sim": "codex_jupyter.sources.streams.simulator",
    "kafka": "codex_jupyter.sources.streams.kafka",
    "kinesis": "codex_jupyter.sources.streams.kinesis",
    "mqtt": "codex_jupyter.sources.streams.mqtt",
}


def open_stream(url: str, **settings: Any) -> Stream:
    """The stream for ``url`` (not yet opened): ``sim://``, ``kafka://``, ``kinesis://`` or ``mqtt://``."""
    import importlib

    parsed = StreamURL.parse(url)
    module = SOURCES.get(parsed.scheme)
    if module is None:
        raise StreamConfigError(f"unknown stream scheme {parsed.scheme!r}; use one of {', '.join(SOURCES)}")
    if parsed.scheme in EXTRAS:
        require(parsed.scheme)
    return importlib.import_module(module).from_url(parsed, **settings)
