"""The wheel and the sdist install in a fresh venv, and the core install stays small.

Built with ``uv build`` as a user's ``python -m build`` would (hatchling, build
isolation), installed with the project's pins, then used: the embedded
warehouse answers, ``codex-jupyter doctor`` runs, and none of the extras'
heavy packages came along. The wheel carries the prebuilt JupyterLab
extension, and JupyterLab lists it enabled after a plain install.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from codex_jupyter import __version__

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
UV = Path(sys.executable).with_name("uv")
#: Distributions only extras may bring: a core install that has one of them has grown back.
EXTRA_ONLY = (
    "jupyterlab",
    "voila",
    "snowflake-connector-python",
    "kafka-python",
    "boto3",
    "paho-mqtt",
    "ortools",
    "jupysql",
    "matplotlib",
    "papermill",
    "jupyter-server",
)
SMOKE = (
    "import codex_jupyter as cj; "
    "print(cj.connect('local').query('select count(*) as n from branches').df().n.iloc[0]); "
    "print(len(cj.detect_anomalies(cj.connect('local').query('select * from daily_sales').df(), "
    "time='date', value='revenue', by='branch_id'))); "
    # the dashboards' live charts: plotly's FigureWidget needs anywidget, which the core must bring
    "import plotly.graph_objects as go; go.FigureWidget()"
)


LABEXTENSION = f"codex_jupyter-{__version__}.data/data/share/jupyter/labextensions/codex-jupyter/"


def _run(*args: object, cwd: Path = ROOT, env: dict[str, str] | None = None, stderr: bool = False) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout + (done.stderr if stderr else "")


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    _run(UV, "build", "--sdist", "--wheel", "--out-dir", out, ROOT)
    return out


def _fresh_venv(where: Path, *requirements: object) -> Path:
    _run(UV, "venv", "--quiet", "--python", sys.executable, where)
    python = where / "bin" / "python"
    _run(UV, "pip", "install", "--quiet", "--python", python, "-c", ROOT / "constraints.txt", *requirements)
    return python


def test_the_wheel_ships_the_package_data_and_no_test_helpers(dist: Path) -> None:
    (wheel,) = dist.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "codex_jupyter/py.typed" in names
    assert {"codex_jupyter/notebooks/analytics.ipynb", "codex_jupyter/notebooks/voila.json"} <= set(names)
    # `codex-jupyter demo` after `pip install`: the landing page's template and its hook land in the environment
    data = f"codex_jupyter-{__version__}.data/data/"
    assert {data + "share/jupyter/voila/templates/codex/tree.html", data + "etc/jupyter/voila.py"} <= set(names)
    # codex-jupyter report: its HTML template and the widget runtime it inlines (built by js/, git-ignored)
    report = {"pipelines/report_templates/codex_report/index.html.j2", "widgets/static/report-html-manager.js"}
    assert {f"codex_jupyter/{n}" for n in {*report, "widgets/static/report-require.js"}} <= set(names)
    assert not [n for n in names if n.startswith("tests/") or n.endswith(("testing.py", "conftest.py"))]


def test_the_wheel_ships_the_prebuilt_labextension_at_the_package_version(dist: Path) -> None:
    (wheel,) = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        built = json.loads(zf.read(LABEXTENSION + "package.json"))
    assert {LABEXTENSION + "static/style.js", LABEXTENSION + "install.json"} <= set(names)
    assert [n for n in names if re.fullmatch(re.escape(LABEXTENSION) + r"static/remoteEntry\.\w+\.js", n)]
    assert (built["name"], built["version"]) == ("codex-jupyter", __version__)
    assert built["jupyterlab"]["_build"]["load"].startswith("static/remoteEntry.")
    assert not [n for n in names if "node_modules/" in n or n.endswith(".ts")]


def test_jupyterlab_lists_the_extension_enabled_after_a_plain_wheel_install(dist: Path, tmp_path: Path) -> None:
    (wheel,) = dist.glob("*.whl")
    _fresh_venv(tmp_path / "venv", wheel, "jupyterlab")
    listing = _run(tmp_path / "venv" / "bin" / "jupyter", "labextension", "list", cwd=tmp_path, stderr=True)
    plain = re.sub(r"\x1b\[[0-9;]*m", "", listing)  # it colours "enabled" and "OK"
    assert re.search(rf"codex-jupyter v{re.escape(__version__)} enabled\s+OK \(python, codex-jupyter\)", plain), plain


@pytest.mark.parametrize("kind", ["whl", "tar.gz"])
def test_a_fresh_core_install_works_without_any_extra(dist: Path, tmp_path: Path, kind: str) -> None:
    (artifact,) = dist.glob(f"*.{kind}")
    python = _fresh_venv(tmp_path / "venv", artifact)
    (tmp_path / "no-snowflake").mkdir()
    fresh_machine = {**os.environ, "SNOWFLAKE_HOME": str(tmp_path / "no-snowflake")}  # no connections.toml
    branches, rows = _run(python, "-c", SMOKE, cwd=tmp_path, env=fresh_machine).split()
    assert branches == "40" and int(rows) > 1000
    doctor = _run(tmp_path / "venv" / "bin" / "codex-jupyter", "doctor", cwd=tmp_path, env=fresh_machine)
    assert "embedded local DuckDB" in doctor and "pip install 'codex-jupyter[kafka]'" in doctor
    installed = _run(UV, "pip", "list", "--python", python, "--format", "freeze").lower()
    grown_back = [name for name in EXTRA_ONLY if f"\n{name}==" in "\n" + installed]
    assert not grown_back, f"the core install pulled {grown_back}"


def test_pip_install_enables_the_server_extension(dist: Path, tmp_path: Path) -> None:
    """``jupyter server extension list`` in a fresh venv shows it enabled and loading, with no [jobs] extra."""
    (wheel,) = dist.glob("*.whl")
    python = _fresh_venv(tmp_path / "venv", wheel)
    _run(UV, "pip", "install", "--quiet", "--python", python, "-c", ROOT / "constraints.txt", "jupyter_server")
    home = tmp_path / "home"
    home.mkdir()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER_", "PYTHONPATH"))}
    env = {**clean, "HOME": str(home), "JUPYTER_CONFIG_DIR": str(home / ".jupyter"), "JUPYTER_PLATFORM_DIRS": "1"}
    done = subprocess.run(
        [tmp_path / "venv" / "bin" / "jupyter", "server", "extension", "list"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    listing = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)  # its colours
    assert done.returncode == 0, listing
    assert "codex_jupyter enabled" in listing, listing
    assert re.search(r"codex_jupyter \S+ OK", listing), listing  # imported and loadable: the handlers need no papermill
    assert (tmp_path / "venv" / "etc" / "jupyter" / "jupyter_server_config.d" / "codex_jupyter.json").is_file()
