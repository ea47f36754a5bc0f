"""Headless runs of the curated notebooks: a job store on disk, one process per job, a concurrency limit, a timeout.

What an orchestrator (Airflow, Prefect, Dagster) needs from ``POST
/codex/api/jobs``, kept below the server so a script can use it too:

- parameters are checked before anything runs, against the notebook's cell
  tagged ``parameters`` (:mod:`codex_jupyter.pipelines.notebooks`): unknown
  names and values of the wrong type are refused with a one-line
  :class:`~codex_jupyter.errors.InputError`; papermill then passes them to the
  kernel as values (never pasted into the notebook's own code);
- an idempotency key names a request: the same key returns the same job, and
  the same key with another request is refused (:class:`IdempotencyConflict`);
- each job runs in a process of its own (``python -m
  codex_jupyter.pipelines.jobs FOLDER``, which runs papermill, which starts
  the kernel), at most ``max_concurrent`` at once; one that outlives
  ``timeout`` seconds is killed with its kernel. A crash, a hang or a kernel
  that dies fails that job only, never the process that owns the runner;
- everything a job has lives in its folder under ``root``: ``job.json`` (its
  state and timings), ``input.ipynb`` (the notebook as it was when posted),
  ``output.ipynb`` (the executed notebook, saved as cells finish, so a failed
  job keeps what ran), ``log.txt`` and, when it failed in the notebook,
  ``error.txt``. Paths never depend on a working directory. Jobs that were
  queued or running when the runner stopped are failed when it starts again;
- finished jobs are kept ``keep_days`` (default 30) after they finished,
  then deleted with their folder (at start and whenever a job finishes), so
  a server that refreshes dashboards every few minutes does not fill its
  disk. An idempotency key is remembered as long as its job is kept.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from codex_jupyter.errors import CodexError, InputError
from codex_jupyter.extras import require
from codex_jupyter.pipelines import notebooks

#: A job's states, in the order it goes through them.
STATES = ("queued", "running", "succeeded", "failed")
FINISHED = ("succeeded", "failed")
#: Idempotency keys are names, not payloads.
MAX_KEY_LENGTH = 200


class JobNotFound(InputError, LookupError):
    """No job has this id."""


class JobNotReady(CodexError):
    """The job has no executed notebook (yet): it is queued or running, or it failed before the notebook started."""


class IdempotencyConflict(InputError):
    """An idempotency key already names a job for another notebook or other parameters."""


@dataclasses.dataclass
class Job:
    """One headless run: what was asked, where it is, and how it ended."""

    id: str
    notebook: str
    parameters: dict[str, Any]
    idempotency_key: str | None
    created: float
    state: str = "queued"
    started: float | None = None
    finished: float | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The job for the API: timings as ISO 8601 (UTC) and seconds."""
        end = self.finished if self.finished is not None else time.time()
        return {
            "id": self.id,
            "notebook": self.notebook,
            "parameters": self.parameters,
            "idempotency_key": self.idempotency_key,
            "state": self.state,
            "created_at": _iso(self.created),
            "started_at": _iso(self.started),
            "finished_at": _iso(self.finished),
            "queued_seconds": round((self.started or end) - self.created, 3),
            "run_seconds": None if self.started is None else round(end - self.started, 3),
            "error": self.error,
        }


def _iso(stamp: float | None) -> str | None:
    return None if stamp is None else datetime.fromtimestamp(stamp, UTC).isoformat()


