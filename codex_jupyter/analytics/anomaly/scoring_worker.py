"""A worker process of :class:`.parallel.ParallelDetector` (``python -m codex_jupyter.analytics.anomaly.scoring_worker
FD``).

It speaks on the socket ``FD`` its parent passed it: it says it has started, takes a detector's state, then scores
the batches it is sent, answering each with the scores and the episodes that closed (or the error the detector
raised), until told to stop or its parent is gone.
"""

from __future__ import annotations

import signal
import sys
from multiprocessing.connection import Connection
from typing import Any

from codex_jupyter.analytics.anomaly.detectors import StreamingDetector
from codex_jupyter.analytics.anomaly.parallel import ScoringWorkerError


def serve(fd: int) -> None:
    """A worker: tell the parent it has started, then score what it is sent until told to stop (None) or the
    parent is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    conn = Connection(fd)
    try:
        conn.send(("ok", None))  # started
    except OSError:  # the parent stopped while this worker was starting
        return
    detector: StreamingDetector | None = None
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        kind, payload = message
        reply: tuple[str, Any]
        try:
            if kind == "state":
                detector, reply = payload, ("ok", None)
            else:
                reply = ("ok", (detector.update(payload), detector.closed_episodes))
        except Exception as exc:
            reply = ("error", exc)
        try:
            conn.send(reply)
        except OSError:  # the parent is gone (it stopped the tail while this batch was scored)
            return
        except Exception as exc:  # an error that does not pickle: its words still reach the parent
            conn.send(("error", ScoringWorkerError(f"{type(reply[1]).__name__}: {reply[1]} ({exc})")))


if __name__ == "__main__":
    serve(int(sys.argv[1]))
