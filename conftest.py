"""Test-wide isolation: a scratch cache, Snowflake home and TMPDIR for every run.

At the project root so it covers both ``tests/`` and the nbval run over
``notebooks/`` (kernels inherit these variables).

These are set before anything imports ``snowflake.connector``, which reads
``SNOWFLAKE_HOME`` once at import time. The Snowflake home holds one
connection, ``fake``, that the fakesnow tests use; it has no ``default``
connection, so unnamed queries go to the embedded warehouse as on a fresh
machine.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# In the system's temporary folder, not in a parent run's TMPDIR (set below): a pytest run started from a test run
# (pytest-xdist's workers inherit the environment) nested its scratch folder in the parent's, and Chromium's socket
# path there passed the 108 characters a Unix socket's path may have.
_TMP_ROOT = os.environ.setdefault("CODEX_JUPYTER_TESTS_TMP_ROOT", tempfile.gettempdir())
_SCRATCH = Path(tempfile.mkdtemp(prefix="codex-jupyter-tests-", dir=_TMP_ROOT))
_SNOWFLAKE_HOME = _SCRATCH / "snowflake"
_SNOWFLAKE_HOME.mkdir()
(_SNOWFLAKE_HOME / "connections.toml").write_text(
    '[fake]\naccount = "fakesnow"\nuser = "fake"\npassword = "s3cr3t-pa55word"\ndatabase = "DEMO"\nschema = "PUBLIC"\n'
)
(_SNOWFLAKE_HOME / "connections.toml").chmod(0o600)
os.environ["SNOWFLAKE_HOME"] = str(_SNOWFLAKE_HOME)
os.environ["CODEX_JUPYTER_CACHE_DIR"] = os.environ.get("CODEX_JUPYTER_TEST_CACHE", str(_SCRATCH / "cache"))
os.environ["TMPDIR"] = str(_SCRATCH / "tmp")
(_SCRATCH / "tmp").mkdir()
tempfile.tempdir = None  # re-read TMPDIR
for key in [k for k in os.environ if k.startswith("SNOWFLAKE_") and k != "SNOWFLAKE_HOME"]:
    del os.environ[key]

SECRET = "s3cr3t-pa55word"
# Test modules read it from here: "from conftest import ..." is ambiguous once a test folder has its own conftest.
os.environ["CODEX_JUPYTER_TEST_SECRET"] = SECRET
(Path(__file__).resolve().parent / "artifacts").mkdir(exist_ok=True)


def _keep_scratch(exitstatus: int) -> bool:
    return exitstatus not in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED) or os.environ.get(
        "CODEX_JUPYTER_KEEP_SCRATCH", ""
    ).lower() in ("1", "true", "yes")


@pytest.hookimpl(trylast=True)  # after pytest's own end-of-session work in that folder
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Remove this run's scratch directory when it passed; after a failure keep it (the tests' ``tmp_path``
    folders, the brokers' data) and say where it is (``CODEX_JUPYTER_KEEP_SCRATCH=1`` keeps it always).

    Why: pytest prunes its old temporary folders only within one TMPDIR, and each run's is new, so nothing was ever
    removed: a full run left about 2 GB in /tmp, and a few hundred runs filled 25 GB.
    """
    if not _keep_scratch(exitstatus):
        shutil.rmtree(_SCRATCH, ignore_errors=True)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int) -> None:
    if _keep_scratch(exitstatus):
        terminalreporter.write_sep("-", f"test scratch kept in {_SCRATCH} (remove it when done)")


@pytest.fixture(autouse=True)
def _reset_connections() -> Iterator[None]:
    """Each test starts with no cached warehouse and no jupysql connection."""
    yield
    from codex_jupyter.sources import warehouse

    warehouse.close_all()
    jupysql = sys.modules.get("sql.connection")
    if jupysql is None:
        return
    ConnectionManager = jupysql.ConnectionManager
    ConnectionManager.connections.clear()
    ConnectionManager.current = None