class JobRunner:
    """Runs jobs for notebooks in ``notebooks_root``, keeping them under ``root`` (see the module doc)."""

    def __init__(
        self,
        root: Path,
        notebooks_root: Path,
        *,
        max_concurrent: int = 2,
        timeout: float = 3600.0,
        keep_days: float = 30.0,
        env: dict[str, str] | None = None,
    ) -> None:
        if max_concurrent < 1 or timeout <= 0 or keep_days <= 0:
            raise InputError("a job runner needs max_concurrent >= 1, and a timeout and keep_days above 0")
        self.root, self.notebooks_root = Path(root), Path(notebooks_root)
        self.max_concurrent, self.timeout, self.keep_days = max_concurrent, timeout, keep_days
        self._env = env
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._jobs = {job.id: job for job in self._load()}
        self._prune()
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._running: dict[str, subprocess.Popen[bytes]] = {}
        self._closing = False
        self._workers = [
            threading.Thread(target=self._work, name=f"codex-jobs-{i}", daemon=True) for i in range(max_concurrent)
        ]
        for worker in self._workers:
            worker.start()

    # -- asking -----------------------------------------------------------------------------------------------

    def submit(self, notebook: str, parameters: Any = None, key: str | None = None) -> tuple[Job, bool]:
        """Queue a run of ``notebook``; return the job and whether it is new (False: ``key`` named it already)."""
        require("jobs")
        path = notebooks.find(self.notebooks_root, notebook)
        values = notebooks.check_parameters(path.name, notebooks.parameters(notebooks.read(path)), parameters or {})
        _check_key(key)
        with self._lock:
            if self._closing:
                raise JobNotReady("the job runner is stopping; post the job again once the server is back")
            known = next((j for j in self._jobs.values() if key is not None and j.idempotency_key == key), None)
            if known is not None:
                if (known.notebook, known.parameters) != (path.name, values):
                    raise IdempotencyConflict(
                        f"idempotency key {key!r} already names job {known.id} ({known.notebook} with other "
                        "parameters); use a new key for a different request"
                    )
                return dataclasses.replace(known), False
            job = Job(uuid.uuid4().hex, path.name, values, key, created=time.time())
            folder = self.root / job.id
            folder.mkdir()
            shutil.copyfile(path, folder / "input.ipynb")
            self._save(job)
            self._jobs[job.id] = job
            posted = dataclasses.replace(job)  # as it was when posted: a worker may start it at once
        self._queue.put(job.id)
        return posted, True

    def get(self, job_id: str) -> Job:
        """The job with this id, or :class:`JobNotFound`."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                raise JobNotFound(f"no job with id {job_id!r}; GET /codex/api/jobs lists them")
            return dataclasses.replace(job)

    def jobs(self) -> list[Job]:
        """Every job, newest first."""
        with self._lock:
            return sorted((dataclasses.replace(j) for j in self._jobs.values()), key=lambda j: -j.created)

    def counts(self) -> dict[str, int]:
        """How many jobs are in each state."""
        with self._lock:
            return {state: sum(j.state == state for j in self._jobs.values()) for state in STATES}

    def log_tail(self, job_id: str, lines: int = 40) -> list[str]:
        """The last ``lines`` lines of the job's log (papermill's progress and the cells' output)."""
        self.get(job_id)
        log = self.root / job_id / "log.txt"
        if not log.exists():
            return []
        with log.open("rb") as f:
            f.seek(max(0, log.stat().st_size - 64 * 1024))
            return f.read().decode("utf-8", "replace").splitlines()[-lines:]

    def output(self, job_id: str) -> Path:
        """The executed notebook of a finished job (a failed one keeps the cells that ran)."""
        job = self.get(job_id)
        path = self.root / job_id / "output.ipynb"
        if job.state not in FINISHED:
            raise JobNotReady(f"job {job_id} is {job.state}; its notebook is ready when it has finished")
        if not path.exists():
            raise JobNotReady(f"job {job_id} failed before its notebook started ({job.error})")
        return path

    def report_html(self, job_id: str) -> str:
        """The executed notebook as one self-contained HTML page without code: what a reader of the dashboard sees.

        The same writer as ``codex-jupyter report`` (:func:`codex_jupyter.pipelines.report.to_html`): plotly.js and
        the widget runtime inline, widgets drawn from the state the job stored, no CDN, so the page can be mailed.
        """
        path = self.output(job_id)
        require("jobs", "nbconvert")
        import nbformat

        from codex_jupyter.pipelines import report

        executed = nbformat.read(path, as_version=4)
        return report.to_html(executed, notebooks.title(executed) or Path(self.get(job_id).notebook).stem)

    def close(self) -> None:
        """Stop: kill the running jobs with their kernels and fail them and the queued ones."""
        with self._lock:
            self._closing = True
            running = list(self._running.values())
        for process in running:
            _kill_tree(process)
        for _ in self._workers:
            self._queue.put(None)
        for worker in self._workers:
            worker.join(timeout=30)
        with self._lock:
            for job in self._jobs.values():
                if job.state not in FINISHED:
                    self._finish(job, "the server stopped before this job finished; post it again")

    # -- running ----------------------------------------------------------------------------------------------

    def _work(self) -> None:
        while (job_id := self._queue.get()) is not None:
            with self._lock:
                job = self._jobs[job_id]
                if self._closing or job.state != "queued":
                    continue
                job.state, job.started = "running", time.time()
                self._save(job)
            try:
                error = self._run(job_id)
            except Exception as exc:  # whatever one job does, the runner keeps serving the others
                error = f"the job could not run ({type(exc).__name__}: {exc})"
            with self._lock:
                self._finish(job, error)
            self._prune()

    def _run(self, job_id: str) -> str | None:
        """Run the job's process to its end; the error that failed it, or None."""
        folder = self.root / job_id
        with (folder / "log.txt").open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "codex_jupyter.pipelines.jobs", str(folder)],
                cwd=folder,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a signal to the server's terminal does not reach the job
                env=self._env,
            )
        with self._lock:
            self._running[job_id] = process
            if self._closing:  # close() came between the queue and the start
                _kill_tree(process)
        try:
            code = process.wait(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            _kill_tree(process)
            return f"timed out after {self.timeout:g} s; the notebook and its kernel were stopped"
        finally:
            with self._lock:
                self._running.pop(job_id, None)
        if self._closing and code != 0:
            return "the server stopped while this job ran; post it again"
        return None if code == 0 else _failure(folder, code)

    def _finish(self, job: Job, error: str | None) -> None:
        job.state = "succeeded" if error is None else "failed"
        job.finished, job.error = time.time(), error
        self._save(job)

    def _prune(self) -> None:
        """Delete finished jobs older than ``keep_days``; ``job.json`` first, so a crash midway leaves no half job."""
        cutoff = time.time() - self.keep_days * 86400
        with self._lock:
            old = [job for job in self._jobs.values() if job.state in FINISHED and (job.finished or 0) < cutoff]
            for job in old:
                del self._jobs[job.id]
        for job in old:
            (self.root / job.id / "job.json").unlink(missing_ok=True)
            shutil.rmtree(self.root / job.id, ignore_errors=True)

    # -- the store --------------------------------------------------------------------------------------------

    def _save(self, job: Job) -> None:
        folder = self.root / job.id
        partial = folder / "job.json.partial"
        partial.write_text(json.dumps(dataclasses.asdict(job), indent=1))
        os.replace(partial, folder / "job.json")

    def _load(self) -> list[Job]:
        jobs = []
        for path in sorted(self.root.glob("*/job.json")):
            job = Job(**json.loads(path.read_text()))
            if job.state not in FINISHED:
                self._finish(job, "the server stopped before this job finished; post it again")
            jobs.append(job)
        return jobs


def _check_key(key: Any) -> None:
    if key is None:
        return
    if not isinstance(key, str) or not key.strip() or len(key) > MAX_KEY_LENGTH:
        raise InputError(f"an idempotency key is a non-empty string of at most {MAX_KEY_LENGTH} characters")


def _failure(folder: Path, code: int) -> str:
    """Why a job's process failed: the notebook's error, or how the process ended."""
    error = folder / "error.txt"
    if error.exists():
        return error.read_text(encoding="utf-8").strip()
    if code < 0:
        return f"the job's process was killed by signal {-code}"
    return f"the job's process exited with code {code}; see the log"


def _kill_tree(process: subprocess.Popen[bytes]) -> None:
    """Kill the job's process and everything it started (papermill's kernel runs in a session of its own)."""
    import psutil

    with contextlib.suppress(psutil.NoSuchProcess):
        tree = psutil.Process(process.pid)
        for child in [*tree.children(recursive=True), tree]:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
    process.wait()


# -- inside the job's process ---------------------------------------------------------------------------------


def run_job_folder(folder: Path) -> int:
    """Execute ``folder/input.ipynb`` with the job's parameters into ``folder/output.ipynb``; 0 when it succeeded.

    A failure is written to ``error.txt`` in one line (the cell and the error); the traceback goes to the log.
    """
    import logging
    import traceback

    import papermill
    from papermill.exceptions import PapermillExecutionError

    from codex_jupyter.pipelines.report import plotly_as_data

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stdout)
    job = json.loads((folder / "job.json").read_text())
    try:
        with plotly_as_data():  # figures stored as data and widgets with their state: the report draws both
            papermill.execute_notebook(
                folder / "input.ipynb",
                folder / "output.ipynb",
                parameters=job["parameters"],
                cwd=str(folder),
                log_output=True,
                progress_bar=False,
                store_widget_state=True,
            )
    except PapermillExecutionError as exc:
        first = str(exc.evalue).strip().splitlines()[:1]
        (folder / "error.txt").write_text(f"cell {exc.exec_count} raised {exc.ename}: {''.join(first)}")
        return 1
    except Exception as exc:  # a kernel that died, a notebook that does not load: this job fails, nothing else
        traceback.print_exc(file=sys.stdout)
        first = str(exc).strip().splitlines()[:1]
        (folder / "error.txt").write_text(f"{type(exc).__name__}: {''.join(first)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(run_job_folder(Path(sys.argv[1])))
