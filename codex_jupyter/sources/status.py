"""Which surfaces are configured (read from configuration only), and whether a configured one answers.

No secret is ever shown; only :func:`reachability` contacts anything.

What ``GET /codex/api/health`` and ``codex-jupyter doctor`` show:
for each surface, a ``state`` (``configured``; ``embedded`` when the offline
default serves; ``available`` when a stream client is installed with its
default settings; ``missing-extra``; ``error`` when its configuration cannot
be used) and a one-line ``detail``; the warehouse also lists the connection names a cell may pass to
``-c`` (names only). Details name connections, accounts and providers, never
a password, key or token; an error from a client library (whose message may
quote a configuration file) is shown by its type only.
"""

from __future__ import annotations

import os
from typing import Any

from codex_jupyter import config
from codex_jupyter.errors import CodexError
from codex_jupyter.extras import EXTRAS, installed


def surfaces() -> dict[str, dict[str, Any]]:
    """The state of each surface, by name (warehouse, geocoding, routing, kafka, mqtt, kinesis, tableau, looker)."""
    return {
        "warehouse": _guarded("warehouse", _warehouse),
        "geocoding": _guarded("geocoding", _geocoding),
        "routing": _routing(),
        "kafka": _stream("kafka", "CODEX_JUPYTER_KAFKA_"),
        "mqtt": _stream("mqtt", "CODEX_JUPYTER_MQTT_"),
        "kinesis": _guarded("kinesis", _kinesis),
        "tableau": _guarded("tableau", _tableau),
        "looker": _guarded("looker", _looker),
    }


def extras() -> dict[str, bool]:
    """Each optional install and whether it is there."""
    return {name: installed(name) for name in EXTRAS}


def _guarded(name: str, read: Any) -> dict[str, Any]:
    try:
        return read()
    except CodexError as exc:  # our messages are one line and secret-free
        return {"state": "error", "detail": str(exc)}
    except Exception as exc:  # a client library's message may quote its configuration: type only
        return {"state": "error", "detail": f"the {name} configuration could not be read ({type(exc).__name__})"}


def _warehouse() -> dict[str, Any]:
    settings = config.resolve_connection()  # None unless Snowflake is configured: the embedded warehouse
    names = _connection_names()
    if settings is None:
        detail = "embedded local DuckDB warehouse (demo dataset)"
        return {"state": "embedded", "backend": "local", "connections": names, "detail": detail}
    return {
        "state": "configured",
        "backend": "snowflake",
        "connection": settings.name,
        "connections": names,
        "detail": settings.label,
    }


def _connection_names() -> list[str]:
    """The names ``%%snowflake -c NAME`` takes: ``local``, then those of ``connections.toml`` (names only)."""
    if not (config.snowflake_may_be_configured() and installed("snowflake")):
        return [config.LOCAL_CONNECTION_NAME]
    return [config.LOCAL_CONNECTION_NAME, *sorted(config.snowflake_connections())]


def _geocoding() -> dict[str, Any]:
    from codex_jupyter.sources.geo.providers import specs_from_environment

    names = [spec.name for spec in specs_from_environment()]
    online = [n for n in names if n != "offline"]
    state = "configured" if online else "embedded"
    return {"state": state, "providers": names, "detail": "providers in order: " + ", ".join(names)}


def _routing() -> dict[str, Any]:
    if config.osrm_url():
        return {"state": "configured", "detail": "road distances from the OSRM server in CODEX_JUPYTER_OSRM_URL"}
    return {"state": "embedded", "detail": "great-circle distances (set CODEX_JUPYTER_OSRM_URL for road distances)"}


def _stream(extra: str, prefix: str) -> dict[str, Any]:
    if not installed(extra):
        return {"state": "missing-extra", "detail": f"needs the [{extra}] extra: pip install 'codex-jupyter[{extra}]'"}
    if config.prefixed(prefix):
        return {"state": "configured", "detail": f"{extra}:// streams with settings from {prefix}* variables"}
    return {"state": "available", "detail": f"{extra}:// streams with the client's default settings"}


