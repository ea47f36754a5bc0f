"""What ``doctor`` and ``/codex/api/health`` say about a surface, read from configuration only."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from codex_jupyter.sources.status import surfaces

SECRET = "wJalrXUtnFEMI-sentinel-K7MDENG"


@pytest.fixture
def no_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No AWS variable, and shared files in an empty folder: what a machine without AWS set up has."""
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    return tmp_path


def test_kinesis_is_not_configured_by_an_unrelated_aws_variable(no_aws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PAGER", "")
    state = surfaces()["kinesis"]
    assert state["state"] == "available"
    assert "credentials and a region" in state["detail"]


def test_kinesis_is_configured_by_keys_and_a_region_and_never_shows_the_key(
    no_aws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIASENTINEL")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    assert surfaces()["kinesis"]["state"] == "available"  # no region yet
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    state = surfaces()["kinesis"]
    assert state["state"] == "configured" and "eu-west-1" in state["detail"]
    assert SECRET not in str(state) and "AKIASENTINEL" not in str(state)


def test_kinesis_reads_a_profile_from_the_shared_files(no_aws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (no_aws / "credentials").write_text(f"[ops]\naws_access_key_id = AKIASENTINEL\naws_secret_access_key = {SECRET}\n")
    (no_aws / "config").write_text("[profile ops]\nregion = us-east-2\n")
    assert surfaces()["kinesis"]["state"] == "available"  # the default profile is not there
    monkeypatch.setenv("AWS_PROFILE", "ops")
    state = surfaces()["kinesis"]
    assert state["state"] == "configured" and "profile ops" in state["detail"] and "us-east-2" in state["detail"]
    assert SECRET not in str(state)
