"""The one place codex-jupyter reads settings.

Settings follow each ecosystem's own conventions (Snowflake's
``connections.toml`` and ``SNOWFLAKE_*`` variables) plus a few
``CODEX_JUPYTER_*`` variables of our own. Nothing here imports a heavy client
library: deciding *whether* Snowflake is configured must stay cheap because it
runs on the first ``%%snowflake`` cell, and the Snowflake connector takes
seconds to import.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from codex_jupyter.errors import ConfigError
from codex_jupyter.extras import require

#: The connection name that always means the embedded local warehouse.
LOCAL_CONNECTION_NAME = "local"

#: ``SNOWFLAKE_*`` variables used when no ``connections.toml`` entry is chosen.
#: They map onto ``snowflake.connector.connect`` keyword arguments.
_SNOWFLAKE_ENV_KEYS = (
    "account",
    "user",
    "password",
    "role",
    "warehouse",
    "database",
    "schema",
    "authenticator",
    "private_key_file",
    "private_key_file_pwd",
    "token",
    "host",
    "port",
    "protocol",
)


def cache_dir() -> Path:
    """Where generated files (the demo warehouse) live.

    ``CODEX_JUPYTER_CACHE_DIR`` overrides the platform's user cache folder, so
    tests and read-only homes (Binder, CI) can point it elsewhere.
    """
    override = os.environ.get("CODEX_JUPYTER_CACHE_DIR")
    path = Path(override) if override else Path(platformdirs.user_cache_dir("codex-jupyter"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def reader_mode() -> bool:
    """Whether results should display for a dashboard's reader rather than for the notebook's author.

    ``CODEX_JUPYTER_READER=1`` (or ``0``) decides when set; otherwise reader mode
    is on under Voila, detected by the variables Voila sets for every kernel it
    starts, preheated or not (``VOILA_SERVER_URL``, ``VOILA_BASE_URL``).
    """
    forced = os.environ.get("CODEX_JUPYTER_READER", "").strip().lower()
    if forced:
        return forced in ("1", "true", "yes", "on")
    return bool(os.environ.get("VOILA_SERVER_URL") or os.environ.get("VOILA_BASE_URL"))


def user_database_path() -> Path:
    """The writable DuckDB file that ``connect().write(...)`` fills on the local warehouse.

    ``CODEX_JUPYTER_USER_DB`` overrides it; by default it sits in the cache
    folder next to the read-only demo file (so tests and Binder keep it in
    their scratch folder too).
    """
    override = os.environ.get("CODEX_JUPYTER_USER_DB")
    path = Path(override) if override else cache_dir() / "user_warehouse.duckdb"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def environment() -> Mapping[str, str]:
    """The process environment, for settings read by name (geocoding provider keys and URLs).

    Client modules go through this module rather than ``os.environ`` so every setting the
    package reads can be found here.
    """
    return os.environ


def prefixed(prefix: str) -> dict[str, str]:
    """Variables whose name starts with ``prefix``, keyed by the rest of the name.

    How client settings pass through: ``CODEX_JUPYTER_KAFKA_SASL_MECHANISM`` -> ``SASL_MECHANISM``
    for Kafka, ``CODEX_JUPYTER_MQTT_USERNAME`` -> ``USERNAME`` for MQTT.
    """
    return {name[len(prefix) :]: value for name, value in os.environ.items() if name.startswith(prefix)}


def osrm_url() -> str:
    """The OSRM server for road distances (``CODEX_JUPYTER_OSRM_URL``), or "" when none is configured."""
    return os.environ.get("CODEX_JUPYTER_OSRM_URL", "")


def _snowflake_config_dirs() -> list[Path]:
    """Folders where the Snowflake connector looks for its TOML files.

    Mirrors ``snowflake.connector.sf_dirs``: ``SNOWFLAKE_HOME`` (default
    ``~/.snowflake``) when it exists, otherwise the platform config folder.
    """
    home = Path(os.environ.get("SNOWFLAKE_HOME", "~/.snowflake/")).expanduser()
    if home.exists():
        return [home]
    return [Path(platformdirs.user_config_dir("snowflake", appauthor=False))]


def snowflake_may_be_configured() -> bool:
    """Cheap check: is there any Snowflake configuration at all?

    True when a ``connections.toml``/``config.toml`` exists where the connector
    looks, or a ``SNOWFLAKE_DEFAULT_CONNECTION_NAME``/``SNOWFLAKE_CONNECTIONS*``
    or ``SNOWFLAKE_ACCOUNT`` variable is set. Only then is the connector
    imported to resolve the details.
    """
    if any(k == "SNOWFLAKE_ACCOUNT" or k.startswith("SNOWFLAKE_CONNECTIONS") for k in os.environ):
        return True
    if os.environ.get("SNOWFLAKE_DEFAULT_CONNECTION_NAME"):
        return True
    return any((d / name).is_file() for d in _snowflake_config_dirs() for name in ("connections.toml", "config.toml"))


#: Connection keys whose values are secrets: never shown, whatever object holds them.
SECRET_KEYS = frozenset({"password", "token", "private_key", "private_key_file_pwd", "passcode", "oauth_client_secret"})


class ConnectionParams(dict):
    """Keyword arguments for the connector, as a dict whose ``repr`` masks the secret values.

    A user who types ``connect("prod").settings.params`` in a cell sees the
    keys and the harmless values, never a password, in the output or a log.
    """

    def __repr__(self) -> str:
        return repr({k: "********" if k.lower() in SECRET_KEYS else v for k, v in self.items()})

    __str__ = __repr__

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


@dataclass(frozen=True)
class SnowflakeSettings:
    """Resolved keyword arguments for ``snowflake.connector.connect``.

    ``repr`` hides every value but the account, warehouse, database and schema,
    so a settings object can never leak a password into a log or an output.
    """

    name: str
    params: dict[str, Any]

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", ConnectionParams(self.params))

    def __repr__(self) -> str:
        shown = {k: self.params[k] for k in ("account", "warehouse", "database", "schema") if k in self.params}
        return f"SnowflakeSettings(name={self.name!r}, {shown})"

    @property
    def label(self) -> str:
        """A short, secret-free description: which account and warehouse ran a query."""
        parts = [f"Snowflake {self.params.get('account', '?')}"]
        if self.params.get("warehouse"):
            parts.append(f"warehouse {self.params['warehouse']}")
        return ", ".join(parts) + f" (connection {self.name!r})"


class UnknownConnectionError(ConfigError, LookupError):
    """A connection name that is neither ``local`` nor in ``connections.toml``."""


def snowflake_connections() -> dict[str, dict[str, Any]]:
    """The connections the Snowflake connector knows, by its own resolution."""
    require("snowflake", "snowflake.connector.config_manager")
    from snowflake.connector.config_manager import CONFIG_MANAGER

    return {name: dict(params) for name, params in CONFIG_MANAGER["connections"].items()}


def _default_connection_name() -> str:
    from snowflake.connector.config_manager import CONFIG_MANAGER

    return str(CONFIG_MANAGER["default_connection_name"])


def _env_connection() -> dict[str, Any] | None:
    if not os.environ.get("SNOWFLAKE_ACCOUNT"):
        return None
    params: dict[str, Any] = {}
    for key in _SNOWFLAKE_ENV_KEYS:
        value = os.environ.get(f"SNOWFLAKE_{key.upper()}")
        if value:
            params[key] = int(value) if key == "port" else value
    return params


def resolve_connection(name: str | None = None) -> SnowflakeSettings | None:
    """Decide which warehouse a query goes to.

    Order: an explicit ``name`` (``"local"`` is the embedded warehouse, any
    other name must be in ``connections.toml``); then the connector's default
    connection (``SNOWFLAKE_DEFAULT_CONNECTION_NAME`` or ``default``); then
    ``SNOWFLAKE_ACCOUNT`` and friends; otherwise ``None``, which means the
    embedded local warehouse.
    """
    if name == LOCAL_CONNECTION_NAME:
        return None
    if name is not None:
        known = snowflake_connections()
        if name not in known:
            listed = ", ".join(sorted(known)) or "none"
            raise UnknownConnectionError(
                f"unknown connection {name!r} (known: {listed}, and {LOCAL_CONNECTION_NAME!r} for the "
                "embedded warehouse); add it to ~/.snowflake/connections.toml or fix the name"
            )
        return SnowflakeSettings(name, known[name])
    if not snowflake_may_be_configured():
        return None
    known = snowflake_connections()
    default = _default_connection_name()
    if default in known:
        return SnowflakeSettings(default, known[default])
    env = _env_connection()
    if env is not None:
        return SnowflakeSettings("environment", env)
    return None


#: ``TABLEAU_*`` variables a Connected App (direct trust) needs, by setting name.
_TABLEAU_ENV = {
    "server": "TABLEAU_SERVER",
    "site": "TABLEAU_SITE",
    "client_id": "TABLEAU_CLIENT_ID",
    "secret_id": "TABLEAU_SECRET_ID",
    "secret_value": "TABLEAU_SECRET_VALUE",
}


@dataclass(frozen=True)
class TableauSettings:
    """A Connected App (direct trust) on one Tableau site; ``repr`` never shows the secret value."""

    server: str
    site: str
    client_id: str
    secret_id: str
    secret_value: str

    def __repr__(self) -> str:
        return f"TableauSettings(server={self.server!r}, site={self.site!r}, client_id={self.client_id!r})"

    __str__ = __repr__


def tableau_may_be_configured() -> bool:
    """Cheap check: is any ``TABLEAU_*`` Connected App variable set? (Only then is a missing one an error.)"""
    return any(os.environ.get(name) for name in _TABLEAU_ENV.values())


def tableau_settings() -> TableauSettings:
    """The Connected App from the ``TABLEAU_*`` variables, or a :class:`ConfigError` naming every missing one.

    ``TABLEAU_SITE`` may be set to an empty string: that is the Default site of Tableau Server.
    """
    values = {key: os.environ.get(name) for key, name in _TABLEAU_ENV.items()}
    missing = [_TABLEAU_ENV[k] for k, v in values.items() if v is None or (not v and k != "site")]
    if missing:
        raise ConfigError(
            f"Tableau is not configured: set {', '.join(missing)} (a Connected App with direct trust on your site)"
        )
    settings = {k: str(v) for k, v in values.items()}
    settings["server"] = settings["server"].rstrip("/")
    return TableauSettings(**settings)


def looker_ini() -> tuple[str, str | None]:
    """Which ``looker.ini`` file and section looker-sdk reads (``CODEX_JUPYTER_LOOKER_INI`` / ``_SECTION``).

    The defaults are looker-sdk's own: ``looker.ini`` in the working folder, its first section;
    ``LOOKERSDK_*`` variables override whatever the file says (looker-sdk applies them).
    """
    return os.environ.get("CODEX_JUPYTER_LOOKER_INI", "looker.ini"), os.environ.get("CODEX_JUPYTER_LOOKER_SECTION")


def looker_may_be_configured() -> bool:
    """Cheap check: a ``LOOKERSDK_BASE_URL`` variable or a ``looker.ini`` file (before importing looker-sdk)."""
    return bool(os.environ.get("LOOKERSDK_BASE_URL")) or Path(looker_ini()[0]).is_file()
