"""The "Codex Analytics (Python 3)" kernel: IPython with the codex-jupyter magics loaded at start.

A notebook on this kernel has ``%%snowflake``, ``%geocode``, ``%iot_tail`` ...
without a ``%load_ext codex_jupyter`` cell: IPython's own ``--ext`` option
loads the extension when the kernel starts, so nothing is pasted into the
user's notebook or startup files.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from codex_jupyter.extras import require

KERNEL_NAME = "codex"
DISPLAY_NAME = "Codex Analytics (Python 3)"


def install_kernel(*, user: bool = False, sys_prefix: bool = False, prefix: str | None = None) -> Path:
    """Install the kernelspec and return its folder.

    Where, as ``jupyter kernelspec install`` decides: ``user=True`` in the
    user's Jupyter data folder, ``sys_prefix=True`` (or ``prefix``) inside an
    environment, otherwise the system-wide folder. Installing again replaces
    the spec, so an upgrade of the package is picked up.
    """
    kernelspec = require("dashboards", "ipykernel.kernelspec")
    if sys_prefix and prefix is None:
        prefix = sys.prefix
    folder = Path(kernelspec.install(user=user, prefix=prefix, kernel_name=KERNEL_NAME, display_name=DISPLAY_NAME))
    spec_file = folder / "kernel.json"
    spec = json.loads(spec_file.read_text())
    spec["argv"] = [sys.executable, *spec["argv"][1:], "--ext=codex_jupyter"]
    spec.setdefault("metadata", {})["codex_jupyter"] = {"loads": "codex_jupyter"}
    spec_file.write_text(json.dumps(spec, indent=1) + "\n")
    return folder
