"""Stream speed: the tail engine against the raw source loop, and memory over a long tail.

Figures (one run, this machine; ratios compare paths measured in the same run):

1. The simulated fleet alone (``sim://``, rate=0): records/s the source produces.
2. The tail engine on the same source: decode + buffer (``--detector none``) and
   decode + streaming detector + buffer (the default ``auto``), records/s.
3. Memory: RSS at the start and end of a long tail (10 minutes by default;
   ``--quick``: 10 seconds), paced at 20,000 records/s, to show it stays flat.

Not measured yet: the Kafka comparison (1,000,000 messages, raw kafka-python
loop against the engine) that issue #3 asks for.

    python benchmarks/streams.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import time

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
    handle = tail(FLEET, max_records=records, detector=detector)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes and a 10 s memory run")
    args = parser.parse_args()
    records = 200_000 if args.quick else 2_000_000
    raw = source_rate(records)
    print(f"1. sim:// source alone            {raw:12,.0f} records/s")
    for detector in ("none", "auto"):
        rate = engine_rate(records, detector)
        print(f"2. tail engine, detector {detector:5}    {rate:12,.0f} records/s   ({rate / raw:.2f}x the raw source)")
    start_mb, peak_mb, seen = long_tail(10 if args.quick else 600)
    print(f"3. {seen:,} records tailed: RSS {start_mb:.0f} MB at start, {peak_mb:.0f} MB at the peak")


if __name__ == "__main__":
    main()
