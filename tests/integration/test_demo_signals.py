"""``codex-jupyter demo`` stopped by a signal leaves no Voila or kernel process behind (checked by PID)."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
#: Preheating starts one kernel each for the map and analytics dashboards as soon as Voila is up.
KERNELS = 2
#: Hang guards only: how long Voila and its kernels may take to appear, and ``demo`` to exit after the signal.
START_LIMIT, STOP_LIMIT = 90.0, 30.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _kernels(tree: list[psutil.Process]) -> list[psutil.Process]:
    kernels = []
    for p in tree:
        try:
            if any("ipykernel" in part for part in p.cmdline()):
                kernels.append(p)
        except psutil.Error:
            continue
    return kernels


def _alive(p: psutil.Process) -> bool:
    """Running and not a zombie waiting for its parent (a zombie holds no memory, port or file)."""
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _serving_with_kernels(demo: subprocess.Popen[bytes], port: int, log: Path) -> list[psutil.Process]:
    """Every descendant of ``demo`` once Voila answers on ``port`` and its preheated kernels have started."""
    deadline = time.monotonic() + START_LIMIT
    while time.monotonic() < deadline:
        assert demo.poll() is None, log.read_text()
        tree = psutil.Process(demo.pid).children(recursive=True)
        if _listening(port) and len(_kernels(tree)) >= KERNELS:
            return tree
        time.sleep(0.2)
    raise AssertionError(f"Voila and {KERNELS} kernels did not start within {START_LIMIT} s:\n{log.read_text()}")


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], list[psutil.Process]]]:
    """A running ``codex-jupyter demo`` with its preheated kernels, and its descendants; killed by PID after."""
    port, log = _free_port(), tmp_path / "demo.log"
    with log.open("wb") as out:
        cmd = [sys.executable, "-m", "codex_jupyter.cli", "demo", f"--port={port}"]
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    tree: list[psutil.Process] = []
    try:
        tree = _serving_with_kernels(proc, port, log)
        yield proc, tree
    finally:
        for p in [*tree, psutil.Process(proc.pid)] if proc.poll() is None else tree:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()
        proc.wait()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_voila_and_every_kernel(
    demo: tuple[subprocess.Popen[bytes], list[psutil.Process]], sig: signal.Signals
) -> None:
    proc, tree = demo
    assert len(_kernels(tree)) >= KERNELS and len(tree) > KERNELS  # Voila itself and its kernels
    proc.send_signal(sig)
    code = proc.wait(timeout=STOP_LIMIT)
    assert [p.pid for p in tree if _alive(p)] == []
    assert code == 128 + sig  # the shell's convention for "stopped by this signal"
