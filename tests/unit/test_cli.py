"""The ``codex-jupyter`` command."""

from __future__ import annotations

import pytest

from codex_jupyter import cli


def test_demo_serves_the_curated_notebooks_with_voila_safely() -> None:
    root = cli.notebooks_dir()
    assert (root / "analytics.ipynb").is_file()
    cmd = cli.voila_command(root, 8866, "127.0.0.1", open_browser=False)
    assert cmd[1:3] == ["-m", "voila"] and "--port=8866" in cmd and "--Voila.ip=127.0.0.1" in cmd
    # jupysql's Lab plugin cannot load in Voila's older front end; idle kernels are culled.
    assert "--VoilaConfiguration.extension_denylist=jupysql-plugin" in cmd
    assert any(a.startswith("--MappingKernelManager.cull_idle_timeout=") for a in cmd)


def test_doctor_reports_the_embedded_warehouse(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "warehouse: embedded local DuckDB" in out and "duckdb" in out


def test_unknown_command_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as err:
        cli.main(["nope"])
    assert err.value.code == 2
