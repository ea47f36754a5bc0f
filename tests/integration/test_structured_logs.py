"""``CODEX_LOG_FORMAT=json``: a real query and a real tail, in a fresh process, log JSON lines and no secret."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from secrets_sentinel import SecretsSentinel

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SECRET = "sentinel-Pa55-logs-7f3a"

#: A query on the embedded warehouse, a short sim:// tail, and one record that carries the secret on purpose
#: (what a careless log call would do): the handler, not the caller, must keep it out.
_SCRIPT = """
import logging, os, sys
import codex_jupyter
result = codex_jupyter.connect().query("select count(*) as n from branches")
handle = codex_jupyter.tail("sim://fleet?devices=4&rate=200&seed=3", max_records=300)
assert handle.wait(timeout=60)
logging.getLogger("codex_jupyter.check").warning("connecting with %s", os.environ["SNOWFLAKE_PASSWORD"])
print(result.df().n.iloc[0], handle.stats()["records"])
"""


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One demo warehouse for both runs (built by the first)."""
    return tmp_path_factory.mktemp("cache")


def _run(tmp_path: Path, cache: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("CODEX_LOG_")}
    base.update(
        PYTHONPATH=str(ROOT),
        CODEX_JUPYTER_CACHE_DIR=str(cache),
        SNOWFLAKE_PASSWORD=SECRET,
        CODEX_JUPYTER_KAFKA_SASL_PLAIN_PASSWORD=SECRET,
        **env,
    )
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT], cwd=tmp_path, env=base, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_json_logs_name_the_query_and_the_stream_and_hide_the_secret(tmp_path: Path, cache: Path) -> None:
    done = _run(tmp_path, cache, CODEX_LOG_FORMAT="json", CODEX_LOG_LEVEL="DEBUG")
    sentinel = SecretsSentinel()
    sentinel.add(SECRET)
    sentinel.scan(done.stderr, "stderr")
    sentinel.scan(done.stdout, "stdout")

    entries = [json.loads(line) for line in done.stderr.splitlines()]  # every line is one JSON object
    assert entries and all({"time", "level", "logger", "message"} <= e.keys() for e in entries)
    ran = [e for e in entries if e["message"] == "query ran"]
    assert len(ran) == 1 and ran[0]["query_id"].startswith("local-") and ran[0]["surface"] == "warehouse"
    started = [e for e in entries if e["message"] == "query started"]
    assert [e["query_id"] for e in started] == [ran[0]["query_id"]]  # the id ties a query's lines together

    tail = [e for e in entries if e["logger"] == "codex_jupyter.pipelines.tail"]
    assert {"tail running", "batch", "tail stopped"} <= {e["message"] for e in tail}
    assert all(e["stream"] == "sim://fleet" for e in tail)
    assert next(e for e in tail if e["message"] == "tail stopped")["records"] == 300

    careless = next(e for e in entries if e["logger"] == "codex_jupyter.check")
    assert careless["message"] == "connecting with ***"


def test_without_the_variable_the_package_logs_nothing_of_its_own(tmp_path: Path, cache: Path) -> None:
    done = _run(tmp_path, cache)
    assert "query ran" not in done.stderr and not done.stderr.lstrip().startswith("{")
    # the library left logging alone: Python's last-resort handler printed the warning as plain text
    assert done.stderr.strip().splitlines()[-1].startswith("connecting with ")
