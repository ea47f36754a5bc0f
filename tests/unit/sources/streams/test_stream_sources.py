"""Stream URLs, start times and Kafka settings: what a user types, checked without a broker."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from codex_jupyter.sources.streams import StreamConfigError, StreamURL, open_stream
from codex_jupyter.sources.streams._common import parse_start
from codex_jupyter.sources.streams.checkpoints import FileCheckpointStore
from codex_jupyter.sources.streams.mqtt import parse_url as parse_mqtt
from codex_jupyter.sources.streams.outgoing import AUTO_KEY, PublishFailure, PublishReport, outgoing_records
from codex_jupyter.sources.streams.publish import publish


def test_start_positions_accept_names_and_iso_times_in_utc() -> None:
    assert parse_start("Earliest", ("earliest", "latest")) == "earliest"
    assert parse_start("2026-01-01T00:00:00Z", ("latest",)) == 1767225600000
    assert parse_start("2026-01-01T00:00:00", ("latest",)) == 1767225600000  # no zone: UTC
    # "+01:00" in a URL query arrives as " 01:00"
    assert parse_start("2026-01-01T01:00:00 01:00", ("latest",)) == 1767225600000
    with pytest.raises(StreamConfigError, match="ISO time"):
        parse_start("yesterday", ("earliest", "latest"))


def test_kafka_urls_and_settings_are_checked_before_connecting(monkeypatch: pytest.MonkeyPatch) -> None:
    for url, message in [
        ("kafka://127.0.0.1:9092", "one topic"),
        ("kafka://127.0.0.1/t", "HOST:PORT"),
        ("kafka://127.0.0.1:9092/t?grup=g", "unknown option"),
        ("kafka://bob:pw@127.0.0.1:9092/t", "credentials"),
    ]:
        with pytest.raises(StreamConfigError, match=message):
            open_stream(url)
    with pytest.raises(StreamConfigError, match=r"sasl\.jaas\.config is not supported"):
        open_stream("kafka://h:1/t", **{"sasl.jaas.config": "x"})
    with pytest.raises(StreamConfigError, match=r"unknown Kafka setting 'sasl\.pasword'"):
        open_stream("kafka://h:1/t", **{"sasl.pasword": "x"})

    monkeypatch.setenv("CODEX_JUPYTER_KAFKA_SASL_PLAIN_PASSWORD", "env-secret-value")
    monkeypatch.setenv("CODEX_JUPYTER_KAFKA_REQUEST_TIMEOUT_MS", "15000")
    monkeypatch.setenv("CODEX_JUPYTER_KAFKA_ACKS", "1")  # a producer setting: ignored by the consumer
    stream = open_stream(
        "kafka://h1:9092,h2:9092/telemetry?group=g&from=earliest",
        **{"security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "ana"},
    )
    assert stream.brokers == ["h1:9092", "h2:9092"] and stream.topic == "telemetry" and stream.group == "g"
    assert stream._settings["request_timeout_ms"] == 15000 and "acks" not in stream._settings
    assert stream._settings["sasl_plain_username"] == "ana"  # librdkafka's name, mapped
    assert "env-secret-value" not in repr(stream) and "SASL_SSL" in repr(stream)


def test_mqtt_wildcard_topics_keep_their_options() -> None:
    target = parse_mqtt(StreamURL.parse("mqtt://127.0.0.1:1883/plant/#?qos=2&client_id=tail-1"))
    assert (target.topic, target.qos, target.client_id) == ("plant/#", 2, "tail-1")
    assert parse_mqtt(StreamURL.parse("mqtt://h:1883/a/+/b")).qos == 1


def test_kinesis_urls_name_one_stream() -> None:
    with pytest.raises(StreamConfigError, match="stream name"):
        open_stream("kinesis://s/extra?region=eu-west-1")
    with pytest.raises(StreamConfigError, match="unknown option"):
        open_stream("kinesis://s?regoin=eu-west-1")


def test_publish_reports_unencodable_records_and_escapes_html() -> None:
    report = PublishReport("kafka://h:1/<t>", total=2, sent=1)
    report.failures.append(PublishFailure(1, "d<1>", "not JSON-serializable: <object>"))
    html = report._repr_html_()
    assert "<t>" not in html and "&lt;t&gt;" in html and "&lt;object&gt;" in html
    assert "1 of 2 sent" in repr(report) and "1 x not JSON-serializable" in repr(report)
    with pytest.raises(TypeError, match="not a single record"):
        publish({"a": 1}, "kafka://h:1/t")
    with pytest.raises(StreamConfigError, match="cannot publish"):
        publish([{"a": 1}], "sim://fleet")


def test_records_become_json_payloads_keyed_by_device() -> None:
    frame = pd.DataFrame(
        {"deviceId": ["d1", "d2"], "value": [1.5, np.nan], "ts": pd.to_datetime(["2026-01-01", "2026-01-02"])}
    )
    report = PublishReport("x")
    rows = outgoing_records(frame, "deviceId", report)
    assert [r.key for r in rows] == ["d1", "d2"]
    assert json.loads(rows[1].payload) == {"deviceId": "d2", "value": None, "ts": "2026-01-02T00:00:00.000"}
    mixed = outgoing_records(
        [{"deviceId": 7, "v": np.float32(2.0)}, b"raw", {"v": float("nan")}, 42], "deviceId", report
    )
    assert [(r.key, r.payload) for r in mixed] == [("7", b'{"deviceId":7,"v":2.0}'), (None, b"raw")]
    assert [f.index for f in report.failures] == [2, 3] and report.total == 6


def test_the_default_key_is_the_device_field_under_any_name_a_tail_recognises() -> None:
    records = [{"deviceId": "a"}, {"device_id": "b"}, {"device": "c"}, {"id": "d"}, {"device_id": None, "device": "e"}]
    keys = [r.key for r in outgoing_records(records, AUTO_KEY, PublishReport("x"))]
    assert keys == ["a", "b", "c", None, "e"]
    assert [r.key for r in outgoing_records(records[:2], None, PublishReport("x"))] == [None, None]
    assert inspect.signature(publish).parameters["key"].default == AUTO_KEY


class _MemoryStore:
    """A checkpoint store of one's own: any object with load/save will do (a DynamoDB table, a database)."""

    def __init__(self, positions: dict[str, str]) -> None:
        self.positions = positions

    def load(self, stream: str, group: str) -> dict[str, str]:
        return dict(self.positions)

    def save(self, stream: str, group: str, positions: dict[str, str]) -> None:
        self.positions = dict(positions)


