"""``codex-jupyter``: serve the curated dashboards (``demo``), write a report of one (``report``), check an install."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
import traceback
from importlib import metadata
from pathlib import Path

import psutil

#: Kernels kept executed per preheated dashboard (``notebooks/voila.json`` names which are preheated).
PREHEAT = 1

#: Seconds Voila gets to shut its kernels down after a forwarded signal; then whatever is left is killed.
GRACE = 10.0
#: What ``demo`` passes on to Voila for each signal it stops on. Voila shuts its kernels down on SIGINT and
#: SIGTERM but dies at once on SIGHUP (the terminal closing), so a hang-up reaches it as SIGTERM.
_FORWARD = {signal.SIGINT: signal.SIGINT, signal.SIGTERM: signal.SIGTERM, signal.SIGHUP: signal.SIGTERM}
#: Seconds between looks at Voila's process tree while it runs (kernels come and go with readers).
_POLL = 1.0


def notebooks_dir() -> Path:
    """The curated notebooks: shipped in the wheel, or the source tree's ``notebooks/``."""
    from codex_jupyter.pipelines.notebooks import NotebookNotFound, curated_dir

    try:
        return curated_dir()
    except NotebookNotFound as exc:
        raise SystemExit(f"codex-jupyter: {exc}") from None


def voila_command(
    root: Path,
    port: int,
    ip: str,
    open_browser: bool,
    preheat: int = PREHEAT,
    settings: Path | None = None,
) -> list[str]:
    """The Voila command line that serves ``root`` as the dashboards, with the settings of ``notebooks/voila.json``.

    The settings live in ``voila.json`` beside the curated notebooks (the
    ``codex`` template and its landing page, culling idle kernels, the
    extension denylist, which dashboards are preheated), so ``voila
    notebooks/``, Binder and ``demo`` serve alike; here Voila is only told
    where that file is (``settings``, default the curated folder) and given
    what differs per run. Options on the command line win over the file.

    Preheated kernels run their notebook before anyone asks: a reader gets
    the executed page at once (0.7-1.3 s here against 9-26 s cold), and Voila
    refills the pool a second later. ``preheat`` is the pool size of each
    preheated dashboard, 0 turns preheating off. ``voila.json`` preheats the
    overview, map and analytics dashboards: once run, a kernel holds about
    270 MB (analytics) to 450 MB (maps), memory held all the time. The live
    tail (``iot.ipynb``) is never preheated: it must start when its reader
    arrives, not minutes before.
    """
    from jupyter_core.paths import jupyter_config_path  # the [dashboards] extra's: demo requires it first

    folder = settings or notebooks_dir()
    return [
        sys.executable,
        "-m",
        "voila",
        str(root),
        f"--port={port}",
        f"--Voila.ip={ip}",
        "--no-browser" if not open_browser else "--Voila.open_browser=True",
        # replaces Voila's default search path (the working folder first), so a stray voila.json cannot interfere;
        # Jupyter's config folders stay, for the landing page's hook in <env>/etc/jupyter/voila.py
        f"--Voila.config_file_paths={folder}",
        *[f"--Voila.config_file_paths={path}" for path in jupyter_config_path()],
        *(["--VoilaConfiguration.preheat_kernel=False"] if preheat <= 0 else [f"--pool_size={preheat}"]),
    ]


def _demo(args: argparse.Namespace) -> int:
    from codex_jupyter.extras import require

    require("dashboards")
    root = Path(args.notebooks) if args.notebooks else notebooks_dir()
    # Someone else's notebooks may tail a stream or write somewhere: never run them before a reader asks.
    preheat = 0 if args.notebooks else args.preheat
    cmd = voila_command(root, args.port, args.ip, args.open, preheat=preheat)
    print(f"codex-jupyter {_version()}: serving {root} with Voila on http://{args.ip}:{args.port}/", flush=True)
    print("Embedded defaults: local DuckDB demo warehouse, no account or network needed. Ctrl-C stops.", flush=True)
    if preheat > 0:
        print(f"Preheating the overview, map and analytics dashboards ({preheat} kernel(s) each).", flush=True)
    return _serve(cmd)


def _serve(cmd: list[str], grace: float = GRACE) -> int:
    """Run Voila until it exits or ``demo`` is told to stop, and leave no Voila or kernel process behind.

    Returns Voila's exit code, or 128 + the signal number when a signal stopped ``demo`` (the shell's rule).
    """
    server = _Server(cmd, grace)
    previous = {sig: signal.signal(sig, server.on_signal) for sig in _FORWARD}
    try:
        code = server.run()
    finally:
        server.kill_survivors()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 128 + server.signals[0] if server.signals else code


