"""Real brokers for the stream tests, on 127.0.0.1 and free ports, each stopped by its own PID.

- Kafka: Apache Kafka 4.x (KRaft, one combined broker+controller node) from the official jars that
  ``scripts/kafka-jars.sh`` fetched from Maven Central and cached.
- MQTT: Debian's ``mosquitto`` with a generated config and on-disk persistence, so qos 1 sessions
  survive a restart.
- Kinesis: ``moto_server`` (moto in server mode), reached by boto3 over HTTP.

Each broker can be stopped and started again on the same ports and data folder, which is what the
fault tests need. Logs stay in the broker's folder and are quoted when a start fails.
"""

from __future__ import annotations

import base64
import http.client
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from codex_jupyter.sources.streams import RecordBatch, Stream, StreamUnavailable

REPO = Path(__file__).resolve().parents[3]
KAFKA_JARS_SCRIPT = REPO / "scripts" / "kafka-jars.sh"


def free_port() -> int:
    """A TCP port nobody listens on right now (127.0.0.1)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _tail(path: Path, lines: int = 30) -> str:
    if not path.exists():
        return f"(no log at {path})"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


class _Process:
    """One server process: started with a command, stopped by its PID (TERM, then KILL)."""

    def __init__(self, name: str, folder: Path) -> None:
        self.name = name
        self.folder = folder
        self.log = folder / f"{name}.out"
        self.proc: subprocess.Popen[bytes] | None = None

    def _spawn(self, command: list[str], env: dict[str, str] | None = None) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=self.folder)

    def _wait_ready(self, ready, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{_tail(self.log)}")
            if ready():
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} not ready after {timeout:.0f}s:\n{_tail(self.log)}")

    def stop(self, timeout: float = 20) -> None:
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def write_log_config(folder: Path) -> None:
    """A broker's log4j2 settings: INFO to ``server.log`` in its folder (read back when it fails to start)."""
    (folder / "log4j2.properties").write_text(
        "status = warn\n"
        "appender.file.type = File\n"
        "appender.file.name = file\n"
        f"appender.file.fileName = {folder / 'server.log'}\n"
        "appender.file.layout.type = PatternLayout\n"
        "appender.file.layout.pattern = [%d] %p %m (%c)%n\n"
        "rootLogger.level = INFO\n"
        "rootLogger.appenderRef.file.ref = file\n"
    )


