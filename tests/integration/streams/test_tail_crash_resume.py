"""A tail SIGKILLed mid-stream and started again under the same name loses nothing and repeats one batch at most.

Each run is a separate process (``tail_worker.py``) that appends every processed batch's record ids to
its own file. The first run is killed after some batches were committed, with more records waiting and
in flight; records are also produced while nothing runs; a second run with the same Kafka group,
Kinesis group or MQTT client id then reads until every id was seen. Across both runs every id appears,
and an id appears twice only if it was in the first run's last batch: the one processed but not yet
committed when the kill came (at-least-once, bounded by the batch size).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest
from stream_brokers import REPO, KafkaBroker, Mosquitto, MotoServer

from codex_jupyter.sources.streams import open_stream
from codex_jupyter.sources.streams.publish import publish

pytestmark = pytest.mark.integration

WORKER = Path(__file__).with_name("tail_worker.py")
TOTAL = 600
BATCH = 40
PAUSE_S = 0.1  # per batch: the first run is killed while it works through the backlog


def _records(start: int, stop: int) -> list[dict]:
    return [{"ts": 1_735_689_600_000 + i * 1000, "deviceId": f"d{i % 5}", "seq": i} for i in range(start, stop)]


def _batches(path: Path) -> list[list[int]]:
    if not path.exists():
        return []
    return [[int(s) for s in line.split(",")] for line in path.read_text().splitlines() if line]


def _seen(path: Path) -> set[int]:
    return {seq for batch in _batches(path) for seq in batch}


class _Run:
    """One worker process, stopped by its own PID."""

    def __init__(self, url: str, folder: Path, name: str, env: dict[str, str]) -> None:
        self.out = folder / f"{name}.ids"
        self.log = folder / f"{name}.log"
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, str(WORKER), url, str(self.out), str(BATCH), str(PAUSE_S)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONPATH": str(REPO), **env},
                cwd=REPO,
            )

    def wait_for(self, done: Callable[[], bool], what: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            assert self.proc.poll() is None, f"the tail ended before {what}:\n{self.log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"no {what} after {timeout:.0f} s:\n{self.log.read_text()[-3000:]}"
            time.sleep(0.02)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)


def _crash_and_resume(
    url: str, produce: Callable[[int, int], None], folder: Path, env: dict[str, str] | None = None
) -> tuple[list[list[int]], list[list[int]]]:
    """Produce 2/3, run, kill after a third was processed, produce the rest, run again until all were seen."""
    produce(0, TOTAL * 2 // 3)
    first = _Run(url, folder, "first", env or {})
    try:
        first.wait_for(lambda: len(_seen(first.out)) >= TOTAL // 3, "first third processed")
    finally:
        first.kill()
    produce(TOTAL * 2 // 3, TOTAL)  # while nothing reads
    second = _Run(url, folder, "second", env or {})
    try:
        second.wait_for(lambda: _seen(first.out) | _seen(second.out) >= set(range(TOTAL)), "every record")
    finally:
        second.kill()
    return _batches(first.out), _batches(second.out)


def _assert_nothing_lost_and_one_batch_repeated_at_most(first: list[list[int]], second: list[list[int]]) -> None:
    before = {seq for batch in first for seq in batch}
    assert TOTAL // 3 <= len(before) < TOTAL, "the first run was killed mid-stream"
    counts = Counter(seq for batch in first + second for seq in batch)
    assert set(counts) == set(range(TOTAL)), f"lost: {sorted(set(range(TOTAL)) - set(counts))[:20]}"
    repeated = {seq for seq, n in counts.items() if n > 1}
    assert repeated <= set(first[-1]), f"repeated beyond the last uncommitted batch: {sorted(repeated)[:20]}"
    assert len(first[-1]) <= BATCH


def test_kafka_group_resumes_after_a_kill(kafka: KafkaBroker, tmp_path: Path) -> None:
    topic = f"crash-{uuid.uuid4().hex[:6]}"
    kafka.create_topic(topic, partitions=3)
    target = f"kafka://{kafka.bootstrap}/{topic}"

    def produce(start: int, stop: int) -> None:
        assert publish(_records(start, stop), target).sent == stop - start

    # the killed member leaves no goodbye: the group waits for its session to time out (6 s, the minimum)
    env = {"CODEX_JUPYTER_KAFKA_SESSION_TIMEOUT_MS": "6000", "CODEX_JUPYTER_KAFKA_HEARTBEAT_INTERVAL_MS": "1000"}
    first, second = _crash_and_resume(f"{target}?group=crash&from=earliest", produce, tmp_path, env)
    _assert_nothing_lost_and_one_batch_repeated_at_most(first, second)


def _kinesis_stream(moto: MotoServer) -> str:
    name = f"crash-{uuid.uuid4().hex[:6]}"
    kinesis = boto3.client("kinesis", region_name="eu-west-1", endpoint_url=moto.endpoint)
    kinesis.create_stream(StreamName=name, ShardCount=2)
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.2})
    return f"kinesis://{name}?region=eu-west-1&endpoint={moto.endpoint}"


def _checkpoints(cache: Path) -> dict[str, str]:
    (path,) = (cache / "kinesis-checkpoints").glob("*.json")
    saved = json.loads(path.read_text())
    assert saved["group"] == "crash"
    return saved["positions"]


@pytest.mark.usefixtures("aws_env")
def test_kinesis_group_resumes_after_a_kill_from_its_checkpoint_file(moto: MotoServer, tmp_path: Path) -> None:
    target = _kinesis_stream(moto)
    cache = tmp_path / "cache"

    def produce(start: int, stop: int) -> None:
        assert publish(_records(start, stop), target).sent == stop - start

    url = f"{target}&from=trim_horizon&group=crash"
    first, second = _crash_and_resume(url, produce, tmp_path, {"CODEX_JUPYTER_CACHE_DIR": str(cache)})
    _assert_nothing_lost_and_one_batch_repeated_at_most(first, second)
    assert all(p.isdigit() for p in _checkpoints(cache).values()) and len(_checkpoints(cache)) == 2


@pytest.mark.usefixtures("aws_env")
def test_kinesis_from_latest_resumes_a_shard_that_had_no_record_yet_where_it_started(
    moto: MotoServer, tmp_path: Path
) -> None:
    """Until the kill, records go to one shard only, so the other has a start time but no sequence number.

    The second run must read that shard from the first run's start: neither from its trim horizon (the
    history before the group started, published first here) nor from the new ``latest`` (which would
    skip what arrived while nothing ran).
    """
    target = _kinesis_stream(moto)
    history = [{**r, "seq": 10_000 + r["seq"]} for r in _records(0, 50)]
    assert publish(history, target).sent == 50  # in both shards, before the group starts: never wanted
    time.sleep(5.5)  # a "latest" shard resumes 5 s before its first read (clock skew): history is older
    env = {"CODEX_JUPYTER_CACHE_DIR": str(tmp_path / "cache")}
    url = f"{target}&from=latest&group=crash"
    first = _Run(url, tmp_path, "first", env)
    try:
        probes = 0
        while not _seen(first.out):  # it reads from when it started: publish (to shard of d0) until it sees one
            first.wait_for(lambda: True, "a start")
            probes += 1
            assert publish([{"ts": 1, "deviceId": "d0", "seq": -probes}], target).sent == 1
            time.sleep(0.3)
        assert publish([{**r, "deviceId": "d0"} for r in _records(0, TOTAL * 2 // 3)], target).sent == TOTAL * 2 // 3
        first.wait_for(lambda: len({s for s in _seen(first.out) if s >= 0}) >= TOTAL // 3, "a third processed")
    finally:
        first.kill()
    positions = _checkpoints(tmp_path / "cache")
    assert sorted(p.split(":")[0] for p in positions.values() if not p.isdigit()) == ["AT_TIMESTAMP"]
    assert publish(_records(TOTAL * 2 // 3, TOTAL), target).sent == TOTAL // 3  # to both shards, nothing reading
    second = _Run(url, tmp_path, "second", env)
    try:
        second.wait_for(lambda: _seen(first.out) | _seen(second.out) >= set(range(TOTAL)), "every record")
    finally:
        second.kill()
    everything = _seen(first.out) | _seen(second.out)
    assert not {s for s in everything if s >= 10_000}, "history from before the group started was read"
    runs = [[[s for s in b if s >= 0] for b in _batches(run.out)] for run in (first, second)]
    _assert_nothing_lost_and_one_batch_repeated_at_most(*[[b for b in batches if b] for batches in runs])


def test_mqtt_client_id_gets_unprocessed_messages_again_after_a_kill(mosquitto: Mosquitto, tmp_path: Path) -> None:
    topic = f"crash-{uuid.uuid4().hex[:6]}/telemetry"
    url = f"mqtt://127.0.0.1:{mosquitto.port}/{topic}?qos=1&client_id=crash-{uuid.uuid4().hex[:6]}"
    session = open_stream(url)
    session.open()  # the persistent session exists (and keeps qos 1 messages) before anything is published
    session.close()

    def produce(start: int, stop: int) -> None:
        assert publish(_records(start, stop), f"mqtt://127.0.0.1:{mosquitto.port}/{topic}?qos=1").sent == stop - start

    first, second = _crash_and_resume(url, produce, tmp_path)
    _assert_nothing_lost_and_one_batch_repeated_at_most(first, second)
