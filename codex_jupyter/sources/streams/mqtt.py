"""MQTT source: ``mqtt://HOST:PORT/TOPIC?qos=1&client_id=ID`` (topics may hold ``+`` and ``#``).

paho-mqtt's network thread receives messages into a bounded queue that ``poll`` drains. When the
queue is full the network thread waits, which pushes back on the broker instead of dropping data.
The thread also reconnects by itself; ``poll`` raises :class:`StreamUnavailable` while it is
disconnected and nothing is queued.

Delivery: with ``client_id`` given, the session is persistent (``clean_session`` off), so with
qos 1 the broker keeps what arrives while we are disconnected and delivers it on reconnect, also
to a new process using the same ``client_id``. Messages are acknowledged (PUBACK) only by
``commit()``, which the tail engine calls after a batch is processed (paho's ``manual_ack``): a
message received but not processed when the process dies stays unacknowledged, and the broker
sends it again (DUP) when the ``client_id`` reconnects. So a restart repeats at most the last
unprocessed batch and loses nothing. Acknowledgements go out in the order messages arrived, as
MQTT requires; a message received on an earlier connection is not acknowledged on a later one
(the broker resends it there, so it is processed again rather than acknowledged unprocessed).

- Without ``client_id`` the session is clean: the broker forgets it on disconnect, and nothing
  survives a restart (or an outage): what arrived meanwhile, or was received but not processed,
  is gone.
- qos=2 is not restart-safe with paho: it takes the message over (PUBREC) before handing it out,
  keeping it only in memory. Use qos=1 to resume after a crash; qos=0 is never redelivered.
- The broker limits unacknowledged messages per client (mosquitto: ``max_inflight_messages``,
  20 by default), which bounds a batch; it queues the rest per session up to
  ``max_queued_messages`` (1000 by default) and drops beyond that: raise it for bursts.

MQTT carries no timestamps: ``timestamps_ms`` is the receive time; ``partitions`` holds each
message's topic. Credentials come from settings ``username``/``password`` or the
``CODEX_JUPYTER_MQTT_USERNAME``/``_PASSWORD`` variables; ``tls_ca_certs`` turns on TLS.
"""

from __future__ import annotations

import queue
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import paho.mqtt.client as paho

from codex_jupyter import config
from codex_jupyter.sources.streams._common import check_options, reject_credentials_in_url
from codex_jupyter.sources.streams.base import RecordBatch, StreamConfigError, StreamUnavailable, StreamURL

_OPTIONS = ("qos", "client_id")
_SETTINGS = ("username", "password", "tls_ca_certs", "keepalive", "queue_size")
_CONNECT_TIMEOUT = 10.0


@dataclass(frozen=True)
class _Received:
    payload: bytes
    topic: str
    received_ms: int
    mid: int
    qos: int
    connection: int


@dataclass(frozen=True)
class MqttTarget:
    host: str
    port: int
    topic: str
    qos: int
    client_id: str | None


def parse_url(url: StreamURL) -> MqttTarget:
    """Host, port, topic and options of an ``mqtt://`` URL.

    ``#`` is a fragment marker to URL parsers, which would cut ``devices/#?qos=1`` short, so the raw
    URL is parsed again with ``#`` escaped.
    """
    reparsed = StreamURL.parse(url.raw.replace("#", "%23"))
    reject_credentials_in_url(reparsed, "settings username/password or CODEX_JUPYTER_MQTT_USERNAME/_PASSWORD")
    check_options(reparsed, _OPTIONS)
    host, _, port = reparsed.netloc.rpartition(":")
    if not host or not port.isdigit():
        raise StreamConfigError(f"{url.raw!r} needs HOST:PORT, e.g. mqtt://127.0.0.1:1883/devices/#")
    topic = unquote(reparsed.path)
    if not topic:
        raise StreamConfigError(f"{url.raw!r} names no topic; use mqtt://HOST:PORT/TOPIC (wildcards + and # allowed)")
    qos_text = reparsed.option("qos", "1")
    if qos_text not in ("0", "1", "2"):
        raise StreamConfigError(f"qos={qos_text!r} in {url.raw!r}; use qos=0, 1 or 2")
    return MqttTarget(host, int(port), topic, int(qos_text), reparsed.option("client_id") or None)


def _settings(settings: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(settings) - set(_SETTINGS))
    if unknown:
        raise StreamConfigError(f"unknown MQTT setting(s) {', '.join(unknown)}; use {', '.join(_SETTINGS)}")
    from_env = config.prefixed("CODEX_JUPYTER_MQTT_")
    merged = {k: from_env[k.upper()] for k in _SETTINGS if k.upper() in from_env}
    merged.update(settings)
    return merged


