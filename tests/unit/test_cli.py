"""The ``codex-jupyter`` command."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from codex_jupyter import cli


def _voila_settings(cmd: list[str]) -> Any:
    """The configuration Voila ends up with for ``cmd``: its config files, then the command line on top."""
    from voila.app import Voila

    app = Voila()
    app.initialize(cmd[3:])
    return app


def test_demo_serves_the_curated_notebooks_with_the_settings_in_voila_json() -> None:
    root = cli.notebooks_dir()
    assert (root / "voila.json").is_file() and (root / "analytics.ipynb").is_file()
    cmd = cli.voila_command(root, 8866, "127.0.0.1", open_browser=False)
    assert cmd[1:3] == ["-m", "voila"] and "--port=8866" in cmd and "--Voila.ip=127.0.0.1" in cmd
    voila = _voila_settings(cmd)
    settings = voila.voila_configuration
    # the landing page and dashboard look; jupysql's Lab plugin cannot load in Voila's older front end
    assert settings.template == "codex" and settings.classic_tree and not settings.show_tracebacks
    assert settings.extension_denylist == ["jupysql-plugin"]
    assert voila.config.MappingKernelManager.cull_idle_timeout > 0  # idle readers' kernels are culled


def _preheated_by_voila(cmd: list[str], root: Path) -> set[str]:
    """The notebooks of ``root`` Voila would preheat: its rule is ``pattern in path or re.match(pattern, path)``."""
    voila = _voila_settings(cmd)
    if not voila.voila_configuration.preheat_kernel:
        return set()
    patterns = voila.config.VoilaKernelManager.preheat_denylist
    paths = {p.name: os.path.join(os.path.abspath(root), p.name) for p in root.glob("*.ipynb")}
    return {name for name, path in paths.items() if not any(p in path or re.match(p, path) for p in patterns)}


def test_demo_preheats_the_overview_map_and_analytics_dashboards_but_not_the_live_tail() -> None:
    root = cli.notebooks_dir()
    cmd = cli.voila_command(root, 8866, "127.0.0.1", open_browser=False)
    assert _voila_settings(cmd).voila_configuration.default_pool_size == 1
    assert _preheated_by_voila(cmd, root) == {"overview.ipynb", "maps.ipynb", "analytics.ipynb"}
    # A relative root: Voila makes it absolute before matching, and the pattern does not care.
    cmd = cli.voila_command(Path(os.path.relpath(root)), 8866, "127.0.0.1", False, preheat=2)
    assert _voila_settings(cmd).voila_configuration.default_pool_size == 2
    assert _preheated_by_voila(cmd, root) == {"overview.ipynb", "maps.ipynb", "analytics.ipynb"}
    assert not _preheated_by_voila(cli.voila_command(root, 8866, "127.0.0.1", False, preheat=0), root)


def test_demo_flag_sets_the_pool_and_never_preheats_other_notebooks(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ran: list[list[str]] = []
    monkeypatch.setattr(cli, "_serve", lambda cmd: ran.append(cmd) or 0)
    assert cli.main(["demo", "--preheat", "2"]) == 0
    assert "--pool_size=2" in ran[-1] and _preheated_by_voila(ran[-1], cli.notebooks_dir())
    assert cli.main(["demo", "--preheat", "0"]) == 0
    assert not _preheated_by_voila(ran[-1], cli.notebooks_dir())
    (tmp_path / "maps.ipynb").write_text("{}")
    assert cli.main(["demo", "--notebooks", str(tmp_path)]) == 0
    assert not _preheated_by_voila(ran[-1], tmp_path)


def test_doctor_reports_the_embedded_warehouse(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "ok warehouse  embedded       embedded local DuckDB" in out and "duckdb" in out
    assert cli.main(["doctor", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["healthy"] and report["surfaces"]["warehouse"]["state"] == "embedded"


def test_unknown_command_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as err:
        cli.main(["nope"])
    assert err.value.code == 2


#: A server that ignores SIGINT and SIGTERM and starts a "kernel" in a session of its own, as jupyter_client does.
_STUBBORN = """
import pathlib, signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
signal.signal(signal.SIGINT, signal.SIG_IGN)
kernel = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
pathlib.Path(sys.argv[1]).write_text(str(kernel.pid))
time.sleep(600)
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=["INT", "TERM", "HUP"])
def test_a_server_that_ignores_the_signal_is_killed_with_its_kernels_after_the_grace(
    tmp_path: Path, sig: signal.Signals
) -> None:
    ready = tmp_path / "kernel.pid"
    server = [sys.executable, "-c", _STUBBORN, str(ready)]
    serve = f"from codex_jupyter import cli; raise SystemExit(cli._serve({server!r}, grace=0.5))"
    demo = subprocess.Popen([sys.executable, "-c", serve], cwd=Path(__file__).resolve().parents[2])
    tree: list[psutil.Process] = []
    try:
        while not ready.exists() or not ready.read_text():
            assert demo.poll() is None
            time.sleep(0.05)
        tree = psutil.Process(demo.pid).children(recursive=True)
        assert int(ready.read_text()) in {p.pid for p in tree}
        demo.send_signal(sig)
        assert demo.wait(timeout=30) == 128 + sig
        assert [p.pid for p in tree if _alive(p)] == []
    finally:
        for p in [*tree, psutil.Process(demo.pid)] if demo.poll() is None else tree:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()
        demo.wait()


def _alive(p: psutil.Process) -> bool:
    """Running and not a zombie waiting for its parent (a zombie holds no memory, port or file)."""
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
