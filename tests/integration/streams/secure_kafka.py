"""A second test Kafka broker with security on: SASL_SSL (SCRAM-SHA-512, PLAIN) and SSL with client certificates (mTLS).

Everything is made at test time, in the broker's folder: a self-signed CA, the broker's certificate
for 127.0.0.1/localhost, a client certificate signed by the same CA (its key encrypted with a
passphrase), and an unrelated CA that a client can be given to see verification fail. openssl writes
PEM files, which kafka-python reads as they are and Kafka 4 reads as ``ssl.keystore.type=PEM``, so no
Java keystore is needed. The SCRAM user is written into the metadata log when the storage is
formatted (``--add-scram``), so the broker knows it from its first start.

The broker also has a PLAINTEXT listener, used only by the test setup (topic creation, the readiness
check) and between broker and controller. It is a separate process from the plain ``kafka`` fixture,
started only by the tests that need it, so the plain tests do not pay for the TLS setup.
"""

from __future__ import annotations

import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path

from stream_brokers import KafkaBroker, _Process, free_port, write_log_config

SCRAM_USER = "alice"


def _openssl(folder: Path, *args: str) -> None:
    result = subprocess.run(["openssl", *args], cwd=folder, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {result.stderr[-1000:]}")


@dataclass(frozen=True)
class TlsFiles:
    """PEM files for one test run; ``key_password`` unlocks ``client_key``."""

    ca: Path
    other_ca: Path
    broker: Path  # the broker's private key followed by its certificate, for ssl.keystore.type=PEM
    client_cert: Path
    client_key: Path
    key_password: str


def _new_ca(folder: Path, name: str) -> Path:
    _openssl(
        folder,
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2", "-subj", f"/CN=codex-jupyter test {name}",
    )  # fmt: skip
    return folder / f"{name}.pem"


def _signed(folder: Path, name: str, ca: str, subject: str, extensions: str) -> None:
    """``name.key`` (unencrypted PKCS#8) and ``name.crt``, signed by ``ca``."""
    (folder / f"{name}.ext").write_text(extensions + "\n")
    _openssl(
        folder,
        "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject,
    )  # fmt: skip
    _openssl(
        folder,
        "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key", "-CAcreateserial",
        "-out", f"{name}.crt", "-days", "2", "-extfile", f"{name}.ext",
    )  # fmt: skip


def make_tls_files(folder: Path) -> TlsFiles:
    """A CA, a broker and a client certificate signed by it, and an unrelated CA (EC keys: fast to make)."""
    folder.mkdir(parents=True, exist_ok=True)
    ca = _new_ca(folder, "ca")
    other_ca = _new_ca(folder, "other-ca")
    _signed(folder, "broker", "ca", "/CN=localhost", "subjectAltName=IP:127.0.0.1,DNS:localhost")
    broker = folder / "broker.pem"
    broker.write_text((folder / "broker.key").read_text() + (folder / "broker.crt").read_text())
    _signed(folder, "client", "ca", "/CN=codex-jupyter-test-client", "extendedKeyUsage=clientAuth")
    key_password = secrets.token_urlsafe(12)
    _openssl(
        folder,
        "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", "client.key", "-out", "client-encrypted.key",
        "-passout", f"pass:{key_password}",
    )  # fmt: skip
    (folder / "client.key").unlink()
    return TlsFiles(ca, other_ca, broker, folder / "client.crt", folder / "client-encrypted.key", key_password)


class SecureKafkaBroker(KafkaBroker):
    """One KRaft node with PLAINTEXT (setup only), SASL_SSL (SCRAM-SHA-512) and SSL (client certs) listeners.

    ``bootstrap`` stays the PLAINTEXT address, so ``create_topic`` and the readiness check work as
    for the plain broker; tests connect to ``sasl_ssl_bootstrap`` or ``mtls_bootstrap``.
    """

    def __init__(self, folder: Path, jars: Path) -> None:  # the plain broker's setup is replaced, not extended
        _Process.__init__(self, "kafka-secure", folder)
        self.jars = jars
        self.port = free_port()
        self.sasl_ssl_port = free_port()
        self.mtls_port = free_port()
        self.controller_port = free_port()
        self.data = folder / "data"
        self.properties = folder / "server.properties"
        self.tls = make_tls_files(folder / "tls")
        self.scram_password = secrets.token_urlsafe(16)
        self.properties.write_text("\n".join(self._settings()) + "\n")
        write_log_config(folder)
        scram = f"SCRAM-SHA-512=[name={SCRAM_USER},password={self.scram_password}]"
        format_command = ["format", "-t", self._cluster_id(), "-c", str(self.properties), "--add-scram", scram]
        self._java(["kafka.tools.StorageTool", *format_command], wait=True)

    def _settings(self) -> list[str]:
        listeners = {
            "PLAINTEXT": self.port,
            "SASL_SSL": self.sasl_ssl_port,
            "SSL": self.mtls_port,
        }
        advertised = ",".join(f"{name}://127.0.0.1:{port}" for name, port in listeners.items())
        return [
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@127.0.0.1:{self.controller_port}",
            f"listeners={advertised},CONTROLLER://127.0.0.1:{self.controller_port}",
            f"advertised.listeners={advertised}",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,SSL:SSL,CONTROLLER:PLAINTEXT",
            "ssl.keystore.type=PEM",
            f"ssl.keystore.location={self.tls.broker}",
            "ssl.truststore.type=PEM",
            f"ssl.truststore.location={self.tls.ca}",
            "listener.name.ssl.ssl.client.auth=required",
            # PLAIN too (same user and password): its login carries the password in clear, which is
            # what the log checks need to see scrubbed
            "listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-512,PLAIN",
            "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config="
            "org.apache.kafka.common.security.scram.ScramLoginModule required;",
            "listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule "
            f'required user_{SCRAM_USER}="{self.scram_password}";',
            f"log.dirs={self.data}",
            "num.partitions=1",
            "auto.create.topics.enable=false",
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=1",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
        ]

    @property
    def sasl_ssl_bootstrap(self) -> str:
        return f"127.0.0.1:{self.sasl_ssl_port}"

    @property
    def mtls_bootstrap(self) -> str:
        return f"127.0.0.1:{self.mtls_port}"

    def sasl_settings(self, password: str | None = None, mechanism: str = "SCRAM-SHA-512") -> dict[str, str]:
        """Client settings for the SASL_SSL listener, under Kafka's property names."""
        return {
            "security.protocol": "SASL_SSL",
            "sasl.mechanism": mechanism,
            "sasl.plain.username": SCRAM_USER,
            "sasl.plain.password": self.scram_password if password is None else password,
            "ssl.cafile": str(self.tls.ca),
        }

    def mtls_settings(self) -> dict[str, str]:
        """Client settings for the SSL listener that requires a client certificate."""
        return {
            "security.protocol": "SSL",
            "ssl.cafile": str(self.tls.ca),
            "ssl.certfile": str(self.tls.client_cert),
            "ssl.keyfile": str(self.tls.client_key),
            "ssl.key.password": self.tls.key_password,
        }

    @property
    def secrets(self) -> list[str]:
        """Every secret a test configures, for the leak checks."""
        return [self.scram_password, self.tls.key_password]
