"""One tail that runs until it is killed, writing every batch it processes to a file (the crash tests' subject).

``python tail_worker.py URL OUT BATCH_SIZE PAUSE_S``: each batch handed to the tail's subscriber becomes one
line of record ids (``seq`` values, comma-separated) appended to OUT with a single ``write``; then the
subscriber takes PAUSE_S, standing in for real processing. The engine commits a batch only after its
subscribers return, so a kill during the pause is the case that must repeat that one batch and nothing else.
A tail that ends by itself (an error) exits 1 with its stats on stderr.
"""

from __future__ import annotations

import os
import sys
import time

from codex_jupyter.pipelines.tail import TailEvent, TailHandle


def main(url: str, out: str, batch_size: int, pause: float) -> int:
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def processed(event: TailEvent) -> None:
        if event.rows.empty:
            return
        os.write(fd, (",".join(str(int(seq)) for seq in event.rows["seq"]) + "\n").encode())
        time.sleep(pause)

    handle = TailHandle(url, detector="none", batch_size=batch_size)
    handle.subscribe(processed)  # before start: no batch may pass unrecorded
    handle.start().wait()
    print(handle.stats(), file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])))
