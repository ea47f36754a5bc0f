"""``codex-jupyter install-kernel``: a kernel whose notebooks have the magics without ``%load_ext``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

pytestmark = pytest.mark.integration


def test_the_installed_kernel_runs_the_magics_without_load_ext(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "codex_jupyter.cli", "install-kernel", "--prefix", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    folder = tmp_path / "share" / "jupyter" / "kernels" / "codex"
    assert str(folder) in done.stdout
    spec = json.loads((folder / "kernel.json").read_text())
    assert spec["display_name"] == "Codex Analytics (Python 3)" and "--ext=codex_jupyter" in spec["argv"]

    specs = KernelSpecManager(kernel_dirs=[str(tmp_path / "share" / "jupyter" / "kernels")])
    km = KernelManager(kernel_name="codex", kernel_spec_manager=specs)
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=120)
        reply = kc.execute_interactive(
            "%%snowflake -o n\nselect count(*) as branches from branches", timeout=120, output_hook=lambda msg: None
        )
        assert reply["content"]["status"] == "ok"
        check = kc.execute_interactive("assert int(n.branches.iloc[0]) == 40", timeout=60, output_hook=lambda m: None)
        assert check["content"]["status"] == "ok"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
