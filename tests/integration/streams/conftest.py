"""Fixtures that run real brokers for the stream tests (see ``stream_brokers``).

Each broker is started once per session on 127.0.0.1 and stopped by its PID at the end, also when a
test fails. Tests that stop a broker (fault tests) start it again before they finish.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from stream_brokers import KafkaBroker, Mosquitto, MotoServer, kafka_jars


def _running(server: KafkaBroker | Mosquitto | MotoServer) -> Iterator:
    """Start ``server``, hand it to the tests, stop it by PID afterwards, also when a test failed."""
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    """A real Kafka 4.x broker; ``kafka.stop()`` / ``kafka.start()`` restart it on the same data."""
    yield from _running(KafkaBroker(tmp_path_factory.mktemp("kafka"), kafka_jars()))


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    yield from _running(Mosquitto(tmp_path_factory.mktemp("mosquitto")))


@pytest.fixture(scope="session")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    yield from _running(MotoServer(tmp_path_factory.mktemp("moto")))


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dummy credentials for boto3's standard chain (moto accepts any)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