class _Server:
    """Voila as a child in a session of its own, and every process it starts, remembered by PID.

    Its own session means one Ctrl-C reaches Voila once, from here, and never the terminal's second copy.
    Kernels start sessions of their own (jupyter_client), so killing Voila's process group alone would miss
    them: every descendant seen while Voila runs is remembered, and any that outlives Voila is killed.
    psutil's ``Process`` checks the start time too, so a PID the system has reused is never touched.
    """

    def __init__(self, cmd: list[str], grace: float) -> None:
        self.cmd, self.grace = cmd, grace
        self.signals: list[int] = []
        self.deadline: float | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.seen: dict[int, psutil.Process] = {}

    def on_signal(self, signum: int, _frame: object) -> None:
        """Pass the first signal on and give Voila ``grace`` seconds; a second one ends the wait at once."""
        self.signals.append(signum)
        self.deadline = time.monotonic() + (self.grace if len(self.signals) == 1 else 0.0)
        if self.proc is not None:
            self._forward()

    def run(self) -> int:
        """Start Voila and wait for it, killing its whole tree when it outstays the grace period."""
        self.proc = subprocess.Popen(self.cmd, env=os.environ.copy(), start_new_session=True)
        if self.signals:  # one arrived while Voila was starting
            self._forward()
        while True:
            self._remember()
            try:
                return self.proc.wait(timeout=_POLL)
            except subprocess.TimeoutExpired:
                if self.deadline is not None and time.monotonic() >= self.deadline:
                    self._kill_group()

    def _forward(self) -> None:
        assert self.proc is not None
        self._remember()  # before Voila goes: its orphans can no longer be found as its descendants
        self.proc.send_signal(_FORWARD[self.signals[0]])

    def _remember(self) -> None:
        if self.proc is None or self.proc.returncode is not None:  # once reaped, its PID may be someone else's
            return
        try:
            tree = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.Error:  # Voila is gone: what it left is already remembered
            return
        self.seen.update((p.pid, p) for p in tree)

    def _kill_group(self) -> None:
        """Kill Voila's process group (Voila is not reaped yet, so the group's ID is still its own)."""
        assert self.proc is not None
        self._remember()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)

    def kill_survivors(self) -> None:
        """Kill every remembered process still running (kernels in their own sessions) and wait for them."""
        if self.proc is not None and self.proc.poll() is None:
            self._kill_group()
            self.proc.wait()
        alive = [p for p in self.seen.values() if p.is_running()]
        for process in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
        psutil.wait_procs(alive, timeout=self.grace)


def _report(args: argparse.Namespace) -> int:
    """Run a dashboard with parameters and write its report; one line per failure unless ``--verbose``."""
    from codex_jupyter.pipelines import notebooks, report

    path = report.find_notebook(args.notebook)
    values = report.parse_params(args.param, notebooks.parameters(notebooks.read(path)), path.name)
    output = report.output_path(path, args.output)
    # Names only: a value may be a token, and this line ends up in CI logs.
    shown = f"{', '.join(values)} set, the rest at their defaults" if values else "its defaults"
    print(f"codex-jupyter: running {path} with {shown}", file=sys.stderr, flush=True)
    try:
        done = report.build_report(path, values, output, progress=not args.quiet, timeout=args.timeout)
    except report.ReportFailed:
        if args.verbose:
            traceback.print_exc()
        raise
    print(
        f"codex-jupyter: wrote {done.path} (executed in {done.execute_seconds:.1f} s, "
        f"rendered in {done.render_seconds:.1f} s)",
        file=sys.stderr,
    )
    return 0


def _doctor(args: argparse.Namespace) -> int:
    """Versions, extras and each surface's state; exit 1 when a configured surface is broken or unreachable."""
    import json

    from codex_jupyter import config
    from codex_jupyter.sources import status

    surfaces = status.surfaces()
    for name, state in surfaces.items():
        problem = status.reachability(name, state)
        if state.get("state") == "configured":
            state["reachable"] = problem is None
        if problem:
            state["detail"] = f"{state['detail']}: unreachable ({problem})"
        elif state.get("server_version"):
            state["detail"] = f"{state['detail']} (server {state['server_version']})"
    report = {
        "version": _version(),
        "python": sys.version.split()[0],
        "packages": {dist: _dist_version(dist) for dist in _DOCTOR_DISTS},
        "extras": status.extras(),
        "surfaces": surfaces,
        "cache": str(config.cache_dir()),
    }
    healthy = all(s.get("state") != "error" and s.get("reachable", True) for s in surfaces.values())
    if args.json:
        print(json.dumps({**report, "healthy": healthy}, indent=1))
        return 0 if healthy else 1
    print(f"codex-jupyter {report['version']} on Python {report['python']}")
    for dist, version in report["packages"].items():
        print(f"  {dist:28} {version or 'missing'}")
    for extra, present in report["extras"].items():
        hint = "installed" if present else f"not installed: pip install 'codex-jupyter[{extra}]'"
        print(f"  [{extra}] {hint}")
    for name, state in surfaces.items():
        mark = "ok " if state.get("state") != "error" and state.get("reachable", True) else "!! "
        print(f"{mark}{name:10} {state['state']:14} {state['detail']}")
    print(f"cache: {report['cache']}")
    return 0 if healthy else 1


