"""Binder's build, here: a fresh environment from ``binder/`` runs a curated dashboard on the embedded defaults.

What repo2docker does with this repository, step by step: a clean checkout (only the files git tracks or would
track, so no JavaScript built by earlier runs), a new Python environment, ``pip install -r binder/requirements.txt``
(uv here, from its cache, for speed), ``binder/postBuild``; then the dashboard Binder opens runs in the kernel
postBuild installed, through nbclient, as Voila would run it. About 1.5 minutes on a warm uv and npm cache.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
#: The dashboard a Binder launch opens, then stand-ins that also run on the embedded defaults until it exists.
DASHBOARDS = ("overview.ipynb", "iot.ipynb")

#: Runs in the environment's own Python: execute the notebook in the Codex kernel, then report where it ran from.
_RUNNER = """
import json, sys
import nbformat
from nbclient import NotebookClient

path, out = sys.argv[1], sys.argv[2]
nb = nbformat.read(path, as_version=4)
nb.cells.append(nbformat.v4.new_code_cell(
    "import sys, codex_jupyter; print('WHERE', sys.executable, codex_jupyter.__file__, get_ipython().magics_manager"
    ".magics['cell'].get('snowflake') is not None)"
))
NotebookClient(nb, kernel_name="codex", timeout=600, resources={"metadata": {"path": "notebooks"}}).execute()
nbformat.write(nb, out)
"""


def _dashboard() -> str:
    return next(name for name in DASHBOARDS if (ROOT / "notebooks" / name).is_file())


def _checkout(dest: Path) -> None:
    """The files a clone would have: tracked ones and new ones git does not ignore, as they are in this tree."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, (n.decode() for n in listed)):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)


def _uv() -> str:
    found = Path(sys.executable).with_name("uv")
    if found.is_file():
        return str(found)
    which = shutil.which("uv")
    if which is None:
        pytest.fail("uv is not installed next to this Python or on PATH: run make install-test")
    return which


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{cmd[0]} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def _clean_env(repo: Path, venv: Path, scratch: Path) -> dict[str, str]:
    """This process's environment minus what would leak our own install in, with Jupyter's folders in scratch."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(
        PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        VIRTUAL_ENV=str(venv),
        JUPYTER_DATA_DIR=str(scratch / "jupyter-data"),  # no kernel from the user's own folder shadows the new one
        JUPYTER_CONFIG_DIR=str(scratch / "jupyter-config"),
        IPYTHONDIR=str(scratch / "ipython"),
        CODEX_JUPYTER_CACHE_DIR=str(scratch / "cache"),
        SNOWFLAKE_HOME=str(scratch / "no-snowflake"),  # as on Binder: no Snowflake configuration (the test's has one)
        UV_PYTHON_DOWNLOADS="never",
    )
    return env


def test_binder_environment_builds_and_runs_the_dashboard(tmp_path: Path) -> None:
    started = time.monotonic()
    repo, venv = tmp_path / "repo", tmp_path / "repo" / ".binder-venv"
    repo.mkdir()
    _checkout(repo)
    assert not (repo / "codex_jupyter" / "labextension").exists(), "the clean checkout holds built JavaScript"
    env = _clean_env(repo, venv, tmp_path)

    _run([sys.executable, "-m", "venv", str(venv)], repo, env, 120)
    python = str(venv / "bin" / "python")
    _run([_uv(), "pip", "install", "--python", python, "-r", "binder/requirements.txt"], repo, env, 600)
    _run(["binder/postBuild"], repo, env, 600)

    assert (repo / "codex_jupyter" / "widgets" / "static" / "tableau.js").is_file()
    labext = venv / "share" / "jupyter" / "labextensions" / "codex-jupyter" / "package.json"
    assert json.loads(labext.read_text())["name"] == "codex-jupyter"
    spec = json.loads((venv / "share" / "jupyter" / "kernels" / "codex" / "kernel.json").read_text())
    assert Path(spec["argv"][0]).resolve() == Path(python).resolve()

    notebook = repo / "notebooks" / _dashboard()
    executed = tmp_path / "executed.ipynb"
    _run([python, "-c", _RUNNER, str(notebook), str(executed)], repo, env, 600)

    cells = nbformat.read(executed, as_version=4).cells
    errors = [o for c in cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, errors
    where = "".join(o.get("text", "") for o in cells[-1].outputs).split()
    assert where[0] == "WHERE" and Path(where[1]).parent == venv / "bin"
    assert Path(where[2]).is_relative_to(repo / "codex_jupyter") and where[3] == "True"  # editable, magics loaded
    print(f"binder build and {notebook.name}: {time.monotonic() - started:.0f} s")
