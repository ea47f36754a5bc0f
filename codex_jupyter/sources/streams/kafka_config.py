"""Kafka client settings under Kafka's own property names, from keyword settings and the environment.

Users know ``security.protocol``, ``sasl.mechanism``, ``sasl.plain.username`` from every other Kafka
tool; kafka-python spells them ``security_protocol`` ... . Both spellings are accepted here, as keyword
settings or as ``CODEX_JUPYTER_KAFKA_<PROPERTY>`` variables (``CODEX_JUPYTER_KAFKA_SASL_PLAIN_PASSWORD``),
so credentials stay out of URLs and notebooks. Keyword settings win over the environment.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from codex_jupyter import config
from codex_jupyter.sources.streams.base import StreamConfigError

ENV_PREFIX = "CODEX_JUPYTER_KAFKA_"

#: librdkafka / confluent-kafka names that people carry over, mapped to kafka-python's.
_ALIASES = {
    "sasl_username": "sasl_plain_username",
    "sasl_password": "sasl_plain_password",
    "ssl_ca_location": "ssl_cafile",
    "ssl_certificate_location": "ssl_certfile",
    "ssl_key_location": "ssl_keyfile",
    "ssl_key_password": "ssl_password",
}

#: Java-client properties that have no kafka-python equivalent, with what to use instead.
_UNSUPPORTED = {
    "sasl_jaas_config": "give sasl.mechanism with sasl.plain.username and sasl.plain.password instead",
    "ssl_truststore_location": "give ssl.cafile (a PEM file) instead of a Java truststore",
    "ssl_keystore_location": "give ssl.certfile and ssl.keyfile (PEM files) instead of a Java keystore",
}


def _kwarg(name: str) -> str:
    key = name.strip().lower().replace(".", "_").replace("-", "_")
    return _ALIASES.get(key, key)


def is_secret(kwarg: str) -> bool:
    return any(word in kwarg for word in ("password", "secret", "token"))


def _coerce(kwarg: str, value: Any, default: Any) -> Any:
    """Strings from the environment become the type kafka-python expects for that setting."""
    if not isinstance(value, str) or isinstance(default, str) or default is None:
        return value
    try:
        if isinstance(default, bool):
            return value.strip().lower() in ("1", "true", "yes", "on")
        if isinstance(default, int):
            return int(value)
        if isinstance(default, float):
            return float(value)
    except ValueError:
        shown = "***" if is_secret(kwarg) else repr(value)
        raise StreamConfigError(f"Kafka setting {kwarg} = {shown} is not a {type(default).__name__}") from None
    return value


def client_settings(
    settings: Mapping[str, Any], defaults: Mapping[str, Any], *, known: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """kafka-python keyword arguments for one client (``defaults`` is its ``DEFAULT_CONFIG``).

    ``known`` holds every setting any client takes: a setting only the producer knows (``acks``) is
    skipped for a consumer, but one that no client knows is an error naming it.
    """
    merged: dict[str, Any] = {}
    for name, value in config.prefixed(ENV_PREFIX).items():
        merged[_kwarg(name)] = value
    for name, value in settings.items():
        merged[_kwarg(name)] = value
    known = known if known is not None else defaults
    out: dict[str, Any] = {}
    for kwarg, value in merged.items():
        if kwarg in _UNSUPPORTED:
            raise StreamConfigError(f"Kafka setting {kwarg.replace('_', '.')} is not supported: {_UNSUPPORTED[kwarg]}")
        if kwarg not in known and kwarg not in defaults:
            raise StreamConfigError(
                f"unknown Kafka setting {kwarg.replace('_', '.')!r}; use Kafka property names such as "
                "security.protocol, sasl.mechanism, sasl.plain.username, ssl.cafile"
            )
        if kwarg in defaults:
            out[kwarg] = _coerce(kwarg, value, defaults[kwarg])
    return out


def secret_values(kwargs: Mapping[str, Any]) -> list[str]:
    """The values to scrub from any message built from a client error."""
    return [str(v) for k, v in kwargs.items() if is_secret(k) and isinstance(v, str) and v]


def describe(kwargs: Mapping[str, Any]) -> str:
    """Settings for a repr: names and harmless values, secrets masked."""
    return ", ".join(f"{k}={'***' if is_secret(k) else v!r}" for k, v in sorted(kwargs.items()))


class _ScrubSecrets(logging.Filter):
    """Replaces known secret values in log records of kafka-python's loggers.

    kafka-python logs the bytes it sends at DEBUG (a SASL PLAIN login carries the password in
    clear) and ``KafkaAdminClient`` its whole configuration; a notebook that turns on DEBUG logging
    must still not show a password. Records below a logger's level are never made, so this costs
    nothing unless someone logs at that level.
    """

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def _scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***").replace(repr(secret.encode())[2:-1], "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self._scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        if record.exc_info and record.exc_info[1] is not None:
            trace = logging.Formatter().formatException(record.exc_info)
            if self._scrub(trace) != trace:
                record.exc_info, record.exc_text = None, self._scrub(trace)
        return True


_SCRUBBER = _ScrubSecrets()


def guard_logs(secrets: list[str]) -> None:
    """Keep ``secrets`` out of every kafka-python log record from now on.

    A logger's filter sees only that logger's own records, so the filter goes on each ``kafka.*``
    logger that exists now (they are made when kafka-python's modules are imported).
    """
    _SCRUBBER.secrets.update(s for s in secrets if s)
    for name in list(logging.root.manager.loggerDict):
        if name == "kafka" or name.startswith("kafka."):
            logger = logging.getLogger(name)
            if _SCRUBBER not in logger.filters:
                logger.addFilter(_SCRUBBER)
