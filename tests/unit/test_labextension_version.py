"""The JupyterLab extension and the Python package are released together: one version for both."""

from __future__ import annotations

import json
from pathlib import Path

from codex_jupyter import __version__

PACKAGE_JSON = Path(__file__).resolve().parents[2] / "labextension" / "package.json"


def test_the_labextension_has_the_python_package_version() -> None:
    assert json.loads(PACKAGE_JSON.read_text())["version"] == __version__
