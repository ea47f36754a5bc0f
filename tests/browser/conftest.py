"""Shared browser-test parts: one Voila server over notebooks/ (as `make demo` runs it), one JupyterLab, and Chromium.

`voila_command`'s defaults are the demo's, so the map and analytics dashboards come from preheated kernels here too.
Both servers load this tree's built labextension (``codex_jupyter/labextension``, built by ``make``) and its kernels
import this tree's ``codex_jupyter``, whatever copy the venv holds.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
from chromium import CHROMIUM, launch_chromium

from codex_jupyter.cli import voila_command

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
# One Voila and one JupyterLab per pytest-xdist worker (`make test` runs two), each logging to a file of its own.
_WORKER = f"-{os.environ['PYTEST_XDIST_WORKER']}" if os.environ.get("PYTEST_XDIST_WORKER") else ""
VOILA_LOG = ARTIFACTS / f"voila{_WORKER}.log"
LAB_LOG = ARTIFACTS / f"jupyterlab{_WORKER}.log"
BUILT_LABEXTENSION = ROOT / "codex_jupyter" / "labextension"
VOILA_TEMPLATE = ROOT / "share" / "jupyter" / "voila" / "templates" / "codex"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def this_tree(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment for servers that load this tree's labextension and ``codex_jupyter``."""
    if not (BUILT_LABEXTENSION / "package.json").exists():
        pytest.fail("the labextension is not built: run `make labextension` (make test does)")
    jupyter_path = tmp_path_factory.mktemp("jupyter-path")
    (jupyter_path / "labextensions").mkdir()
    # a copy, as a wheel installs it (Voila's static handler refuses files reached through a symlink)
    shutil.copytree(BUILT_LABEXTENSION, jupyter_path / "labextensions" / "codex-jupyter")
    # this tree's Voila template (landing page, dashboard look), ahead of the copy an install put in the venv
    shutil.copytree(VOILA_TEMPLATE, jupyter_path / "voila" / "templates" / "codex")
    env = os.environ.copy()
    env["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(jupyter_path), env.get("JUPYTER_PATH")) if p)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


@contextmanager
def _serving(cmd: list[str], url: str, log_path: Path, env: dict[str, str]) -> Iterator[str]:
    """Start a server, wait until ``url`` answers, stop it (by its PID) afterwards."""
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(log_path, "w")  # noqa: SIM115 - closed after the server stops
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"{cmd[:3]} exited with {proc.returncode}; see artifacts/{log_path.name}")
                time.sleep(0.5)
        else:
            pytest.fail(f"{cmd[:3]} did not start within 60 s; see artifacts/{log_path.name}")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="session")
def voila_url(this_tree: dict[str, str]) -> Iterator[str]:
    port = _free_port()
    cmd = voila_command(ROOT / "notebooks", port, "127.0.0.1", open_browser=False)
    with _serving(cmd, f"http://127.0.0.1:{port}/", VOILA_LOG, this_tree) as url:
        yield url.rstrip("/")


@pytest.fixture(scope="session")
def serve_voila(this_tree: dict[str, str]) -> Callable[[Path, dict[str, str], str], AbstractContextManager[str]]:
    """``serve_voila(folder, env, log_name)``: Voila over ``folder``, its kernels also getting ``env`` (settings).

    Not preheated: each page runs its notebook in a kernel started for it, with this environment.
    """

    def serve(folder: Path, env: dict[str, str], log_name: str) -> AbstractContextManager[str]:
        port = _free_port()
        cmd = voila_command(folder, port, "127.0.0.1", open_browser=False, preheat=0)
        return _serving(cmd, f"http://127.0.0.1:{port}/", ARTIFACTS / log_name, {**this_tree, **env})

    return serve


@pytest.fixture(scope="session")
def lab_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """JupyterLab's root directory: tests write the notebooks they open here."""
    return tmp_path_factory.mktemp("lab-root")


@contextmanager
def _jupyterlab(env: dict[str, str], root: Path, home: Path, config: dict[str, object], log: Path) -> Iterator[str]:
    """A JupyterLab 4 server behind a token (as users run it); the URL carries the token for the first page.

    ``config`` is its Jupyter Server configuration (e.g. ``ServerApp.jpserver_extensions`` switches server
    extensions on or off on top of the installed ones).
    """
    port, token = _free_port(), secrets.token_hex(16)
    (home / "config").mkdir()
    (home / "config" / "jupyter_server_config.json").write_text(json.dumps(config))
    news = home / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True)
    news.write_text(json.dumps({"fetchNews": "false"}))  # no "get notified about news?" toast over the screenshots
    env = {**env, "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_DATA_DIR": str(home / "data")}
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        f"--port={port}",
        "--ip=127.0.0.1",
        "--allow-root",  # CI runs as root in a container
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        f"--LabApp.workspaces_dir={home / 'workspaces'}",
        f"--LabApp.user_settings_dir={home / 'settings'}",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    with _serving(cmd, f"http://127.0.0.1:{port}/api/status?token={token}", log, env):
        yield f"http://127.0.0.1:{port}/lab?token={token}"


@pytest.fixture(scope="session")
def serve_lab(
    this_tree: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Callable[[Path, dict[str, str], str], AbstractContextManager[str]]:
    """``serve_lab(root, env, log_name)``: JupyterLab (no codex server API) over ``root``; its kernels get ``env``."""

    def serve(root: Path, env: dict[str, str], log_name: str) -> AbstractContextManager[str]:
        config = {"ServerApp": {"jpserver_extensions": {"codex_jupyter": False}}}
        home = tmp_path_factory.mktemp("lab-home")
        return _jupyterlab({**this_tree, **env}, root, home, config, ARTIFACTS / log_name)

    return serve


@pytest.fixture(scope="session")
def lab_url(this_tree: dict[str, str], lab_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """JupyterLab without codex-jupyter's server API: the sidebar must say so."""
    home = tmp_path_factory.mktemp("lab-home")
    config = {"ServerApp": {"jpserver_extensions": {"codex_jupyter": False}}}
    with _jupyterlab(this_tree, lab_root, home, config, LAB_LOG) as url:
        yield url


@pytest.fixture(scope="session")
def lab_with_api(this_tree: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """JupyterLab (URL, root) with codex-jupyter's server API, serving a copy of notebooks/ from its root.

    The Snowflake home is the test session's (one connection, ``fake``, and no default): the embedded warehouse
    serves, and health lists ``fake`` among the connection names.
    """
    root, home = tmp_path_factory.mktemp("lab-api-root"), tmp_path_factory.mktemp("lab-api-home")
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    config = {
        "ServerApp": {"jpserver_extensions": {"codex_jupyter": True}},
        "CodexJupyter": {"notebooks_dir": str(root / "notebooks"), "jobs_dir": str(home / "jobs")},
    }
    with _jupyterlab(this_tree, root, home, config, ARTIFACTS / "jupyterlab-api.log") as url:
        yield url, root


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Chromium for one test module.

    Not for the session: Playwright's sync API keeps an asyncio loop running in
    the main thread while it is open, and the server tests that run after the
    browser ones (pytest-jupyter) then fail with "Cannot close a running event loop".
    """
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
def voila_log() -> Path:
    """The log of the Voila server behind ``voila_url``."""
    return VOILA_LOG


@pytest.fixture
def served_preheated() -> Callable[[str], bool]:
    """Whether Voila has handed out a preheated kernel for ``notebook`` (it logs each one)."""
    return lambda notebook: bool(
        re.search(rf"Using pre-heated kernel: \S+ for {re.escape(notebook)}$", VOILA_LOG.read_text(), re.MULTILINE)
    )
