"""Log output for the ``codex_jupyter`` loggers: one JSON object per line with ``CODEX_LOG_FORMAT=json``.

A library must not configure the root logger, so this touches only the ``codex_jupyter`` logger, and only when
asked: on import of the package when ``CODEX_LOG_FORMAT`` is set (so a kernel, a Voila or Jupyter server, or a
script started with it writes structured logs with no code), and when the ``codex-jupyter`` command runs. Without
the variable, a notebook's logging is the user's own, as before.

Each JSON line holds ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, ``exception`` when there is one,
and the context a log call passes with ``extra=`` (``query_id``, ``stream``, ``surface``, counts ...). The text
format is the same record for people: ``time level logger: message [key=value ...]``.

Whatever the format, the handler scrubs secrets before anything is written: the values of environment variables
whose names say they are secret (``SNOWFLAKE_PASSWORD``, ``CODEX_JUPYTER_KAFKA_SASL_PLAIN_PASSWORD``,
``AWS_SECRET_ACCESS_KEY``, ``..._API_KEY`` ...) and every secret the Kafka and geocoding clients registered with
their own log filters (``kafka_config.guard_logs``, ``providers.protect_secrets``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import sys
from collections.abc import Iterator
from typing import Any, TextIO

#: ``json`` or ``text``; unset means the package leaves logging alone (outside the CLI).
FORMAT_ENV = "CODEX_LOG_FORMAT"
#: A level name (``DEBUG``, ``INFO`` ...); default INFO for JSON, WARNING for text.
LEVEL_ENV = "CODEX_LOG_LEVEL"
FORMATS = ("json", "text")
PACKAGE_LOGGER = "codex_jupyter"

#: Parts of an environment variable's name that make its value a secret to scrub.
_SECRET_NAMES = ("PASSWORD", "PASSWD", "SECRET", "TOKEN", "API_KEY", "PRIVATE_KEY", "ACCESS_KEY", "_PWD", "CREDENTIAL")
#: Shorter values would blank out ordinary words.
_MIN_SECRET = 6
#: Attributes every record has; anything else on a record came from ``extra=``.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime", "taskName"}
#: The registries of secrets other modules scrub from their clients' loggers: (module, attribute of its filter).
_REGISTRIES = (
    ("codex_jupyter.sources.streams.kafka_config", "_SCRUBBER"),
    ("codex_jupyter.sources.geo.providers", "_REDACTOR"),
)


def context(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a log call added with ``extra=``, in the order it gave them."""
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (newlines inside values are escaped by JSON)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update((k, v) for k, v in context(record).items() if k not in entry)
        if record.exc_info:
            record.exc_text = record.exc_text or self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``time level logger: message [key=value ...]`` for people reading a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = context(record)
        if not fields:
            return text
        first, _, rest = text.partition("\n")
        tail = " ".join(f"{k}={v}" for k, v in fields.items())
        return f"{first} [{tail}]" + (f"\n{rest}" if rest else "")


def known_secrets() -> set[str]:
    """Secret values to scrub now: secret-named environment variables and the clients' registered secrets."""
    found = {
        value
        for name, value in os.environ.items()
        if len(value) >= _MIN_SECRET and any(part in name.upper() for part in _SECRET_NAMES)
    }
    for module_name, attribute in _REGISTRIES:
        module = sys.modules.get(module_name)  # not imported: it registered nothing
        if module is not None:
            found.update(s for s in getattr(module, attribute).secrets if len(s) >= _MIN_SECRET)
    return found


def scrub(text: str, secrets: set[str]) -> str:
    """``text`` with each secret (longest first, so a secret inside another goes too) replaced by ``***``."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


class ScrubSecrets(logging.Filter):
    """Rewrites a record's message, traceback and ``extra=`` text without any known secret (see the module doc)."""

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = known_secrets()
        if not secrets:
            return True
        record.msg, record.args = scrub(record.getMessage(), secrets), None
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = scrub(record.exc_text, secrets)
        for key, value in context(record).items():
            if isinstance(value, str):
                setattr(record, key, scrub(value, secrets))
        return True


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """Our handler, told apart from anyone else's so configuring twice replaces it."""


def configure(fmt: str | None = None, stream: TextIO | None = None, level: int | None = None) -> logging.Handler:
    """Send the ``codex_jupyter`` loggers to ``stream`` (stderr) in ``fmt`` (``CODEX_LOG_FORMAT``, else text).

    The package logger stops propagating, so a record is written once, here, even when the root logger has
    handlers of its own (Jupyter's, a notebook's ``basicConfig``). Calling it again replaces the handler.
    """
    fmt = (fmt or os.environ.get(FORMAT_ENV) or "text").strip().lower()
    if fmt not in FORMATS:
        from codex_jupyter.errors import ConfigError

        raise ConfigError(f"{FORMAT_ENV}={fmt!r} is not a log format; use json or text")
    logger = logging.getLogger(PACKAGE_LOGGER)
    for old in [h for h in logger.handlers if isinstance(h, _Handler)]:
        logger.removeHandler(old)
    handler = _Handler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(ScrubSecrets())
    logger.addHandler(handler)
    logger.setLevel(level if level is not None else _level(fmt))
    logger.propagate = False
    return handler


@contextlib.contextmanager
def configured(fmt: str | None = None) -> Iterator[logging.Handler]:
    """:func:`configure` for the length of a block (a CLI command), then the package logger as it was."""
    logger = logging.getLogger(PACKAGE_LOGGER)
    saved = (list(logger.handlers), logger.level, logger.propagate)
    try:
        yield configure(fmt)
    finally:
        logger.handlers[:], logger.level, logger.propagate = saved


def _level(fmt: str) -> int:
    name = os.environ.get(LEVEL_ENV, "").strip().upper()
    level = logging.getLevelName(name) if name else (logging.INFO if fmt == "json" else logging.WARNING)
    if not isinstance(level, int):
        from codex_jupyter.errors import ConfigError

        raise ConfigError(f"{LEVEL_ENV}={name!r} is not a log level; use DEBUG, INFO, WARNING or ERROR")
    return level


def configure_from_environment() -> None:
    """On import of the package: configure only when ``CODEX_LOG_FORMAT`` asks for it.

    A value that is not a format or level must not make ``import codex_jupyter`` fail in a kernel: the logs
    fall back to text at WARNING and say what to fix.
    """
    if not os.environ.get(FORMAT_ENV):
        return
    from codex_jupyter.errors import ConfigError

    try:
        configure()
    except ConfigError as exc:
        configure("text", level=logging.WARNING)
        logging.getLogger(PACKAGE_LOGGER).warning("%s", exc)
