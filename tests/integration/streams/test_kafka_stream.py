"""Kafka source and publishing against a real Apache Kafka 4.x broker (KRaft, 127.0.0.1)."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime

import pytest
from stream_brokers import KafkaBroker, free_port, read_until

from codex_jupyter import tail
from codex_jupyter.sources.streams import StreamUnavailable, open_stream
from codex_jupyter.sources.streams import kafka as kafka_module
from codex_jupyter.sources.streams.base import RecordBatch
from codex_jupyter.sources.streams.publish import publish

pytestmark = pytest.mark.integration


def _records(n: int, start: int = 0, devices: int = 7) -> list[dict]:
    return [
        {
            "seq": i,
            "deviceId": f"dev-{i % devices}",
            "sensorType": "temperature",
            "ts": f"2026-01-01T00:00:{i % 60:02d}Z",
        }
        for i in range(start, start + n)
    ]


def _seqs(payloads: list[bytes]) -> list[int]:
    return [json.loads(p)["seq"] for p in payloads]


def _topic(kafka: KafkaBroker, partitions: int = 3) -> str:
    name = f"t-{uuid.uuid4().hex[:8]}"
    kafka.create_topic(name, partitions)
    return name


def _published(kafka: KafkaBroker, count: int) -> str:
    """A new topic (3 partitions) holding ``count`` records."""
    topic = _topic(kafka)
    assert publish(_records(count), f"kafka://{kafka.bootstrap}/{topic}").sent == count
    return topic


def test_publish_then_read_back_with_keys_partitions_timestamps_and_headers(kafka: KafkaBroker) -> None:
    topic = _topic(kafka)
    before = int(time.time() * 1000)
    report = publish(_records(300), f"kafka://{kafka.bootstrap}/{topic}")
    assert (report.sent, report.failed, report.total) == (300, 0, 300)
    assert "300 of 300 sent" in repr(report)

    stream = open_stream(f"kafka://{kafka.bootstrap}/{topic}?group=readback&from=earliest")
    stream.open()
    try:
        batch = read_until(stream, 300)
    finally:
        stream.close()
    assert sorted(_seqs(batch.payloads)) == list(range(300))
    device_partition: dict[str, set[str]] = {}
    for payload, key, partition, ts in zip(
        batch.payloads, batch.keys, batch.partitions, batch.timestamps_ms, strict=True
    ):
        assert key == json.loads(payload)["deviceId"]
        assert partition.rsplit(":", 1)[0] == topic and partition.rsplit(":", 1)[1] in {"0", "1", "2"}
        assert before - 1000 <= ts <= time.time() * 1000 + 1000
        device_partition.setdefault(key, set()).add(partition)
    assert all(len(parts) == 1 for parts in device_partition.values()), "a device's records share one partition"
    assert len({p for parts in device_partition.values() for p in parts}) > 1, "keys spread over partitions"

    from kafka import KafkaConsumer

    raw = KafkaConsumer(
        topic, bootstrap_servers=kafka.bootstrap, auto_offset_reset="earliest", consumer_timeout_ms=5000
    )
    try:
        headers = dict(next(iter(raw)).headers)
    finally:
        raw.close()
    assert headers["sensorType"] == b"temperature" and headers["timestamp"].startswith(b"2026-01-01T00:00:")


def test_a_restart_with_the_same_group_resumes_after_the_last_commit(kafka: KafkaBroker) -> None:
    topic = _topic(kafka)
    assert publish(_records(100), f"kafka://{kafka.bootstrap}/{topic}").sent == 100
    url = f"kafka://{kafka.bootstrap}/{topic}?group=resume&from=earliest"

    first = open_stream(url)
    first.open()
    try:
        committed = read_until(first, 40)  # commits after every poll
        uncommitted = read_until(first, 20, commit=False)
    finally:
        first.close()
    assert len(committed) == 40 and len(uncommitted) == 20

    second = open_stream(url)
    second.open()
    try:
        rest = read_until(second, 60)
        assert len(read_until(second, 1, timeout=2)) == 0, "nothing beyond the 60 not committed"
    finally:
        second.close()
    assert set(_seqs(rest.payloads)) == set(range(100)) - set(_seqs(committed.payloads))
    assert set(_seqs(uncommitted.payloads)) <= set(_seqs(rest.payloads)), "read but not committed means re-read"


def test_from_an_iso_time_seeks_by_timestamp_with_and_without_a_group(kafka: KafkaBroker) -> None:
    topic = _topic(kafka)
    url = f"kafka://{kafka.bootstrap}/{topic}"
    assert publish(_records(50), url).sent == 50
    time.sleep(1.2)
    since = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    time.sleep(0.2)
    assert publish(_records(30, start=50), url).sent == 30

    for query in (f"group=since-{uuid.uuid4().hex[:6]}&from={since}", f"from={since}"):
        stream = open_stream(f"{url}?{query}")
        stream.open()
        try:
            batch = read_until(stream, 30)
            assert sorted(_seqs(batch.payloads)) == list(range(50, 80)), query
            assert len(read_until(stream, 1, timeout=2)) == 0, query
        finally:
            stream.close()


def test_without_a_group_a_reopened_stream_resumes_from_its_in_memory_commits(kafka: KafkaBroker) -> None:
    topic = _topic(kafka)
    assert publish(_records(30), f"kafka://{kafka.bootstrap}/{topic}").sent == 30
    stream = open_stream(f"kafka://{kafka.bootstrap}/{topic}?from=earliest")
    stream.open()
    first = read_until(stream, 12)
    stream.close()
    stream.open()
    try:
        rest = read_until(stream, 18)
    finally:
        stream.close()
    assert sorted(_seqs(first.payloads) + _seqs(rest.payloads)) == list(range(30))


def test_lag_counts_what_is_not_yet_read_per_partition(kafka: KafkaBroker) -> None:
    topic = _published(kafka, 60)
    stream = open_stream(f"kafka://{kafka.bootstrap}/{topic}?group=lag&from=earliest")
    stream.open()
    try:
        read = read_until(stream, 25)
        lag = stream.lag()
    finally:
        stream.close()
    assert set(lag) == {f"{topic}:{p}" for p in range(3)}
    assert sum(lag.values()) == 60 - len(read)


def test_malformed_payloads_arrive_as_raw_bytes(kafka: KafkaBroker) -> None:
    topic = _topic(kafka)
    good = _records(90)
    bad = [b"\xff\xfe not json %d" % i for i in range(10)]
    mixed = [item for pair in zip(good[::9], bad, strict=True) for item in pair] + [
        r for i, r in enumerate(good) if i % 9
    ]
    report = publish(mixed, f"kafka://{kafka.bootstrap}/{topic}")
    assert report.sent == 100
    stream = open_stream(f"kafka://{kafka.bootstrap}/{topic}?group=bad&from=earliest")
    stream.open()
    try:
        payloads = read_until(stream, 100).payloads
    finally:
        stream.close()
    assert sorted(p for p in payloads if p.startswith(b"\xff")) == sorted(bad)
    assert sorted(_seqs([p for p in payloads if not p.startswith(b"\xff")])) == list(range(90))


def test_an_unreachable_broker_is_one_clear_line_and_secrets_stay_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEX_JUPYTER_KAFKA_SASL_PLAIN_PASSWORD", "hunter2-very-secret")
    port = free_port()
    stream = open_stream(
        f"kafka://127.0.0.1:{port}/telemetry?group=g",
        **{"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN", "sasl.plain.username": "ana"},
        bootstrap_timeout_ms=1500,
    )
    assert "hunter2" not in repr(stream) and "sasl_plain_password='***'" in repr(stream)
    with pytest.raises(StreamUnavailable) as caught:
        stream.open()
    message = str(caught.value)
    assert f"127.0.0.1:{port}" in message and "\n" not in message and "hunter2" not in message


class _StopsFetching(kafka_module.KafkaStream):
    """A reader whose first client stops fetching after its first batch, as kafka-python 3.0.12 once did in CI
    (the stall itself is rare; pausing the partitions is the same from outside: assigned, records waiting,
    nothing fetched, no error)."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        self.opened = 0

    def open(self) -> None:
        self.opened += 1
        super().open()

    def poll(self, max_records: int, timeout: float) -> RecordBatch:
        batch = super().poll(max_records, timeout)
        if self.opened == 1 and len(batch):
            consumer = self._require()
            consumer.pause(*consumer.assignment())
        return batch


