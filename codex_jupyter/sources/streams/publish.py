"""Publishing: send records to Kafka, Kinesis or MQTT and report what was delivered.

``publish(records_or_df, url)`` is how demos and tests fill real brokers. Records
are dicts (sent as JSON), DataFrame rows (sent as JSON, NaN as null) or ready-made ``bytes``/``str``
payloads (sent as they are, e.g. to exercise malformed-input handling). Every record ends up either
sent or in ``PublishReport.failures`` with its index and reason; nothing is dropped silently.

- Key: by default the record's device field (``deviceId``, ``device_id`` or ``device``, the names a tail
  recognises), so the simulator's records and a DataFrame of telemetry keep each device in one partition or
  shard; ``key="col"`` names another field, ``key=None`` sends no key.
- Kafka: key = the record's key, headers ``sensorType`` and ``timestamp`` when the record
  has such fields, ``acks=all``, gzip, idempotent producer (its own retries cannot duplicate);
  every delivery future is awaited.
- Kinesis: see :mod:`.kinesis_publish` (batching, size limits, retries of failed entries).
- MQTT: the URL's ``qos``; every publish is awaited (PUBACK for qos 1). ``{field}`` in the topic is
  filled from each record (``mqtt://h:1883/devices/{deviceId}/telemetry``).
"""

from __future__ import annotations

import contextlib
import re
import time
from typing import Any

from codex_jupyter.extras import require
from codex_jupyter.sources.streams._common import check_options, first_line, redact
from codex_jupyter.sources.streams.base import StreamConfigError, StreamURL
from codex_jupyter.sources.streams.outgoing import (
    AUTO_KEY,
    OutgoingRecord,
    PublishFailure,
    PublishReport,
    outgoing_records,
)

#: header name -> record fields that supply it, first present wins
HEADER_FIELDS = {
    "sensorType": ("sensorType", "sensor_type", "sensor"),
    "timestamp": ("timestamp", "ts", "time"),
}


def publish(records_or_df: Any, url: str, key: str | None = AUTO_KEY, **settings: Any) -> PublishReport:
    """Send records to ``kafka://``, ``kinesis://`` or ``mqtt://`` and return what was delivered.

    ``settings`` are client settings (Kafka property names for Kafka, see :mod:`.kafka_config`).
    Raises :class:`StreamConfigError` for a URL to fix and :class:`StreamUnavailable` when the broker
    cannot be reached at all; per-record problems land in the report instead.
    """
    parsed = StreamURL.parse(url)
    senders = {"kafka": _publish_kafka, "kinesis": _publish_kinesis, "mqtt": _publish_mqtt}
    sender = senders.get(parsed.scheme)
    if sender is None:
        raise StreamConfigError(f"cannot publish to {parsed.scheme}://; use one of {', '.join(senders)}")
    report = PublishReport(url)
    started = time.monotonic()
    records = outgoing_records(records_or_df, key, report)
    if records:
        sender(parsed, records, report, settings)
    report.seconds = time.monotonic() - started
    return report


def _headers(record: OutgoingRecord) -> list[tuple[str, bytes]]:
    headers = []
    for header, names in HEADER_FIELDS.items():
        value = next((record.fields[n] for n in names if record.fields.get(n) is not None), None)
        if value is not None:
            headers.append((header, str(value).encode()))
    return headers


def _publish_kafka(url: StreamURL, records: list[OutgoingRecord], report: PublishReport, settings: dict) -> None:
    require("kafka")
    from kafka import KafkaProducer
    from kafka.errors import AuthorizationError, KafkaConfigurationError, KafkaError, SaslAuthenticationFailedError

    from codex_jupyter.sources.streams import kafka as kafka_source
    from codex_jupyter.sources.streams import kafka_config, kafka_diagnose

    check_options(url, kafka_source.OPTIONS)  # a tail's URL works as is; group and from do not apply
    brokers, topic = kafka_source.parse_brokers(url)
    kwargs = kafka_config.client_settings(
        settings, KafkaProducer.DEFAULT_CONFIG, known=kafka_source.all_client_settings()
    )
    secrets = kafka_config.secret_values(kwargs)
    kwargs = {
        "acks": "all",
        "compression_type": "gzip",
        "bootstrap_timeout_ms": 10_000,
        "delivery_timeout_ms": 60_000,
        **kwargs,
        "bootstrap_servers": brokers,
    }
    if url.option("client_id"):
        kwargs["client_id"] = url.option("client_id")
    kafka_config.guard_logs(secrets)
    kafka_diagnose.ssl_context(kwargs)  # unreadable files or a wrong key passphrase: say so now
    try:
        producer = KafkaProducer(**kwargs)
    except (SaslAuthenticationFailedError, AuthorizationError, KafkaConfigurationError) as error:
        raise kafka_source.config_problem(error, secrets) from None
    except (KafkaError, OSError) as error:
        raise kafka_source.connect_failure(brokers, kwargs, error, secrets) from None
    try:
        pending = []
        for record in records:
            key = record.key.encode() if record.key is not None else None
            try:
                future = producer.send(topic, value=record.payload, key=key, headers=_headers(record))
            except KafkaError as error:
                report.fail(record, redact(first_line(error), secrets))
                continue
            pending.append((record, future))
        # what did not arrive in time fails its future below, with the reason
        with contextlib.suppress(KafkaError):
            producer.flush(timeout=kwargs["delivery_timeout_ms"] / 1000)
        for record, future in pending:
            try:
                future.get(timeout=1)
                report.sent += 1
            except KafkaError as error:
                report.fail(record, redact(f"{type(error).__name__}: {first_line(error)}", secrets))
    finally:
        producer.close(timeout=5)


def _publish_kinesis(url: StreamURL, records: list[OutgoingRecord], report: PublishReport, settings: dict) -> None:
    from codex_jupyter.sources.streams import kinesis_publish

    kinesis_publish.send(url, records, report, settings)


_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _publish_mqtt(url: StreamURL, records: list[OutgoingRecord], report: PublishReport, settings: dict) -> None:
    require("mqtt")
    from codex_jupyter.sources.streams import mqtt

    check_options(url, ("qos", "client_id"))
    target = mqtt.parse_url(url)
    if any(c in target.topic for c in "+#"):
        raise StreamConfigError(f"cannot publish to the wildcard topic {target.topic!r}; name one topic")
    client = mqtt.connect(target, clean_session=True, settings=settings)
    try:
        pending = []
        for record in records:
            try:
                topic = _PLACEHOLDER.sub(lambda m, r=record: _field(r, m.group(1)), target.topic)
            except KeyError as error:
                report.fail(record, f"topic needs field {error.args[0]!r}, which the record lacks")
                continue
            pending.append((record, client.publish(topic, record.payload, qos=target.qos)))
        deadline = time.monotonic() + 60
        for record, info in pending:
            try:
                info.wait_for_publish(timeout=max(deadline - time.monotonic(), 0.1))
            except (RuntimeError, ValueError) as error:
                report.fail(record, f"MQTT publish failed: {first_line(error)}")
                continue
            if info.is_published():
                report.sent += 1
            else:
                report.fail(record, f"MQTT publish not acknowledged (rc={info.rc})")
    finally:
        mqtt.disconnect(client)


def _field(record: OutgoingRecord, name: str) -> str:
    value = record.fields.get(name)
    if value is None:
        raise KeyError(name)
    return str(value)


__all__ = ["PublishFailure", "PublishReport", "publish"]