_DOCTOR_DISTS = ("duckdb", "sqlglot", "pandas", "pyarrow", "snowflake-connector-python", "jupysql", "voila", "plotly")


def _dist_version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _install_kernel(args: argparse.Namespace) -> int:
    from codex_jupyter.kernelspec import DISPLAY_NAME, install_kernel

    folder = install_kernel(user=args.user, sys_prefix=args.sys_prefix, prefix=args.prefix)
    print(f"installed the {DISPLAY_NAME!r} kernel in {folder}; pick it in JupyterLab's launcher or kernel menu")
    return 0


def _add_report_parser(sub: argparse._SubParsersAction) -> None:
    from codex_jupyter.pipelines.report import RENDER_TIMEOUT

    report = sub.add_parser(
        "report",
        help="run a dashboard with parameters and write one self-contained report (HTML, or PDF through Chromium)",
    )
    report.add_argument("notebook", help="a notebook file, or a curated dashboard's name (forecasting, bi, ...)")
    report.add_argument(
        "--param",
        "-p",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a value for the notebook's parameters cell, read as the type of its default (repeatable)",
    )
    report.add_argument("-o", "--output", metavar="FILE", help="FILE.html or FILE.pdf (default: NOTEBOOK.html here)")
    report.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    report.add_argument("--verbose", "-v", action="store_true", help="the full traceback when the notebook fails")
    report.add_argument(
        "--timeout",
        type=float,
        default=RENDER_TIMEOUT,
        metavar="SECONDS",
        help=f"how long charts and widgets get to draw before a PDF is printed (default {RENDER_TIMEOUT:.0f})",
    )
    report.set_defaults(func=_report)


def _version() -> str:
    from codex_jupyter import __version__

    return __version__


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``codex-jupyter`` command."""
    parser = argparse.ArgumentParser(prog="codex-jupyter", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="serve the curated dashboards with Voila on the embedded defaults")
    demo.add_argument("--port", type=int, default=8866)
    demo.add_argument("--ip", default="127.0.0.1")
    demo.add_argument("--notebooks", help="folder of notebooks to serve (default: the curated ones)")
    demo.add_argument("--open", action="store_true", help="open a browser tab")
    demo.add_argument(
        "--preheat",
        type=int,
        default=PREHEAT,
        metavar="N",
        help=f"executed kernels kept waiting for each preheated dashboard (notebooks/voila.json), so they open at "
        f"once (default {PREHEAT}; about 1 GB each round; 0 turns it off; not with --notebooks)",
    )
    demo.set_defaults(func=_demo)
    doctor = sub.add_parser(
        "doctor", help="versions, extras, and each surface's state; exits 1 when a configured one is broken"
    )
    doctor.add_argument("--json", action="store_true", help="one JSON document, for scripts and health checks")
    doctor.set_defaults(func=_doctor)
    kernel = sub.add_parser(
        "install-kernel", help='install the "Codex Analytics (Python 3)" kernel, which loads the magics at start'
    )
    where = kernel.add_mutually_exclusive_group()
    where.add_argument("--user", action="store_true", help="in your own Jupyter data folder")
    where.add_argument("--sys-prefix", action="store_true", help="inside this Python environment (venv, conda)")
    where.add_argument("--prefix", help="inside the environment at this path")
    kernel.set_defaults(func=_install_kernel)
    _add_report_parser(sub)
    args = parser.parse_args(argv)
    from codex_jupyter import logs
    from codex_jupyter.errors import CodexError

    try:
        with logs.configured():  # CODEX_LOG_FORMAT, or text: the command's own logs, never the root logger
            return int(args.func(args))
    except CodexError as exc:  # a missing extra or a setting to fix: one line, no traceback
        print(f"codex-jupyter: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
