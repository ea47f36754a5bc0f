"""Jupyter Server finds the extension through the package, and ``import codex_jupyter`` does not pull the server in."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_the_package_names_the_server_module_without_importing_jupyter_server() -> None:
    script = (
        "import sys, codex_jupyter; points = codex_jupyter._jupyter_server_extension_points(); "
        "print(points, 'jupyter_server' in sys.modules, 'codex_jupyter.server' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert done.stdout.strip() == "[{'module': 'codex_jupyter.server'}] False False", done.stderr


def test_the_named_module_has_the_load_function_jupyter_server_calls() -> None:
    import codex_jupyter.server

    assert callable(codex_jupyter.server._load_jupyter_server_extension)
