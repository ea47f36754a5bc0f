"""Kinesis source and publishing against moto in server mode (boto3 over HTTP on 127.0.0.1).

moto never throttles and never fails part of a PutRecords batch, so those faults come from
``KinesisFaults``, a real HTTP stand-in between boto3 and moto (see ``stream_brokers``): boto3's
real request signing, JSON protocol and error parsing run unchanged.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import boto3
import pytest
from stream_brokers import KinesisFaults, MotoServer, free_port, read_until

from codex_jupyter.sources.streams import StreamConfigError, StreamUnavailable, open_stream
from codex_jupyter.sources.streams.publish import publish

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("aws_env")]

REGION = "eu-west-1"


def _records(n: int, start: int = 0, devices: int = 20) -> list[dict]:
    return [{"seq": i, "deviceId": f"dev-{i % devices}", "value": float(i)} for i in range(start, start + n)]


def _seqs(payloads: list[bytes]) -> list[int]:
    return [json.loads(p)["seq"] for p in payloads]


def _stream(moto: MotoServer, shards: int) -> str:
    name = f"s-{uuid.uuid4().hex[:8]}"
    kinesis = boto3.client("kinesis", region_name=REGION, endpoint_url=moto.endpoint)
    kinesis.create_stream(StreamName=name, ShardCount=shards)
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.2})
    return name


def _url(name: str, endpoint: str, start: str = "trim_horizon") -> str:
    return f"kinesis://{name}?region={REGION}&endpoint={endpoint}&from={start}"


@pytest.fixture
def faults(moto: MotoServer) -> Iterator[KinesisFaults]:
    proxy = KinesisFaults(moto.port)
    yield proxy
    proxy.close()


def test_every_shard_is_read_with_keys_shards_and_arrival_times(moto: MotoServer) -> None:
    name = _stream(moto, 4)
    before = int(time.time() * 1000)
    report = publish(_records(400), _url(name, moto.endpoint))
    assert (report.sent, report.failed, report.retried) == (400, 0, 0)
    stream = open_stream(_url(name, moto.endpoint))
    stream.open()
    try:
        batch = read_until(stream, 400)
        lag = stream.lag()
    finally:
        stream.close()
    assert sorted(_seqs(batch.payloads)) == list(range(400))
    shards_of: dict[str, set[str]] = {}
    for payload, key, shard, ts in zip(batch.payloads, batch.keys, batch.partitions, batch.timestamps_ms, strict=True):
        assert key == json.loads(payload)["deviceId"]
        assert before - 2000 <= ts <= time.time() * 1000 + 2000
        shards_of.setdefault(key, set()).add(shard)
    assert all(len(s) == 1 for s in shards_of.values()), "a device stays in one shard"
    assert len({s for shards in shards_of.values() for s in shards}) == 4, "all four shards were read"
    assert set(lag) <= {s for shards in shards_of.values() for s in shards}


def test_a_split_shard_is_followed_into_its_children(moto: MotoServer) -> None:
    """moto moves a split parent's records into the children (AWS keeps them in the parent), so
    records read before the split may come again: the check is that nothing is lost."""
    name = _stream(moto, 2)
    url = _url(name, moto.endpoint)
    assert publish(_records(100), url).sent == 100
    stream = open_stream(url)
    stream.open()
    try:
        first = read_until(stream, 100)
        kinesis = boto3.client("kinesis", region_name=REGION, endpoint_url=moto.endpoint)
        shard = kinesis.list_shards(StreamName=name)["Shards"][0]
        low, high = (int(shard["HashKeyRange"][k]) for k in ("StartingHashKey", "EndingHashKey"))
        kinesis.split_shard(StreamName=name, ShardToSplit=shard["ShardId"], NewStartingHashKey=str((low + high) // 2))
        assert publish(_records(100, start=100), url).sent == 100
        seen = set(_seqs(first.payloads))
        later = []
        deadline = time.monotonic() + 30
        while not set(range(200)) <= seen and time.monotonic() < deadline:
            batch = read_until(stream, 200, timeout=1)
            later += batch.partitions
            seen |= set(_seqs(batch.payloads))
    finally:
        stream.close()
    assert seen == set(range(200))
    children = {s["ShardId"] for s in kinesis.list_shards(StreamName=name)["Shards"] if s.get("ParentShardId")}
    assert children & set(later), "records came from the child shards"


def test_from_an_iso_time_and_a_reconnect_that_resumes_after_the_last_commit(moto: MotoServer) -> None:
    name = _stream(moto, 2)
    assert publish(_records(30), _url(name, moto.endpoint)).sent == 30
    time.sleep(1.2)
    since = datetime.now(UTC).isoformat(timespec="milliseconds")
    time.sleep(0.2)
    assert publish(_records(40, start=30), _url(name, moto.endpoint)).sent == 40

    stream = open_stream(_url(name, moto.endpoint, since))
    stream.open()
    first = read_until(stream, 25)  # committed
    read_until(stream, 5, commit=False)  # handed out, not committed: must come again
    stream.close()
    stream.open()
    try:
        rest = read_until(stream, 40 - 25)
        assert len(read_until(stream, 1, timeout=1)) == 0
    finally:
        stream.close()
    assert sorted(_seqs(first.payloads) + _seqs(rest.payloads)) == list(range(30, 70))


def test_throttling_and_partially_failed_batches_are_retried_without_loss(
    moto: MotoServer, faults: KinesisFaults
) -> None:
    name = _stream(moto, 3)
    faults.throttle_puts = 1  # the first PutRecords call is throttled whole
    faults.partial_puts = 2  # then two calls fail every fifth entry
    faults.throttle_gets = 3
    report = publish(_records(1200), _url(name, faults.endpoint))
    assert (report.sent, report.failed) == (1200, 0)
    assert faults.throttled_entries == 500 and faults.failed_entries == 100 + 20
    assert report.retried == faults.throttled_entries + faults.failed_entries, "only failed entries are re-sent"
    assert faults.put_calls == 1 + 3 + 2  # throttled, 500 -> 100 -> 20 failed entries, then two more batches

    stream = open_stream(_url(name, faults.endpoint))
    stream.open()
    try:
        batch = read_until(stream, 1200)
        assert len(read_until(stream, 1, timeout=1)) == 0
    finally:
        stream.close()
    counts = Counter(_seqs(batch.payloads))
    assert set(counts) == set(range(1200)) and max(counts.values()) == 1, "nothing lost, nothing doubled"
    assert stream.throttled >= 1


def test_batches_respect_the_size_limits_and_oversized_records_are_reported(
    moto: MotoServer, faults: KinesisFaults
) -> None:
    name = _stream(moto, 1)
    big = [{"seq": i, "deviceId": "d", "blob": "x" * 900_000} for i in range(11)]
    huge = {"seq": 99, "deviceId": "d", "blob": "y" * 1_100_000}
    report = publish([*big[:5], huge, *big[5:]], _url(name, faults.endpoint))
    assert (report.sent, report.failed) == (11, 1)
    assert report.failures[0].index == 5 and "over 1 MiB" in report.failures[0].reason
    assert faults.put_calls == 3, "5 records of 0.9 MB fit a 5 MiB batch, the sixth does not"
    assert "over 1 MiB" in repr(report) and "&lt;" not in report._repr_html_()


def test_configuration_mistakes_and_an_unreachable_endpoint_are_one_clear_line(
    moto: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(StreamConfigError, match="does not exist"):
        open_stream(_url("no-such-stream", moto.endpoint)).open()
    with pytest.raises(StreamConfigError, match="does not exist"):
        publish([{"seq": 1}], _url("no-such-stream", moto.endpoint))
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    with pytest.raises(StreamConfigError, match="region"):
        open_stream(f"kinesis://x?endpoint={moto.endpoint}").open()
    with pytest.raises(StreamUnavailable) as caught:
        open_stream(_url("x", f"http://127.0.0.1:{free_port()}")).open()
    assert "\n" not in str(caught.value)
