"""Shared browser-test parts: one Voila server over notebooks/ (as `make demo` runs it) and Debian's Chromium.

`voila_command`'s defaults are the demo's, so the map and analytics dashboards come from preheated kernels here too.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from chromium import CHROMIUM, launch_chromium

from codex_jupyter.cli import voila_command

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
VOILA_LOG = ARTIFACTS / "voila.log"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def voila_url() -> Iterator[str]:
    port = _free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(VOILA_LOG, "w")  # noqa: SIM115 - closed after the server stops
    proc = subprocess.Popen(
        voila_command(ROOT / "notebooks", port, "127.0.0.1", open_browser=False),
        stdout=log,
        stderr=subprocess.STDOUT,
        env=os.environ.copy(),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(url + "/", timeout=2)
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"Voila exited with {proc.returncode}; see artifacts/voila.log")
                time.sleep(0.5)
        else:
            pytest.fail("Voila did not start within 60 s; see artifacts/voila.log")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: run `make test`, which installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = launch_chromium(pw)
        yield b
        b.close()


@pytest.fixture
def artifacts() -> Path:
    """Where screenshots go (git-ignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def served_preheated() -> Callable[[str], bool]:
    """Whether Voila has handed out a preheated kernel for ``notebook`` (it logs each one)."""
    return lambda notebook: bool(
        re.search(rf"Using pre-heated kernel: \S+ for {re.escape(notebook)}$", VOILA_LOG.read_text(), re.MULTILINE)
    )


@pytest.fixture
def unexpected() -> object:
    """Filter page errors down to the ones a reader would notice (see ``known_plotly_snapshot_error``)."""
    return lambda errors: [e for e in errors if not known_plotly_snapshot_error(e)]


def known_plotly_snapshot_error(error: str) -> bool:
    """jupyterlab-plotly caches a PNG of each figure with ``model.setData``.

    Voila's read-only output models have no ``setData``; the chart itself is
    drawn before the call, so this error costs the reader nothing.
    """
    return "setData is not a function" in error and "jupyterlab-plotly" in error