def test_a_client_that_stops_fetching_while_records_wait_is_reopened_and_loses_nothing(
    kafka: KafkaBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kafka_module, "STALL_CHECK_S", 1.0)
    topic = _published(kafka, 60)
    url = f"kafka://{kafka.bootstrap}/{topic}?group=stall&from=earliest"
    stream = _StopsFetching(url, [kafka.bootstrap], topic, "stall", "earliest", {})
    handle = tail(url, stream=stream, detector="none", batch_size=10, max_records=60, duration=40)
    assert handle.wait(60)
    stats = handle.stats()
    assert stats["records"] == 60 and stats["reconnects"] == 1 and stream.opened == 2, stats
    assert "fetched nothing" in stats["last_error"] and "records wait" in stats["last_error"], stats
    assert sorted(handle.df().seq.astype(int)) == list(range(60))  # resumed at the last commit: none lost, none twice


def test_a_caught_up_reader_is_never_taken_for_a_stalled_one(
    kafka: KafkaBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kafka_module, "STALL_CHECK_S", 0.5)
    topic = _published(kafka, 20)
    stream = open_stream(f"kafka://{kafka.bootstrap}/{topic}?group=idle&from=earliest")
    stream.open()
    try:
        assert len(read_until(stream, 20)) == 20
        deadline = time.monotonic() + 4  # eight stall checks with nothing left to read
        while time.monotonic() < deadline:
            assert len(stream.poll(max_records=10, timeout=0.2)) == 0
    finally:
        stream.close()


def test_the_stream_survives_a_broker_restart_and_loses_nothing(kafka: KafkaBroker) -> None:
    """Stop the broker mid-read, keep polling (as the engine does), start it again on the same data."""
    topic = _topic(kafka)
    url = f"kafka://{kafka.bootstrap}/{topic}"
    assert publish(_records(200), url).sent == 200
    stream = open_stream(f"{url}?group=fault&from=earliest")
    stream.open()
    outages: list[StreamUnavailable] = []
    try:
        before = read_until(stream, 120)
        kafka.stop()
        during = read_until(stream, 1, timeout=4, on_unavailable=outages.append)
        kafka.start()
        assert publish(_records(200, start=200), url).sent == 200
        seqs = _seqs(before.payloads + during.payloads)
        seen = set(seqs)
        deadline = time.monotonic() + 60
        # delivery is at-least-once: records re-read after the rebalance count once, so read until
        # every sequence number arrived, not until as many records as were left
        while (missing := set(range(400)) - seen) and time.monotonic() < deadline:
            after = read_until(stream, len(missing), timeout=deadline - time.monotonic(), on_unavailable=outages.append)
            seqs += _seqs(after.payloads)
            seen.update(seqs)
    finally:
        stream.close()
        kafka.start()
    assert not missing, (
        f"nothing lost: {len(missing)} never arrived in 60 s, e.g. {sorted(missing)[:10]} "
        f"({len(seqs) - len(seen)} records came twice)"
    )
    assert outages and all("\n" not in str(e) for e in outages), "the outage was reported as StreamUnavailable"
