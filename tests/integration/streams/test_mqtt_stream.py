"""MQTT source and publishing against Debian's mosquitto on 127.0.0.1."""

from __future__ import annotations

import json
import uuid

import pytest
from stream_brokers import Mosquitto, free_port, read_until

from codex_jupyter.sources.streams import StreamConfigError, StreamUnavailable, open_stream
from codex_jupyter.sources.streams.publish import publish

pytestmark = pytest.mark.integration


def _records(n: int, start: int = 0) -> list[dict]:
    return [{"seq": i, "deviceId": f"dev-{i % 4}", "value": i * 0.5} for i in range(start, start + n)]


def _seqs(payloads: list[bytes]) -> list[int]:
    return [json.loads(p)["seq"] for p in payloads]


def test_qos1_records_reach_single_level_and_multi_level_wildcards(mosquitto: Mosquitto) -> None:
    root = f"fleet-{uuid.uuid4().hex[:6]}"
    base = f"mqtt://127.0.0.1:{mosquitto.port}"
    plus = open_stream(f"{base}/{root}/+/telemetry?qos=1")
    hash_ = open_stream(f"{base}/{root}/#?qos=1")
    plus.open()
    hash_.open()
    try:
        report = publish(_records(100), f"{base}/{root}/{{deviceId}}/telemetry?qos=1")
        assert (report.sent, report.failed) == (100, 0)
        for stream in (plus, hash_):
            batch = read_until(stream, 100, timeout=15)
            assert sorted(_seqs(batch.payloads)) == list(range(100))
            for payload, topic in zip(batch.payloads, batch.partitions, strict=True):
                assert topic == f"{root}/{json.loads(payload)['deviceId']}/telemetry"
            assert len(read_until(stream, 1, timeout=0.5)) == 0
    finally:
        plus.close()
        hash_.close()


def test_a_persistent_session_gets_what_arrived_while_disconnected_even_across_a_broker_restart(
    mosquitto: Mosquitto,
) -> None:
    topic = f"plant-{uuid.uuid4().hex[:6]}/line1"
    url = f"mqtt://127.0.0.1:{mosquitto.port}/{topic}?qos=1&client_id=tail-{uuid.uuid4().hex[:6]}"
    stream = open_stream(url)
    stream.open()  # subscribes: the broker now keeps a session for this client id
    stream.close()
    assert publish(_records(30), f"mqtt://127.0.0.1:{mosquitto.port}/{topic}?qos=1").sent == 30
    mosquitto.stop()  # mosquitto writes its persistence file on shutdown
    mosquitto.start()
    assert publish(_records(20, start=30), f"mqtt://127.0.0.1:{mosquitto.port}/{topic}?qos=1").sent == 20
    stream.open()
    try:
        batch = read_until(stream, 50, timeout=15)
    finally:
        stream.close()
    assert sorted(_seqs(batch.payloads)) == list(range(50))


def test_an_open_stream_reports_the_outage_and_reconnects_by_itself(mosquitto: Mosquitto) -> None:
    topic = f"yard-{uuid.uuid4().hex[:6]}"
    url = f"mqtt://127.0.0.1:{mosquitto.port}/{topic}?qos=1&client_id=tail-{uuid.uuid4().hex[:6]}"
    stream = open_stream(url)
    stream.open()
    outages: list[StreamUnavailable] = []
    try:
        mosquitto.stop()
        assert len(read_until(stream, 1, timeout=2, on_unavailable=outages.append)) == 0
        mosquitto.start()
        target = f"mqtt://127.0.0.1:{mosquitto.port}/{topic}?qos=1"
        assert publish(_records(40), target).sent == 40
        batch = read_until(stream, 40, timeout=30, on_unavailable=outages.append)
    finally:
        stream.close()
        mosquitto.start()
    assert outages and "\n" not in str(outages[0])
    assert sorted(_seqs(batch.payloads)) == list(range(40))


def test_url_mistakes_and_an_unreachable_broker_are_one_clear_line() -> None:
    with pytest.raises(StreamConfigError, match="qos"):
        open_stream("mqtt://127.0.0.1:1883/a/#?qos=3")
    with pytest.raises(StreamConfigError, match="unknown option"):
        open_stream("mqtt://127.0.0.1:1883/a/#?qso=1")
    with pytest.raises(StreamConfigError, match="credentials"):
        open_stream("mqtt://user:pw@127.0.0.1:1883/a")
    with pytest.raises(StreamConfigError, match="wildcard"):
        publish([{"a": 1}], "mqtt://127.0.0.1:1883/a/#")
    port = free_port()
    with pytest.raises(StreamUnavailable, match=f"127.0.0.1:{port}") as caught:
        open_stream(f"mqtt://127.0.0.1:{port}/a/#").open()
    assert "\n" not in str(caught.value)