def kafka_jars() -> Path:
    """The cached broker jars, fetched on first use by ``scripts/kafka-jars.sh`` (Maven Central)."""
    result = subprocess.run(["bash", str(KAFKA_JARS_SCRIPT)], capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise RuntimeError(f"scripts/kafka-jars.sh failed:\n{result.stderr[-2000:]}")
    return Path(result.stdout.strip().splitlines()[-1])


class KafkaBroker(_Process):
    """A single-node KRaft Kafka (broker + controller) on 127.0.0.1; ``stop()``/``start()`` keep its data."""

    def __init__(self, folder: Path, jars: Path) -> None:
        super().__init__("kafka", folder)
        self.jars = jars
        self.port = free_port()
        self.controller_port = free_port()
        self.data = folder / "data"
        self.properties = folder / "server.properties"
        self.properties.write_text(
            "\n".join(
                [
                    "process.roles=broker,controller",
                    "node.id=1",
                    f"controller.quorum.voters=1@127.0.0.1:{self.controller_port}",
                    f"listeners=PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
                    f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}",
                    "controller.listener.names=CONTROLLER",
                    "inter.broker.listener.name=PLAINTEXT",
                    "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                    f"log.dirs={self.data}",
                    "num.partitions=3",
                    "auto.create.topics.enable=true",
                    # one node: every internal topic has one replica; few partitions start faster
                    "offsets.topic.replication.factor=1",
                    "offsets.topic.num.partitions=3",
                    "transaction.state.log.replication.factor=1",
                    "transaction.state.log.min.isr=1",
                    "share.coordinator.state.topic.replication.factor=1",
                    "share.coordinator.state.topic.min.isr=1",
                    "group.initial.rebalance.delay.ms=0",
                    "",
                ]
            )
        )
        write_log_config(folder)
        self._java(
            ["kafka.tools.StorageTool", "format", "-t", self._cluster_id(), "-c", str(self.properties)], wait=True
        )

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @staticmethod
    def _cluster_id() -> str:
        """A fresh KRaft cluster id: 16 random bytes, URL-safe base64 without padding (as ``random-uuid``).

        Like Kafka's own ``Uuid.randomUuid``, an id starting with "-" is drawn
        again: the storage tool would read it as an option (1 run in 64 failed).
        """
        while (cluster := base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")).startswith("-"):
            pass
        return cluster

    def _java(self, main: list[str], wait: bool = False) -> None:
        command = [
            "java",
            "-Xms128m",
            "-Xmx512m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",  # a test broker lives for a minute: start fast rather than peak
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.folder / 'log4j2.properties'}",
            "-cp",
            f"{self.jars}/*",
            *main,
        ]
        if wait:
            result = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=self.folder)
            if result.returncode != 0:
                raise RuntimeError(f"{' '.join(main[:2])} failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
            return
        self._spawn(command)

    def start(self, timeout: float = 90) -> None:
        """Start (or restart) the broker and wait until it answers metadata requests."""
        if self.running:
            return
        self._java(["kafka.Kafka", str(self.properties)])
        self._wait_ready(self._answers, timeout)

    def _answers(self) -> bool:
        if not _port_open(self.port):
            return False
        from kafka import KafkaAdminClient
        from kafka.errors import KafkaError

        try:
            admin = KafkaAdminClient(
                bootstrap_servers=self.bootstrap, request_timeout_ms=3000, bootstrap_timeout_ms=3000
            )
        except KafkaError:
            return False
        try:
            admin.describe_cluster()
            return True
        except KafkaError:
            return False
        finally:
            admin.close()

    def create_topic(self, name: str, partitions: int = 3) -> None:
        from kafka import KafkaAdminClient
        from kafka.admin import NewTopic

        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap)
        try:
            admin.create_topics([NewTopic(name, partitions, 1)])
        finally:
            admin.close()


class Mosquitto(_Process):
    """Debian's mosquitto on a free 127.0.0.1 port, persisting qos 1 sessions in its folder."""

    BINARY = shutil.which("mosquitto") or "/usr/sbin/mosquitto"

    def __init__(self, folder: Path) -> None:
        super().__init__("mosquitto", folder)
        self.port = free_port()
        self.config = folder / "mosquitto.conf"
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {folder}/\n"
            "autosave_interval 1\n"
            "log_dest stdout\n"
            "log_type error\nlog_type warning\nlog_type notice\n" + ("user root\n" if os.geteuid() == 0 else "")
            # started by root, mosquitto would switch to its own user, which cannot write the
            # persistence file into our private temp folder; a test broker may keep our identity
        )

    def start(self, timeout: float = 15) -> None:
        if self.running:
            return
        if not Path(self.BINARY).exists():
            raise RuntimeError("mosquitto not found: run scripts/install-system-deps.sh (apt-get install mosquitto)")
        self._spawn([self.BINARY, "-c", str(self.config)])
        self._wait_ready(lambda: _port_open(self.port), timeout)


#: moto 5.2.5 routes writes by hash over *all* shards, so after a split or merge new records still
#: land in the closed parent. AWS writes only to open shards; the test server corrects that one
#: lookup (and nothing else) so resharding can be followed as on AWS. Flask serves moto as usual.
_MOTO_MAIN = """
import sys
from moto.kinesis import models
from moto.server import main

_lookup = models.Stream.get_shard_for_key

def _open_shards_only(self, partition_key, explicit_hash_key):
    closed = {k: s for k, s in self.shards.items() if not s.is_open}
    for k in closed:
        del self.shards[k]
    try:
        return _lookup(self, partition_key, explicit_hash_key)
    finally:
        self.shards.update(closed)
        self.shards = dict(sorted(self.shards.items()))

models.Stream.get_shard_for_key = _open_shards_only
main(sys.argv[1:])
"""


