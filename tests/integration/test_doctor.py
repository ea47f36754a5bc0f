"""``codex-jupyter doctor`` as a health check: a configured warehouse that does not answer fails it, in one line."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

PASSWORD = "doctor-pa55word-never-shown"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_snowflake_connection_makes_doctor_fail_without_showing_its_password(
    tmp_path: Path, secrets
) -> None:
    secrets.add(PASSWORD)
    home = tmp_path / "snowflake"
    home.mkdir()
    (home / "connections.toml").write_text(
        f'[broken]\naccount = "nowhere"\nuser = "u"\npassword = "{PASSWORD}"\nhost = "127.0.0.1"\n'
        f'port = {_closed_port()}\nprotocol = "http"\nlogin_timeout = 3\n'
    )
    (home / "connections.toml").chmod(0o600)
    env = {**os.environ, "SNOWFLAKE_HOME": str(home), "SNOWFLAKE_DEFAULT_CONNECTION_NAME": "broken"}
    run = [sys.executable, "-m", "codex_jupyter.cli", "doctor"]
    text = subprocess.run(run, capture_output=True, text=True, env=env, timeout=180)
    as_json = subprocess.run([*run, "--json"], capture_output=True, text=True, env=env, timeout=180)
    assert text.returncode == 1 and as_json.returncode == 1
    line = next(x for x in text.stdout.splitlines() if "warehouse" in x and "configured" in x)
    assert line.startswith("!! ") and "unreachable (could not connect to Snowflake nowhere" in line
    report = json.loads(as_json.stdout)
    assert report["healthy"] is False and report["surfaces"]["warehouse"]["reachable"] is False
    for output in (text.stdout, text.stderr, as_json.stdout, as_json.stderr):
        secrets.scan(output)