def _kinesis() -> dict[str, Any]:
    """Configured when AWS credentials and a region are found the way boto3 looks for them, without contacting AWS.

    Any ``AWS_*`` variable alone is not enough (``AWS_PAGER`` configures the
    CLI, not access); credentials from an EC2 or container role are not looked
    for, since that means asking a metadata server.
    """
    if not installed("kinesis"):
        return {"state": "missing-extra", "detail": "needs the [kinesis] extra: pip install 'codex-jupyter[kinesis]'"}
    import botocore.session

    session = botocore.session.Session()
    profile = session.get_config_variable("profile") or "default"
    # the profiles of the shared credentials and config files, as botocore reads them
    has_keys = bool(os.environ.get("AWS_ACCESS_KEY_ID")) or profile in session.available_profiles
    region = session.get_config_variable("region")
    if has_keys and region:
        return {
            "state": "configured",
            "detail": f"kinesis:// streams with AWS credentials (profile {profile}) in {region}",
        }
    missing = " and ".join(
        what for what, found in (("credentials", has_keys), ("a region (AWS_DEFAULT_REGION)", region)) if not found
    )
    return {"state": "available", "detail": f"kinesis:// streams need {missing}; a URL may give ?region=..."}


def _tableau() -> dict[str, Any]:
    if not installed("bi"):
        return {"state": "missing-extra", "detail": "needs the [bi] extra: pip install 'codex-jupyter[bi]'"}
    if not config.tableau_may_be_configured():
        detail = "set TABLEAU_SERVER, TABLEAU_SITE, TABLEAU_CLIENT_ID, TABLEAU_SECRET_ID, TABLEAU_SECRET_VALUE"
        return {"state": "available", "detail": f"%tableau_embed: {detail} (a Connected App)"}
    settings = config.tableau_settings()  # a ConfigError names what is missing
    site = settings.site or "Default"
    return {"state": "configured", "server": settings.server, "detail": f"{settings.server}, site {site}"}


def _looker() -> dict[str, Any]:
    if not installed("bi"):
        return {"state": "missing-extra", "detail": "needs the [bi] extra: pip install 'codex-jupyter[bi]'"}
    if not config.looker_may_be_configured():
        detail = "set LOOKERSDK_BASE_URL, LOOKERSDK_CLIENT_ID, LOOKERSDK_CLIENT_SECRET (or a looker.ini)"
        return {"state": "available", "detail": f"%looker: {detail}"}
    ini, section = config.looker_ini()
    source = "LOOKERSDK_* variables" if os.environ.get("LOOKERSDK_BASE_URL") else f"{ini} [{section or 'first'}]"
    return {"state": "configured", "detail": f"looker-sdk settings from {source}"}


def reachability(surface: str, state: dict[str, Any]) -> str | None:
    """Contact a configured surface that has one address: ``None`` when it answers, else why not (one line).

    The warehouse (``select 1`` on the configured Snowflake connection), an
    OSRM server, Tableau (its REST ``serverinfo``, which needs no sign-in) and
    Looker (a sign-in with the configured client) have one; streams are
    addressed per URL, and web geocoders are not called for a check (they
    count requests against a quota). A server that reports its version adds
    ``server_version`` to ``state``.
    """
    if state.get("state") != "configured":
        return None
    try:
        if surface == "warehouse":
            from codex_jupyter.sources.warehouse import connect

            connect(state.get("connection")).query("select 1")
        elif surface == "routing":
            from codex_jupyter.sources.geo.osrm import table_km

            table_km([51.5, 51.6], [-0.1, -0.1], timeout=5.0)
        elif surface == "tableau":
            state["server_version"] = _tableau_version(state["server"])
        elif surface == "looker":
            from codex_jupyter.sources.bi import looker

            looker.me()
    except CodexError as exc:
        return " ".join(str(exc).split())
    return None


#: Tableau's REST API version that ``serverinfo`` is asked under (Tableau Server 2020.4 and later, Tableau Cloud).
_TABLEAU_API = "3.10"


def _tableau_version(server: str) -> str:
    """Tableau's product version from ``GET /api/{version}/serverinfo`` (no sign-in needed)."""
    import requests

    from codex_jupyter.errors import ServiceUnavailable

    url = f"{server}/api/{_TABLEAU_API}/serverinfo"
    try:
        answer = requests.get(url, headers={"Accept": "application/json"}, timeout=10)
        answer.raise_for_status()
        product = answer.json()["serverInfo"]["productVersion"]
    except requests.RequestException as exc:
        raise ServiceUnavailable(f"Tableau at {server} did not answer ({type(exc).__name__})") from None
    except (ValueError, KeyError, TypeError):
        raise ServiceUnavailable(f"{url} did not answer like Tableau's REST API (no serverInfo)") from None
    return str(product.get("value") or product.get("build")) if isinstance(product, dict) else str(product)
