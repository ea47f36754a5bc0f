"""A streaming detector's series scored on several cores: worker processes (and the caller) each own some series.

Why: one process scores about 170,000 records/s of the simulated fleet's three metrics (three readings a record),
and a stream read from a backlog delivers more than that. A series is scored from its own past alone, so the
series can be split between processes and every reading gets the score one detector would give it. Threads do not
help: the detector's many short numpy passes hold the GIL (two threads over the metrics measured no faster).

A worker is a fresh ``python -m`` of :mod:`.scoring_worker` on a socket, not a ``multiprocessing`` child: those
re-run a script's top level (spawn and forkserver import ``__main__``), and forking a kernel that runs other threads
(the tail's, ZeroMQ's) can copy a lock some thread holds. Starting one takes about as long as importing pandas
(1.5-2.5 s here), so :class:`ParallelDetector` starts its workers at once and takes a detector's state over only
when they are ready (:meth:`ParallelDetector.ready`): meanwhile the caller goes on scoring in its own process.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import weakref
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from codex_jupyter.analytics.anomaly.detectors import StreamingDetector
from codex_jupyter.errors import CodexError

#: Worker processes at most: past four, sending each worker its rows costs more than the worker saves.
MAX_WORKERS = 4
_WORKER = "codex_jupyter.analytics.anomaly.scoring_worker"
_STOP_WAIT_S = 5.0  # for a worker to finish the batch it is scoring and stop, before it is killed


class ScoringWorkerError(CodexError, RuntimeError):
    """A worker process stopped or could not start: its series' state is gone with it."""


