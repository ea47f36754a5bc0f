"""Copy records from one stream to another: how the demo and the tests fill real brokers.

``replay("sim://fleet?devices=20&seed=7", "kafka://127.0.0.1:9092/telemetry", max_records=10_000)``
reads from the source until ``max_records`` (or until it has nothing new for
``idle_s`` seconds) and publishes them with :func:`publish`, which reports
what was sent, retried and failed.
"""

from __future__ import annotations

import time
from typing import Any

import pandas as pd

from codex_jupyter.sources.streams import open_stream
from codex_jupyter.sources.streams.publish import PublishReport, publish


def replay(
    source: str, target: str, max_records: int, key: str = "device_id", idle_s: float = 2.0, **settings: Any
) -> PublishReport:
    """Read up to ``max_records`` from ``source`` and publish them to ``target``."""
    stream = open_stream(source)
    stream.open()
    frames: list[pd.DataFrame] = []
    payloads: list[bytes] = []
    seen, last_data = 0, time.monotonic()
    try:
        while seen < max_records and time.monotonic() - last_data < idle_s:
            batch = stream.poll(min(20_000, max_records - seen), 0.2)
            if len(batch) == 0:
                if getattr(stream, "finished", False):
                    break
                continue
            last_data = time.monotonic()
            seen += len(batch)
            if batch.columns is not None:
                frames.append(pd.DataFrame(batch.columns))
            else:
                payloads.extend(batch.payloads or [])
        stream.commit()
    finally:
        stream.close()
    records: Any = pd.concat(frames, ignore_index=True) if frames else payloads
    return publish(records, target, key=key, **settings)