def test_kinesis_checkpoint_files_round_trip_per_group_and_stay_in_their_folder(tmp_path: Path) -> None:
    store = FileCheckpointStore(tmp_path)
    assert store.load("telemetry", "alerts") == {}
    store.save("telemetry", "alerts", {"shardId-000000000001": "4962", "shardId-000000000000": "SHARD_END"})
    store.save("telemetry", "../../etc/x", {"shardId-000000000000": "17"})
    store.save("telemetry.alerts", "x", {"shardId-000000000000": "18"})  # no clash with ("telemetry", "alerts.x")
    assert store.load("telemetry", "alerts") == {"shardId-000000000000": "SHARD_END", "shardId-000000000001": "4962"}
    assert store.load("telemetry", "../../etc/x") == {"shardId-000000000000": "17"}
    assert store.load("telemetry", "alerts.x") == {}
    assert {p.parent for p in tmp_path.iterdir()} == {tmp_path} and len(list(tmp_path.iterdir())) == 3


def test_a_failed_checkpoint_write_leaves_the_previous_file_whole(tmp_path: Path) -> None:
    store = FileCheckpointStore(tmp_path)
    store.save("s", "g", {"shardId-0": "1"})
    with pytest.raises(TypeError):
        store.save("s", "g", {"shardId-0": "2", "shardId-1": object()})  # type: ignore[dict-item]
    assert store.load("s", "g") == {"shardId-0": "1"}
    assert [p.name for p in tmp_path.iterdir()] == [store.path("s", "g").name], "no temporary file is left"


def test_an_unreadable_checkpoint_file_is_an_error_naming_it_never_a_silent_fresh_start(tmp_path: Path) -> None:
    store = FileCheckpointStore(tmp_path)
    for text in ('{"stream": "s", "group": "g", "positions": {"shardId-0": 12', "[]", '{"positions": {}}'):
        store.path("s", "g").write_text(text)
        with pytest.raises(StreamConfigError, match=r"unreadable.*delete the file") as caught:
            store.load("s", "g")
        assert str(store.path("s", "g")) in str(caught.value) and "\n" not in str(caught.value)


def test_kinesis_groups_pick_a_checkpoint_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEX_JUPYTER_CACHE_DIR", str(tmp_path))
    grouped = open_stream("kinesis://s?region=eu-west-1&group=alerts")
    assert isinstance(grouped._store, FileCheckpointStore) and grouped._store.folder == tmp_path / "kinesis-checkpoints"
    assert open_stream("kinesis://s?region=eu-west-1")._store is None  # no group: positions live in memory only
    with pytest.raises(StreamConfigError, match=r"needs a group"):
        open_stream("kinesis://s?region=eu-west-1", checkpoint_store=_MemoryStore({}))
    with pytest.raises(StreamConfigError, match=r"no load\(stream, group\)"):
        open_stream("kinesis://s?region=eu-west-1&group=g", checkpoint_store={"shardId-0": "1"})
    mine = _MemoryStore({"shardId-0": "not a position"})
    with pytest.raises(StreamConfigError, match="no Kinesis position"):  # checked before any connection
        open_stream("kinesis://s?region=eu-west-1&group=g", checkpoint_store=mine).open()
