"""``codex_jupyter.logs``: JSON lines with context fields, readable text by default, secrets scrubbed either way."""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator

import pytest

from codex_jupyter import logs
from codex_jupyter.sources.streams import kafka_config
from codex_jupyter.sources.streams.base import stream_name

SECRET = "s3cret-sentinel-value"


@pytest.fixture
def package_logger() -> Iterator[logging.Logger]:
    """The ``codex_jupyter`` logger, put back as it was after the test."""
    logger = logging.getLogger(logs.PACKAGE_LOGGER)
    saved = (list(logger.handlers), logger.level, logger.propagate)
    yield logger
    logger.handlers[:], logger.level, logger.propagate = saved


def _emit(fmt: str, *args: object, monkeypatch: pytest.MonkeyPatch, **kwargs: object) -> str:
    monkeypatch.delenv(logs.LEVEL_ENV, raising=False)
    out = io.StringIO()
    logs.configure(fmt, stream=out)
    logging.getLogger("codex_jupyter.sources.warehouse.local").info(*args, **kwargs)  # type: ignore[arg-type]
    return out.getvalue()


def test_json_lines_carry_time_level_logger_message_and_the_extra_fields(
    package_logger: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = _emit("json", "query ran in %d ms", 12, extra={"query_id": "q-1", "rows": 3}, monkeypatch=monkeypatch)
    assert text.count("\n") == 1
    entry = json.loads(text)
    assert entry.pop("time").endswith("+00:00")
    assert entry == {
        "level": "INFO",
        "logger": "codex_jupyter.sources.warehouse.local",
        "message": "query ran in 12 ms",
        "query_id": "q-1",
        "rows": 3,
    }


def test_a_traceback_stays_on_the_one_json_line() -> None:
    try:
        raise ValueError("bad\nvalue")
    except ValueError:
        record = logging.getLogger("codex_jupyter.x").makeRecord(
            "codex_jupyter.x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info()
        )
    line = logs.JsonFormatter().format(record)
    assert "\n" not in line and "ValueError: bad\nvalue" in json.loads(line)["exception"]


def test_text_stays_readable_and_shows_the_context_in_brackets(
    package_logger: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(logs.LEVEL_ENV, "INFO")
    out = io.StringIO()
    logs.configure("text", stream=out)
    logging.getLogger("codex_jupyter.pipelines.tail").info("tail running", extra={"stream": "sim://fleet"})
    line = out.getvalue().strip()
    assert line.endswith("INFO codex_jupyter.pipelines.tail: tail running [stream=sim://fleet]")
    assert not line.startswith("{")


def test_secrets_from_the_environment_and_the_kafka_registry_are_scrubbed(
    package_logger: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SNOWFLAKE_PASSWORD", SECRET)
    monkeypatch.setattr(kafka_config._SCRUBBER, "secrets", {"kafka-scram-pass"})
    text = _emit(
        "json",
        "login with %s and %s",
        SECRET,
        "kafka-scram-pass",
        extra={"stream": f"kafka://u:{SECRET}@h/t"},
        monkeypatch=monkeypatch,
    )
    assert SECRET not in text and "kafka-scram-pass" not in text
    entry = json.loads(text)
    assert entry["message"] == "login with *** and ***" and entry["stream"] == "kafka://u:***@h/t"


def test_the_package_logger_alone_is_configured_and_only_once(
    package_logger: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    root_handlers = list(logging.getLogger().handlers)
    logs.configure("json")
    logs.configure("text")
    ours = [h for h in package_logger.handlers if isinstance(h.formatter, logs.JsonFormatter | logs.TextFormatter)]
    assert len(ours) == 1 and isinstance(ours[0].formatter, logs.TextFormatter)
    assert not package_logger.propagate and logging.getLogger().handlers == root_handlers


def test_configured_puts_the_logger_back(package_logger: logging.Logger) -> None:
    before = (list(package_logger.handlers), package_logger.level, package_logger.propagate)
    with logs.configured("json"):
        assert not package_logger.propagate
    assert (list(package_logger.handlers), package_logger.level, package_logger.propagate) == before


def test_without_the_variable_importing_leaves_logging_alone(
    package_logger: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(logs.FORMAT_ENV, raising=False)
    before = list(package_logger.handlers)
    logs.configure_from_environment()
    assert package_logger.handlers == before


def test_a_wrong_format_falls_back_to_text_and_says_what_to_fix(
    package_logger: logging.Logger, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(logs.FORMAT_ENV, "xml")
    logs.configure_from_environment()
    assert "CODEX_LOG_FORMAT='xml' is not a log format; use json or text" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("sim://fleet?devices=5&rate=10", "sim://fleet"),
        ("mqtt://alice:pa55word@broker:1883/plant/#", "mqtt://broker:1883/plant/#"),
        ("kafka://h:9092/telemetry?sasl.plain.password=x", "kafka://h:9092/telemetry"),
        ("kafka://h:notaport/t", "kafka://?"),
    ],
)
def test_stream_names_keep_no_credentials_or_options(url: str, name: str) -> None:
    assert stream_name(url) == name
