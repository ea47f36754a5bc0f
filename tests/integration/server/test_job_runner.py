"""The job runner on its own: a hanging job is stopped with its kernel, a restart fails what was cut short.

Real processes and kernels (papermill) on the stand-in notebooks of the server tests.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import psutil
import pytest
from stand_in_notebooks import write_notebooks

from codex_jupyter.pipelines.jobs import FINISHED, Job, JobRunner

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _this_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    """Job processes and their kernels import the codex_jupyter under test, wherever the venv's install points."""
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parents[3]))


def _wait(runner: JobRunner, job_id: str, state: tuple[str, ...] = FINISHED, within: float = 240) -> Job:
    """Poll until the job reaches one of ``state`` (bounded, so a stuck runner fails the test instead of hanging)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        job = runner.get(job_id)
        if job.state in state:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still {runner.get(job_id).state}")


def test_a_hanging_job_is_stopped_at_its_timeout_with_its_kernel(tmp_path: Path) -> None:
    runner = JobRunner(tmp_path / "jobs", write_notebooks(tmp_path / "nb"), timeout=45)
    try:
        job, _ = runner.submit("hangs")
        pid_file = tmp_path / "jobs" / job.id / "kernel.pid"
        done = _wait(runner, job.id)
    finally:
        runner.close()
    assert done.state == "failed" and done.error.startswith("timed out after 45 s")
    # the kernel had started (it wrote its pid) and is gone, not orphaned
    kernel = int(pid_file.read_text())
    assert not psutil.pid_exists(kernel) or psutil.Process(kernel).status() == psutil.STATUS_ZOMBIE


def test_no_more_than_max_concurrent_jobs_run_at_once(tmp_path: Path) -> None:
    runner = JobRunner(tmp_path / "jobs", write_notebooks(tmp_path / "nb"), max_concurrent=1, timeout=240)
    try:
        first, _ = runner.submit("hangs")
        second, _ = runner.submit("plain")
        _wait(runner, first.id, ("running",))
        assert runner.get(second.id).state == "queued"
        assert runner.counts() == {"queued": 1, "running": 1, "succeeded": 0, "failed": 0}
    finally:
        runner.close()


def test_a_restarted_runner_fails_the_jobs_the_last_one_left_unfinished(tmp_path: Path) -> None:
    notebooks = write_notebooks(tmp_path / "nb")
    store = tmp_path / "jobs"
    first = JobRunner(store, notebooks, max_concurrent=1)
    job, _ = first.submit("hangs", key="k")
    _wait(first, job.id, ("running",))
    # the server's process dies without closing the runner: the job's state on disk still says running
    saved = json.loads((store / job.id / "job.json").read_text())
    assert saved["state"] == "running"
    first.close()
    (store / job.id / "job.json").write_text(json.dumps(saved))

    again = JobRunner(store, notebooks)
    try:
        restarted = again.get(job.id)
        assert restarted.state == "failed" and "server stopped" in restarted.error
        assert again.submit("hangs", key="k")[0].id == job.id  # the key still names that job
    finally:
        again.close()


def test_finished_jobs_are_deleted_after_keep_days_and_their_key_is_free_again(tmp_path: Path) -> None:
    notebooks, store = write_notebooks(tmp_path / "nb"), tmp_path / "jobs"
    first = JobRunner(store, notebooks)
    try:
        job, _ = first.submit("plain", key="nightly")
        assert _wait(first, job.id).state == "succeeded"
    finally:
        first.close()
    # the job finished 31 days ago (as its record says); a runner that keeps 30 days deletes it at start
    saved = json.loads((store / job.id / "job.json").read_text())
    (store / job.id / "job.json").write_text(json.dumps({**saved, "finished": time.time() - 31 * 86400}))
    keeps_more = JobRunner(store, notebooks, keep_days=60)
    keeps_more.close()
    assert (store / job.id / "output.ipynb").exists()  # within 60 days: kept

    again = JobRunner(store, notebooks, keep_days=30)
    try:
        assert not (store / job.id).exists() and job.id not in {j.id for j in again.jobs()}
        assert again.submit("plain", key="nightly")[0].id != job.id  # the key names a new job
    finally:
        again.close()


def test_a_jobs_report_is_one_self_contained_page_with_its_chart_and_widget(tmp_path: Path) -> None:
    runner = JobRunner(tmp_path / "jobs", write_notebooks(tmp_path / "nb"), timeout=240)
    try:
        job, _ = runner.submit("chart")
        assert _wait(runner, job.id).state == "succeeded"
        page = runner.report_html(job.id)
    finally:
        runner.close()
    assert "<title>chart</title>" in page and "px.bar" not in page  # the notebook's title, no code
    assert '"Sales"' in page and "Plotly.newPlot" in page  # the figure as data, drawn by plotly.js inline
    assert "application/vnd.jupyter.widget-state+json" in page and "Weeks" in page  # the widget from its state
    assert not re.search(r"<(script|link)[^>]+(src|href)=[\"']https?://", page)  # nothing from a CDN