def connect(
    target: MqttTarget,
    *,
    clean_session: bool,
    settings: dict[str, Any],
    on_connect: Any = None,
    on_message: Any = None,
    on_subscribe: Any = None,
    manual_ack: bool = False,
) -> paho.Client:
    """A connected client with its network thread running; waits for the broker's CONNACK."""
    options = _settings(settings)
    client_id = target.client_id or f"codex-jupyter-{uuid.uuid4().hex[:12]}"
    client = paho.Client(
        paho.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean_session, manual_ack=manual_ack
    )
    if options.get("username"):
        client.username_pw_set(str(options["username"]), options.get("password"))
    if options.get("tls_ca_certs"):
        client.tls_set(ca_certs=str(options["tls_ca_certs"]))
    client.reconnect_delay_set(min_delay=1, max_delay=10)
    connected = threading.Event()
    refused: list[str] = []

    def _on_connect(c: paho.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if reason.is_failure:
            refused.append(str(reason))
        else:
            connected.set()
            if on_connect is not None:
                on_connect(c)

    client.on_connect = _on_connect
    if on_message is not None:
        client.on_message = on_message
    if on_subscribe is not None:
        client.on_subscribe = on_subscribe
    where = f"{target.host}:{target.port}"
    try:
        client.connect(target.host, target.port, keepalive=int(options.get("keepalive", 30)))
    except OSError as error:
        raise StreamUnavailable(
            f"MQTT broker at {where} is unreachable ({error.strerror or error}); "
            "check the address and that the broker is running"
        ) from None
    client.loop_start()
    deadline = time.monotonic() + _CONNECT_TIMEOUT
    while not connected.is_set() and not refused and time.monotonic() < deadline:
        connected.wait(0.05)
    if not connected.is_set():
        disconnect(client)
        if refused:
            raise StreamConfigError(f"MQTT broker at {where} refused the connection ({refused[0]}); check credentials")
        raise StreamUnavailable(f"MQTT broker at {where} did not answer within {_CONNECT_TIMEOUT:.0f} s")
    return client


def disconnect(client: paho.Client) -> None:
    client.disconnect()
    client.loop_stop()


class MqttStream:
    """One topic filter read through paho-mqtt (see the module docstring)."""

    def __init__(self, url: str, target: MqttTarget, settings: dict[str, Any]) -> None:
        self.url = url
        self.target = target
        self._settings = settings
        self._queue: queue.Queue[_Received] = queue.Queue(maxsize=int(settings.get("queue_size", 100_000)))
        self._client: paho.Client | None = None
        self._connection = 0  # counts (re)connects: a message id means something on its own connection only
        self._handed_out: list[_Received] = []  # returned by poll, not yet acknowledged
        self._closing = threading.Event()
        self._subscribed = threading.Event()
        self._refused: list[str] = []

    def __repr__(self) -> str:
        return f"MqttStream({self.url!r})"

    def _subscribe(self, client: paho.Client) -> None:
        # on every (re)connect: a clean session forgets subscriptions, a persistent one keeps them anyway
        self._connection += 1
        client.subscribe(self.target.topic, qos=self.target.qos)

    def _on_subscribe(self, client: paho.Client, userdata: Any, mid: int, reasons: list[Any], properties: Any) -> None:
        self._refused[:] = [str(r) for r in reasons if r.is_failure]
        self._subscribed.set()

    def _receive(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        item = _Received(
            bytes(message.payload), message.topic, int(time.time() * 1000), message.mid, message.qos, self._connection
        )
        while not self._closing.is_set():
            try:
                self._queue.put(item, timeout=0.5)  # full: hold the network thread (back-pressure)
                return
            except queue.Full:
                continue

    def open(self) -> None:
        if self._client is not None:
            return
        self._closing.clear()
        self._subscribed.clear()
        client = connect(
            self.target,
            clean_session=self.target.client_id is None,
            settings=self._settings,
            on_connect=self._subscribe,
            on_message=self._receive,
            on_subscribe=self._on_subscribe,
            manual_ack=True,
        )
        # open() means subscribed: whatever is published after it returns reaches this stream
        if not self._subscribed.wait(_CONNECT_TIMEOUT) or self._refused:
            disconnect(client)
            where = f"{self.target.host}:{self.target.port}"
            if self._refused:
                raise StreamConfigError(
                    f"MQTT broker at {where} refused the subscription to {self.target.topic!r} "
                    f"({self._refused[0]}); check the topic and the broker's ACL"
                )
            raise StreamUnavailable(f"MQTT broker at {where} did not confirm the subscription in time")
        self._client = client

    def poll(self, max_records: int, timeout: float) -> RecordBatch:
        if self._client is None:
            raise RuntimeError("the MQTT stream is not open; call open() first")
        batch = RecordBatch(payloads=[])
        deadline = time.monotonic() + timeout
        while len(batch.payloads) < max_records:
            try:
                if batch.payloads:
                    item = self._queue.get_nowait()
                else:
                    item = self._queue.get(timeout=max(deadline - time.monotonic(), 0))
            except queue.Empty:
                break
            self._handed_out.append(item)
            batch.payloads.append(item.payload)
            batch.keys.append(None)
            batch.partitions.append(item.topic)
            batch.timestamps_ms.append(item.received_ms)
        if not batch.payloads and not self._client.is_connected():
            raise StreamUnavailable(
                f"MQTT broker at {self.target.host}:{self.target.port} is unreachable; reconnecting in the background"
            )
        return batch

    def commit(self) -> None:
        """Acknowledge every message ``poll`` returned, in arrival order (see the module docstring).

        A PUBACK that cannot be sent (disconnected) is not retried: the broker resends the message.
        """
        handed_out, self._handed_out = self._handed_out, []
        client = self._client
        if client is None:
            return
        for item in handed_out:
            if item.connection == self._connection:
                client.ack(item.mid, item.qos)

    def lag(self) -> dict[str, int]:
        return {}

    def close(self) -> None:
        client, self._client = self._client, None
        self._closing.set()
        if client is not None:
            disconnect(client)


def from_url(url: StreamURL, **settings: Any) -> MqttStream:
    """A (not yet opened) MQTT stream; ``settings``: username, password, tls_ca_certs, keepalive, queue_size."""
    target = parse_url(url)
    _settings(settings)
    return MqttStream(url.raw, target, settings)
