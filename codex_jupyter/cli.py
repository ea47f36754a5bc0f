"""``codex-jupyter``: serve the curated dashboards (``demo``) and check an install (``doctor``)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

#: Voila runs a kernel per page load until it is stopped; cull idle ones.
_CULL = ["--MappingKernelManager.cull_idle_timeout=600", "--MappingKernelManager.cull_interval=60"]


def notebooks_dir() -> Path:
    """The curated notebooks: shipped in the wheel, or the source tree's ``notebooks/``."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "notebooks", here.parent / "notebooks"):
        if candidate.is_dir():
            return candidate
    raise SystemExit("codex-jupyter: the curated notebooks are missing from this install; reinstall the package")


def voila_command(root: Path, port: int, ip: str, open_browser: bool) -> list[str]:
    """The Voila command line that serves ``root`` as the dashboards.

    jupysql's Lab plugin needs a newer JupyterLab front end than Voila bundles,
    so it is denied here (it only matters inside JupyterLab).
    """
    return [
        sys.executable,
        "-m",
        "voila",
        str(root),
        f"--port={port}",
        f"--Voila.ip={ip}",
        "--no-browser" if not open_browser else "--Voila.open_browser=True",
        "--VoilaConfiguration.extension_denylist=jupysql-plugin",
        "--VoilaConfiguration.show_tracebacks=False",
        *_CULL,
    ]


def _demo(args: argparse.Namespace) -> int:
    root = Path(args.notebooks) if args.notebooks else notebooks_dir()
    print(f"codex-jupyter {_version()}: serving {root} with Voila on http://{args.ip}:{args.port}/", flush=True)
    print("Embedded defaults: local DuckDB demo warehouse, no account or network needed. Ctrl-C stops.", flush=True)
    try:
        return subprocess.call(voila_command(root, args.port, args.ip, args.open), env=os.environ.copy())
    except KeyboardInterrupt:
        return 0


def _doctor(_: argparse.Namespace) -> int:
    from codex_jupyter import config

    print(f"codex-jupyter {_version()} on Python {sys.version.split()[0]}")
    for dist in ("duckdb", "sqlglot", "pandas", "pyarrow", "snowflake-connector-python", "jupysql", "voila", "plotly"):
        try:
            print(f"  {dist:28} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            print(f"  {dist:28} missing")
    try:
        settings = config.resolve_connection()
    except config.UnknownConnectionError as exc:
        print(f"warehouse: configuration problem: {exc}")
        return 1
    print(f"warehouse: {settings.label if settings else 'embedded local DuckDB (no Snowflake configured)'}")
    print(f"cache: {config.cache_dir()}")
    return 0


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
    demo.set_defaults(func=_demo)
    doctor = sub.add_parser("doctor", help="show versions and which warehouse a query would use")
    doctor.set_defaults(func=_doctor)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
