"""``codex-jupyter doctor`` on the BI surfaces: Tableau's REST ``serverinfo`` and a Looker sign-in, over real HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest
from local_http import LocalServer
from looker_stand_in import CLIENT_ID, LookerStandIn

pytestmark = pytest.mark.integration

LOOKER_SECRET = "looker-doctor-secret-never-shown"
TABLEAU_SECRET = "tableau-doctor-secret-value-never-shown"


class _TableauInfo(BaseHTTPRequestHandler):
    """Tableau's REST ``GET /api/<version>/serverinfo``: answered without a sign-in, as the real server does."""

    def do_GET(self) -> None:
        if not self.path.endswith("/serverinfo"):
            self.send_error(404)
            return
        body = json.dumps({"serverInfo": {"productVersion": {"value": "2025.1.3", "build": "20251.25.0512"}}})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def bi_env(secrets: object, tmp_path: object) -> Iterator[dict[str, str]]:
    """Both BI services configured against stand-ins on 127.0.0.1; every other surface left as the machine has it."""
    secrets.add(LOOKER_SECRET)
    secrets.add(TABLEAU_SECRET)
    looker, tableau = LookerStandIn(LOOKER_SECRET), LocalServer(_TableauInfo, None, quiet=True)
    env = {
        **os.environ,
        "LOOKERSDK_BASE_URL": looker.url,
        "LOOKERSDK_CLIENT_ID": CLIENT_ID,
        "LOOKERSDK_CLIENT_SECRET": LOOKER_SECRET,
        "LOOKERSDK_VERIFY_SSL": "false",
        "TABLEAU_SERVER": tableau.url,
        "TABLEAU_SITE": "finance",
        "TABLEAU_CLIENT_ID": "client-id",
        "TABLEAU_SECRET_ID": "secret-id",
        "TABLEAU_SECRET_VALUE": TABLEAU_SECRET,
    }
    yield env
    looker.stop()
    tableau.stop()


def _doctor(env: dict[str, str], cwd: object) -> tuple[subprocess.CompletedProcess, subprocess.CompletedProcess]:
    run = [sys.executable, "-m", "codex_jupyter.cli", "doctor"]
    text = subprocess.run(run, capture_output=True, text=True, env=env, cwd=cwd, timeout=180)
    as_json = subprocess.run([*run, "--json"], capture_output=True, text=True, env=env, cwd=cwd, timeout=180)
    return text, as_json


def test_doctor_reaches_tableau_and_looker_and_shows_tableaus_version(
    bi_env: dict[str, str], secrets: object, tmp_path: object
) -> None:
    text, as_json = _doctor(bi_env, tmp_path)
    assert text.returncode == 0, text.stdout + text.stderr
    tableau = next(line for line in text.stdout.splitlines() if " tableau " in line)
    assert tableau.startswith("ok ") and "site finance" in tableau and "(server 2025.1.3)" in tableau
    looker = next(line for line in text.stdout.splitlines() if " looker " in line)
    assert looker.startswith("ok ") and "configured" in looker
    report = json.loads(as_json.stdout)["surfaces"]
    assert report["tableau"]["reachable"] and report["looker"]["reachable"]
    for output in (text.stdout, text.stderr, as_json.stdout, as_json.stderr):
        secrets.scan(output)


def test_a_wrong_looker_secret_and_a_half_configured_tableau_fail_doctor_in_one_line_each(
    bi_env: dict[str, str], secrets: object, tmp_path: object
) -> None:
    wrong = "wrong-looker-secret-never-shown"
    secrets.add(wrong)
    env = {**bi_env, "LOOKERSDK_CLIENT_SECRET": wrong}
    del env["TABLEAU_SECRET_VALUE"]
    text, as_json = _doctor(env, tmp_path)
    assert text.returncode == 1 and as_json.returncode == 1
    tableau = next(line for line in text.stdout.splitlines() if " tableau " in line)
    assert tableau.startswith("!! ") and "error" in tableau and "TABLEAU_SECRET_VALUE" in tableau
    looker = next(line for line in text.stdout.splitlines() if " looker " in line)
    assert looker.startswith("!! ") and "unreachable" in looker
    assert json.loads(as_json.stdout)["surfaces"]["looker"]["reachable"] is False
    for output in (text.stdout, text.stderr, as_json.stdout, as_json.stderr):
        secrets.scan(output)
