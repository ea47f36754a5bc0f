"""Streams: Kafka, Kinesis, MQTT and the simulated device fleet behind one protocol (see ``base``)."""

from codex_jupyter.sources.streams.base import (
    SOURCES,
    RecordBatch,
    Stream,
    StreamConfigError,
    StreamUnavailable,
    StreamURL,
    open_stream,
)

__all__ = ["SOURCES", "RecordBatch", "Stream", "StreamConfigError", "StreamURL", "StreamUnavailable", "open_stream"]
