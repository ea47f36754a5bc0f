"""Stream speed: the tail engine against the raw source loop, and memory over a long tail.

Figures (one run, this machine; ratios compare paths measured in the same run):

1. The simulated fleet alone (``sim://``, rate=0): records/s the source produces.
2. The tail engine on the same source: decode + buffer (``--detector none``) and
   decode + streaming detector + buffer (the default ``auto``), records/s.
3. Memory: RSS at the start and end of a long tail (10 minutes by default;
   ``--quick``: 10 seconds), paced at 20,000 records/s, to show it stays flat.
4. With ``--kafka``: N small JSON telemetry messages produced to a real broker
   (``--kafka auto`` starts the test suite's local KRaft broker from the Maven
   jars; or give HOST:PORT), then the raw kafka-python consumer loop (poll +
   json.loads) against our engine (decode + buffer, and decode + detector +
   buffer) on the same topic. Target: engine >= 0.7x the raw loop.

    python benchmarks/streams.py [--quick] [--kafka auto|HOST:PORT]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from codex_jupyter.pipelines.tail import tail
from codex_jupyter.sources.streams import open_stream

FLEET = "sim://fleet?devices=100&rate=0&seed=7"


def rss_mb() -> float:
    """Resident memory of this process in MB (Linux)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def source_rate(records: int) -> float:
    stream = open_stream(FLEET)
    start, seen = time.perf_counter(), 0
    while seen < records:
        seen += len(stream.poll(20_000, 0))
    return seen / (time.perf_counter() - start)


def engine_rate(records: int, detector: str) -> float:
    """The engine in one process (benchmarks/anomaly.py --only speed measures it with workers)."""
    handle = tail(FLEET, max_records=records, detector=detector, workers=0)
    start = time.perf_counter()
    handle.wait()
    return records / (time.perf_counter() - start)


def long_tail(seconds: float) -> tuple[float, float, int]:
    before = rss_mb()
    handle = tail("sim://fleet?devices=200&rate=20000&seed=7", duration=seconds, window=500)
    peak = before
    while not handle.wait(1):
        peak = max(peak, rss_mb())
    return before, max(peak, rss_mb()), handle.stats()["records"]


@contextmanager
def kafka_broker(spec: str) -> Iterator[str]:
    """A bootstrap address: the given one, or a local broker started like the test suite does."""
    if spec != "auto":
        yield spec
        return
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration" / "streams"))
    from stream_brokers import KafkaBroker, kafka_jars

    with tempfile.TemporaryDirectory(prefix="codex-bench-kafka-") as folder:
        broker = KafkaBroker(Path(folder), kafka_jars())
        broker.start()
        try:
            yield broker.bootstrap
        finally:
            broker.stop()


def kafka_comparison(bootstrap: str, records: int) -> None:
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
    from kafka.admin import NewTopic

    topic = f"bench-{int(time.time())}"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(topic, 3, 1)])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, batch_size=256 * 1024, acks=1)
    start = time.perf_counter()
    for i in range(records):
        device = f"dev-{i % 100:03d}"
        message = {"ts": 1_735_689_600_000 + (i // 100) * 60_000, "deviceId": device, "temperature": 20 + (i % 7) * 0.1}
        producer.send(topic, json.dumps(message).encode(), key=device.encode())
    producer.flush()
    print(f"4. produced {records:,} messages in {time.perf_counter() - start:.1f} s")

    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False)
    start, seen = time.perf_counter(), 0
    while seen < records:
        for batch in consumer.poll(timeout_ms=500, max_records=20_000).values():
            for message in batch:
                json.loads(message.value)
            seen += sum(1 for _ in batch)
    raw = seen / (time.perf_counter() - start)
    consumer.close()
    print(f"   raw kafka-python loop (poll + json.loads) {raw:10,.0f} records/s")
    for detector in ("none", "auto"):
        handle = tail(f"kafka://{bootstrap}/{topic}?from=earliest", max_records=records, detector=detector)
        start = time.perf_counter()
        handle.wait()
        rate = handle.stats()["records"] / (time.perf_counter() - start)
        print(
            f"   tail engine, detector {detector:5}          {rate:10,.0f} records/s   ({rate / raw:.2f}x the raw loop)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes and a 10 s memory run")
    parser.add_argument("--kafka", help="'auto' (start a local broker) or HOST:PORT: add the Kafka comparison")
    args = parser.parse_args()
    records = 200_000 if args.quick else 2_000_000
    raw = source_rate(records)
    print(f"1. sim:// source alone            {raw:12,.0f} records/s")
    for detector in ("none", "auto"):
        rate = engine_rate(records, detector)
        print(f"2. tail engine, detector {detector:5}    {rate:12,.0f} records/s   ({rate / raw:.2f}x the raw source)")
    start_mb, peak_mb, seen = long_tail(10 if args.quick else 600)
    print(f"3. {seen:,} records tailed: RSS {start_mb:.0f} MB at start, {peak_mb:.0f} MB at the peak")
    if args.kafka:
        with kafka_broker(args.kafka) as bootstrap:
            kafka_comparison(bootstrap, 100_000 if args.quick else 1_000_000)


if __name__ == "__main__":
    main()