class MotoServer(_Process):
    """moto in server mode (Kinesis and every other AWS API moto fakes) on a free 127.0.0.1 port."""

    def __init__(self, folder: Path) -> None:
        super().__init__("moto", folder)
        self.port = free_port()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> None:
        if self.running:
            return
        env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
        self._spawn([sys.executable, "-c", _MOTO_MAIN, "-H", "127.0.0.1", "-p", str(self.port)], env=env)
        self._wait_ready(lambda: _port_open(self.port), timeout)


def read_until(
    stream: Stream,
    count: int,
    timeout: float = 30,
    *,
    commit: bool = True,
    on_unavailable: Callable[[StreamUnavailable], None] | None = None,
) -> RecordBatch:
    """Poll ``stream`` until ``count`` records arrived (or ``timeout``), merged into one batch.

    ``StreamUnavailable`` (from ``poll`` or ``commit``) is retried after a pause, as the tail engine
    does, and reported to ``on_unavailable``; a commit that failed is retried by the next one.
    """
    merged = RecordBatch(payloads=[])
    deadline = time.monotonic() + timeout
    while len(merged) < count and time.monotonic() < deadline:
        try:
            batch = stream.poll(max_records=count - len(merged), timeout=0.5)
            # the batch counts as processed before the commit, which may fail during an outage
            merged.payloads.extend(batch.payloads or [])
            merged.keys.extend(batch.keys)
            merged.partitions.extend(batch.partitions)
            merged.timestamps_ms.extend(batch.timestamps_ms)
            if commit:
                stream.commit()
        except StreamUnavailable as error:
            if on_unavailable is not None:
                on_unavailable(error)
            time.sleep(0.5)
    return merged


class KinesisFaults:
    """A real HTTP stand-in in front of moto that injects the failures moto never produces.

    boto3 talks to it exactly as to Kinesis (JSON over HTTP). It answers the first
    ``throttle_puts`` PutRecords and ``throttle_gets`` GetRecords calls with
    ``ProvisionedThroughputExceededException`` (HTTP 400), and in the next ``partial_puts``
    PutRecords calls fails every ``fail_every``-th entry: those entries are *not* forwarded to moto,
    the rest are, and the answer merges both, as a partially failed PutRecords does.
    Everything else is forwarded unchanged.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.throttle_puts = 0
        self.throttle_gets = 0
        self.partial_puts = 0
        self.fail_every = 5
        self.put_calls = 0
        self.throttled_entries = 0
        self.failed_entries = 0
        self._lock = threading.Lock()
        faults = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status, payload = faults._handle(self.headers.get("X-Amz-Target", ""), dict(self.headers), body)
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _forward(self, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=30)
        try:
            keep = {k: v for k, v in headers.items() if k.lower() not in ("host", "content-length")}
            connection.request("POST", "/", body=body, headers=keep)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def _handle(self, target: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        operation = target.rsplit(".", 1)[-1]
        throttled = json.dumps(
            {"__type": "ProvisionedThroughputExceededException", "message": "Rate exceeded for shard"}
        ).encode()
        with self._lock:
            if operation == "PutRecords":
                self.put_calls += 1
                if self.throttle_puts > 0:
                    self.throttle_puts -= 1
                    self.throttled_entries += len(json.loads(body)["Records"])
                    return 400, throttled
                partial = self.partial_puts > 0
                self.partial_puts -= int(partial)
            elif operation == "GetRecords" and self.throttle_gets > 0:
                self.throttle_gets -= 1
                return 400, throttled
            else:
                partial = False
        if not partial:
            return self._forward(headers, body)
        request = json.loads(body)
        records = request["Records"]
        failing = {i for i in range(len(records)) if i % self.fail_every == 0}
        request["Records"] = [r for i, r in enumerate(records) if i not in failing]
        status, answer = self._forward(headers, json.dumps(request).encode())
        if status != 200:
            return status, answer
        accepted = iter(json.loads(answer)["Records"])
        merged = [
            {"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "Rate exceeded for shard"}
            if i in failing
            else next(accepted)
            for i in range(len(records))
        ]
        with self._lock:
            self.failed_entries += len(failing)
        return 200, json.dumps({"FailedRecordCount": len(failing), "Records": merged}).encode()