def usable_cores() -> int:
    """Cores this process may run on: its CPU affinity, capped by a cgroup's CPU quota.

    Why the quota: a container (Binder's, a CI runner's) often sees every core of its host but may use one or two;
    workers beyond the quota only take turns.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, int(quota) // int(period)))
    except (OSError, ValueError):
        pass
    return cores


def default_workers() -> int:
    """Worker processes a fast stream gets here beside the caller's own: one a core beyond the first, up to
    :data:`MAX_WORKERS`; none on a single core (nothing to gain) or where workers cannot be started this way
    (not POSIX)."""
    return 0 if os.name != "posix" else min(usable_cores() - 1, MAX_WORKERS)


class ParallelDetector:
    """A :class:`StreamingDetector`'s series split between ``workers`` processes (and, with a ``share``, the calling
    one), each series scored as the one detector would score it.

    Start it (the workers begin importing), poll :meth:`ready`, then :meth:`take_over` a detector: every worker
    gets a copy of its state, and from then on each series is scored by one of them, fixed when the series first
    comes: the least loaded, where the caller, scoring with the detector itself, counts for ``share`` of a worker
    (0: the workers score every series). :meth:`update` sends each worker its rows, scores the caller's, and puts
    the scores back in the batch's order; :meth:`submit` and :meth:`collect` are its two halves, for a caller with
    other work to do while the workers score. :attr:`closed_episodes` is the detector's. Call :meth:`close` when
    done (also run when the object is collected).

    A detector is taken over once its cycle is settled (:attr:`.StreamingDetector.cycle_settled`: with
    ``period="auto"``, once about ten readings of most of its series have come). Why: before that each process would
    infer the cycle from its own series alone, and fix it at another reading than the one detector does, so the
    readings around that point could be scored differently.
    """

    def __init__(self, workers: int, share: float = 0.0) -> None:
        if workers < 1 or share < 0:
            raise ValueError("need workers >= 1 and share >= 0")
        self._conns: list[Connection] = []
        self._procs: list[subprocess.Popen] = []
        self._ready = [False] * workers
        # The workers import this very package, whatever path the caller added it from.
        path = os.pathsep.join(filter(None, [_package_root(), os.environ.get("PYTHONPATH")]))
        env = {**os.environ, "PYTHONPATH": path}
        self._finalizer = weakref.finalize(self, _stop, self._conns, self._procs, self._ready)
        for _ in range(workers):
            ours, theirs = socket.socketpair()
            try:
                proc = subprocess.Popen(
                    [sys.executable, "-m", _WORKER, str(theirs.fileno())],
                    pass_fds=[theirs.fileno()],
                    stdin=subprocess.DEVNULL,
                    env=env,
                    start_new_session=True,  # a kernel interrupt (SIGINT to its process group) must not stop them
                )
            finally:
                theirs.close()
            self._procs.append(proc)
            self._conns.append(Connection(ours.detach()))
        self.values: list[str] = []
        self.by: list[str] = []
        self._columns: list[str] = []
        self._local: StreamingDetector | None = None  # the taken-over detector, scoring the caller's share
        self._home: dict[Any, int] = {}  # series key -> who scores it: worker i, or the caller (workers)
        self._load = np.zeros(workers + 1)  # series each scores
        self._weight = np.r_[np.ones(workers), share]  # ... against how many it may
        self._closed = pd.DataFrame()
        self._pending: tuple[pd.Index, list[tuple[int, np.ndarray]]] | None = None  # a submitted batch
        self._mine: tuple[np.ndarray, pd.DataFrame, pd.DataFrame] | Exception | None = None  # the caller's share

    @property
    def workers(self) -> int:
        """Worker processes scoring."""
        return len(self._procs)

    def ready(self) -> bool:
        """Whether every worker has started (never blocks); raises :class:`ScoringWorkerError` if one stopped."""
        for i, conn in enumerate(self._conns):
            if conn.poll(0):
                self._started(i)
        return all(self._ready)

    def take_over(self, detector: StreamingDetector) -> None:
        """Give every worker ``detector``'s state (its series, windows, calibration and episodes so far); waits for
        the workers to start if need be. With a ``share``, ``detector`` goes on scoring the caller's series."""
        if not detector.by:
            raise ValueError("a detector of one series (no by=) cannot be split between workers")
        if not detector.cycle_settled:
            raise ValueError(
                "the detector's cycle is not settled yet (period='auto' needs about ten readings of most series): "
                "go on scoring with it until detector.cycle_settled"
            )
        for i in range(self.workers):
            self._started(i)
        for i in range(self.workers):
            self._send(i, ("state", detector))
        for i in range(self.workers):
            self._receive(i)
        self.values, self.by = list(detector.values), list(detector.by)
        # What a worker is sent of a batch: a tail's rows also carry labels, places and kinds (a third of the bytes).
        self._columns = list(dict.fromkeys([*detector.by, *([detector.time] if detector.time else []), *self.values]))
        self._local = detector if self._weight[-1] > 0 else None
        self._closed = detector.closed_episodes  # what closed in the detector's last update is still this one's

    def update(self, batch: pd.DataFrame) -> pd.DataFrame:
        """Score a batch (see :meth:`StreamingDetector.update`): every worker scores its series' rows at once."""
        self.submit(batch)
        return self.collect()

    def submit(self, batch: pd.DataFrame) -> None:
        """Send each worker its rows of ``batch`` (they start scoring at once), then score the caller's share;
        :meth:`collect` gets the scores."""
        if not self.values:
            raise RuntimeError("take_over() a detector before scoring")
        if self._pending is not None:
            raise RuntimeError("collect() the batch submitted before submitting another")
        owner = self._owners(batch)
        needed = batch[self._columns]
        sent: list[tuple[int, np.ndarray]] = []
        self._pending = (batch.index, sent)  # collect() reads the replies of the workers sent to, even after an error
        for i in range(self.workers):
            at = np.flatnonzero(owner == i)
            if at.size or (i == 0 and len(batch) == 0):  # an empty batch still gets a result of the right shape
                self._send(i, ("update", needed.iloc[at]))
                sent.append((i, at))
        mine = np.flatnonzero(owner == self.workers)
        if mine.size and self._local is not None:
            try:
                self._mine = mine, self._local.update(needed.iloc[mine]), self._local.closed_episodes
            except Exception as exc:  # raised by collect(), once the workers' replies are read
                self._mine = exc

    def collect(self) -> pd.DataFrame:
        """The scores of the batch :meth:`submit` sent, in its row order (waits for the workers)."""
        if self._pending is None:
            raise RuntimeError("submit() a batch before collecting its scores")
        (index, sent), self._pending = self._pending, None
        mine, self._mine = self._mine, None
        replies: list[tuple[pd.DataFrame, pd.DataFrame]] = []
        error = mine if isinstance(mine, Exception) else None
        for i, _ in sent:  # every reply is read, so that an error leaves no worker a reply behind
            try:
                replies.append(self._receive(i))
            except ScoringWorkerError:
                raise
            except Exception as exc:  # the detector refused the batch: the same error it raises in one process
                error = error or exc
        if error is not None:
            raise error
        rows = [at for _, at in sent]
        if mine is not None:
            rows.append(mine[0])
            replies.append(mine[1:])
        closed = [done for _, done in replies]
        # Most batches close no episode: empty frames are left out of the concat (pandas warns on their dtypes).
        self._closed = pd.concat([done for done in closed if len(done)] or closed[:1], ignore_index=True)
        scored = pd.concat([frame for frame, _ in replies])
        at = np.concatenate(rows)
        scored = scored.iloc[np.argsort(at, kind="stable")]
        scored.index = index
        return scored

    @property
    def closed_episodes(self) -> pd.DataFrame:
        """The episodes that closed in the last :meth:`update` (see :attr:`StreamingDetector.closed_episodes`)."""
        return self._closed

    def close(self) -> None:
        """Stop the workers (at once; their state is dropped)."""
        self._finalizer()

    def _owners(self, batch: pd.DataFrame) -> np.ndarray:
        """Each row's worker: a series' worker is fixed when it first comes, the one with the fewest series."""
        if len(self.by) == 1:
            codes, keys = pd.factorize(batch[self.by[0]], use_na_sentinel=False)
        else:
            codes, keys = pd.factorize(pd.MultiIndex.from_frame(batch[self.by]), use_na_sentinel=False)
        owners = np.empty(len(keys), dtype=np.int64)
        with np.errstate(divide="ignore"):
            for j, key in enumerate(keys):
                who = self._home.get(key)
                if who is None:
                    who = self._home[key] = int(np.argmin((self._load + 1) / self._weight))
                    self._load[who] += 1
                owners[j] = who
        return owners[codes]

    def _started(self, i: int) -> None:
        """Wait for worker ``i``'s word that it has started, unless it came already."""
        if not self._ready[i]:
            self._receive(i)
            self._ready[i] = True

    def _send(self, i: int, message: tuple[str, Any]) -> None:
        try:
            self._conns[i].send(message)
        except OSError as exc:
            raise self._gone(i) from exc

    def _receive(self, i: int) -> Any:
        """Worker ``i``'s next reply: what it sent, or the error it raised (raised here)."""
        try:
            kind, payload = self._conns[i].recv()
        except (EOFError, OSError) as exc:
            raise self._gone(i) from exc
        if kind == "error":
            raise payload
        return payload

    def _gone(self, i: int) -> ScoringWorkerError:
        proc = self._procs[i]
        try:
            code = proc.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            code = None
        return ScoringWorkerError(
            f"scoring worker {i + 1} of {self.workers} (pid {proc.pid}) stopped (exit code {code}); "
            "its logs are on the kernel's standard error"
        )


def _package_root() -> str:
    """The directory holding the ``codex_jupyter`` package this module was imported from."""
    return str(Path(__file__).resolve().parents[3])


def _stop(conns: list[Connection], procs: list[subprocess.Popen], ready: list[bool]) -> None:
    """Tell the workers to stop, and stop the ones still starting (they hold nothing yet, and would finish importing
    before they read the word)."""
    for conn in conns:
        with contextlib.suppress(OSError):  # the worker is gone already
            conn.send(None)
        conn.close()
    for proc, started in zip(procs, ready, strict=True):
        if not started:
            proc.kill()
        try:
            proc.wait(timeout=_STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
