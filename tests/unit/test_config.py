"""Which warehouse a query goes to, resolved like the Snowflake connector does."""

from __future__ import annotations

import os

import pytest
from secrets_sentinel import SecretsSentinel

from codex_jupyter import config

SECRET = os.environ["CODEX_JUPYTER_TEST_SECRET"]  # the password in the test connections.toml


@pytest.fixture(autouse=True)
def _secrets_stay_secret(secrets: SecretsSentinel) -> None:
    """No log or output of resolving a connection shows the Snowflake password."""
    for value in (SECRET,):
        secrets.add(value)


def test_no_default_connection_means_the_embedded_warehouse() -> None:
    assert config.resolve_connection() is None
    assert config.resolve_connection("local") is None


def test_named_connection_comes_from_connections_toml_and_hides_its_password() -> None:
    settings = config.resolve_connection("fake")
    assert settings is not None and settings.params["account"] == "fakesnow"
    assert SECRET not in repr(settings) and SECRET not in settings.label
    assert "fakesnow" in settings.label


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(config.UnknownConnectionError, match=r"unknown connection 'prod' \(known: fake, and 'local'"):
        config.resolve_connection("prod")


def test_default_connection_name_variable_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SNOWFLAKE_DEFAULT_CONNECTION_NAME", "fake")
    settings = config.resolve_connection()
    assert settings is not None and settings.name == "fake"


def test_snowflake_variables_make_a_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SNOWFLAKE_ACCOUNT", "xy12345.eu-west-1")
    monkeypatch.setenv("SNOWFLAKE_USER", "ANALYST")
    monkeypatch.setenv("SNOWFLAKE_PASSWORD", SECRET)
    monkeypatch.setenv("SNOWFLAKE_WAREHOUSE", "REPORTING")
    settings = config.resolve_connection()
    assert settings is not None and settings.name == "environment"
    assert settings.params["password"] == SECRET
    # shown in a cell (repr, IPython's pretty printer, str), the secret is masked
    from IPython.lib.pretty import pretty

    for shown in (repr(settings.params), pretty(settings.params), str(settings.params)):
        assert SECRET not in shown and "xy12345" in shown
    assert settings.label == "Snowflake xy12345.eu-west-1, warehouse REPORTING (connection 'environment')"
    assert SECRET not in repr(settings)


def test_no_snowflake_files_or_variables_is_cheap_and_local(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("SNOWFLAKE_HOME", str(tmp_path))
    monkeypatch.setattr(config.platformdirs, "user_config_dir", lambda *a, **k: str(tmp_path / "none"))
    assert not config.snowflake_may_be_configured()
    assert config.resolve_connection() is None


def test_cache_dir_override(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("CODEX_JUPYTER_CACHE_DIR", str(tmp_path / "c"))
    assert config.cache_dir() == tmp_path / "c" and (tmp_path / "c").is_dir()


def test_reader_mode_is_on_under_voila_and_can_be_forced(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("VOILA_SERVER_URL", "VOILA_BASE_URL", "CODEX_JUPYTER_READER"):
        monkeypatch.delenv(name, raising=False)
    assert not config.reader_mode()
    monkeypatch.setenv("VOILA_BASE_URL", "/")  # Voila sets it for every kernel, preheated or not
    assert config.reader_mode()
    monkeypatch.setenv("CODEX_JUPYTER_READER", "0")
    assert not config.reader_mode()
    monkeypatch.delenv("VOILA_BASE_URL")
    monkeypatch.setenv("CODEX_JUPYTER_READER", "1")
    assert config.reader_mode()
