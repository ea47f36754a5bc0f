"""Kafka source: ``kafka://HOST:PORT[,HOST:PORT]/TOPIC?group=G&from=earliest|latest|<ISO time>``.

Delivery is at-least-once. Auto-commit is off; ``commit()`` (called by the engine after a batch is
processed) stores the offsets after the last records ``poll`` returned. With ``group=`` they go to
the broker, so a restart with the same group resumes where it stopped; without a group the stream
reads every partition itself and keeps its committed offsets in memory, so a reconnect of the same
stream object resumes but a new process starts again from ``from``.

``from`` applies only where the group has no committed offset (Kafka's ``auto.offset.reset`` rule),
so reconnecting never jumps back to a start time. A time start seeks with ``offsets_for_times``.

Client settings (SASL/SSL ...) use Kafka property names: see :mod:`.kafka_config`.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.errors import (
    AuthorizationError,
    CommitFailedError,
    KafkaConfigurationError,
    KafkaError,
    SaslAuthenticationFailedError,
)
from kafka.structs import OffsetAndMetadata

from codex_jupyter.sources.streams import kafka_config, kafka_diagnose
from codex_jupyter.sources.streams._common import (
    check_options,
    first_line,
    parse_start,
    redact,
    reject_credentials_in_url,
)
from codex_jupyter.sources.streams.base import RecordBatch, StreamConfigError, StreamUnavailable, StreamURL

log = logging.getLogger(__name__)

OPTIONS = ("group", "from", "client_id")
_NAMED_STARTS = ("earliest", "latest")
#: How long ``open`` waits for a broker before reporting it unreachable (kafka-python waits 30 s).
_BOOTSTRAP_TIMEOUT_MS = 10_000
_REQUEST_TIMEOUT_MS = 10_000
#: How often a consumer that keeps returning nothing is checked for records waiting on its partitions;
#: two checks in a row with the same positions and records waiting mean the client stopped fetching.
STALL_CHECK_S = 10.0


def all_client_settings() -> dict[str, Any]:
    """Every setting either kafka-python client knows, to tell a producer-only setting from a typo."""
    return {**KafkaProducer.DEFAULT_CONFIG, **KafkaConsumer.DEFAULT_CONFIG}


def parse_brokers(url: StreamURL) -> tuple[list[str], str]:
    """Bootstrap addresses and topic of a ``kafka://`` URL (shared with publishing)."""
    reject_credentials_in_url(url, "settings or CODEX_JUPYTER_KAFKA_SASL_PLAIN_USERNAME/_PASSWORD")
    brokers = [b.strip() for b in url.netloc.split(",") if b.strip()]
    if not brokers:
        raise StreamConfigError(f"{url.raw!r} names no broker; use kafka://HOST:PORT/TOPIC")
    for broker in brokers:
        host, _, port = broker.rpartition(":")
        if not host or not port.isdigit():
            raise StreamConfigError(f"broker {broker!r} in {url.raw!r} needs HOST:PORT, e.g. 127.0.0.1:9092")
    topic = url.path.strip("/")
    if not topic or "/" in topic:
        raise StreamConfigError(f"{url.raw!r} needs exactly one topic: kafka://HOST:PORT/TOPIC")
    return brokers, topic


def unavailable(brokers: list[str], error: BaseException, secrets: list[str]) -> StreamUnavailable:
    return StreamUnavailable(
        f"Kafka at {','.join(brokers)} is unreachable ({redact(first_line(error), secrets)}); "
        "check the address and that the broker is running"
    )


def connect_failure(
    brokers: list[str], settings: dict[str, Any], error: BaseException, secrets: list[str]
) -> StreamConfigError | StreamUnavailable:
    """Why a client could not start: the cause a probe of the brokers finds, else "unreachable"."""
    return kafka_diagnose.diagnose(brokers, settings, secrets) or unavailable(brokers, error, secrets)


def config_problem(error: BaseException, secrets: list[str]) -> StreamConfigError:
    return StreamConfigError(
        f"Kafka refused the client ({redact(first_line(error), secrets)}); "
        "check security.protocol, sasl.* and ssl.* settings and the ACLs"
    )


class _Assignments(ConsumerRebalanceListener):
    """Notes partition moves. It runs on kafka-python's network loop, so it must not block: placing
    newly assigned partitions (committed offset lookups, time seeks) happens in the next ``poll``."""

    def __init__(self, stream: KafkaStream) -> None:
        self.stream = stream

    def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        for tp in revoked:
            # records returned but not committed will be re-read by the partition's new owner
            self.stream._returned.pop(tp, None)
            self.stream._unplaced.discard(tp)

    def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self.stream._unplaced.update(assigned)


class KafkaStream:
    """One topic read through kafka-python (see the module docstring for the semantics)."""

    def __init__(
        self, url: str, brokers: list[str], topic: str, group: str | None, start: str | int, settings: dict[str, Any]
    ) -> None:
        self.url = url
        self.brokers = brokers
        self.topic = topic
        self.group = group
        self.start = start
        self._settings = settings
        self._secrets = kafka_config.secret_values(settings)
        self._consumer: KafkaConsumer | None = None
        self._returned: dict[TopicPartition, int] = {}  # next offset after what poll handed out
        self._committed: dict[TopicPartition, int] = {}  # only without a group
        self._unplaced: set[TopicPartition] = set()
        self._idle_since: float | None = None  # when polls started returning nothing
        self._idle_positions: dict[TopicPartition, int | None] | None = None  # last check, records waiting

    def __repr__(self) -> str:
        extra = f", settings: {kafka_config.describe(self._settings)}" if self._settings else ""
        return f"KafkaStream({self.url!r}{extra})"

    # -- lifecycle ---------------------------------------------------------------------------------

    def open(self) -> None:
        if self._consumer is not None:
            return
        kwargs: dict[str, Any] = {
            "bootstrap_timeout_ms": _BOOTSTRAP_TIMEOUT_MS,
            "request_timeout_ms": _REQUEST_TIMEOUT_MS,
            **self._settings,
            "bootstrap_servers": self.brokers,
            "group_id": self.group,
            "enable_auto_commit": False,
            "auto_offset_reset": self.start if isinstance(self.start, str) else "latest",
        }
        kafka_config.guard_logs(self._secrets)
        kafka_diagnose.ssl_context(self._settings)  # unreadable files or a wrong key passphrase: say so now
        try:
            consumer = KafkaConsumer(**kwargs)
        except (SaslAuthenticationFailedError, AuthorizationError, KafkaConfigurationError) as error:
            raise config_problem(error, self._secrets) from None
        except (KafkaError, OSError) as error:
            raise connect_failure(self.brokers, self._settings, error, self._secrets) from None
        try:
            if self.group:
                self._partitions(consumer)  # see _partitions: the topic's metadata before the first join
                consumer.subscribe([self.topic], listener=_Assignments(self))
            else:
                self._assign_all(consumer)
        except BaseException:
            consumer.close(autocommit=False, timeout_ms=1000)
            raise
        self._consumer = consumer

    def _assign_all(self, consumer: KafkaConsumer) -> None:
        """Without a group: read every partition, resuming at offsets committed in this object."""
        partitions = self._partitions(consumer)
        if not partitions:
            raise StreamConfigError(f"topic {self.topic!r} does not exist on {','.join(self.brokers)}; check the name")
        tps = [TopicPartition(self.topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        for tp in tps:
            if tp in self._committed:
                consumer.seek(tp, self._committed[tp])
        self._place(consumer, [tp for tp in tps if tp not in self._committed])

    def _partitions(self, consumer: KafkaConsumer) -> set[int] | None:
        """The topic's partitions, which also puts the topic into the client's metadata.

        A group member needs that before it joins: when kafka-python 3.0.12 joins first, it assigns
        nothing, rejoins once the metadata arrives, and that rejoin can stall for good (no records).
        """
        try:
            return consumer.partitions_for_topic(self.topic)
        except KafkaError as error:
            raise unavailable(self.brokers, error, self._secrets) from None

    def _place(self, consumer: KafkaConsumer, tps: list[TopicPartition]) -> None:
        """Position partitions that have no committed offset at the requested start."""
        if not tps:
            return
        if self.start == "earliest":
            consumer.seek_to_beginning(*tps)
        elif self.start == "latest":
            consumer.seek_to_end(*tps)
        else:
            found = consumer.offsets_for_times({tp: self.start for tp in tps})
            for tp in tps:
                hit = found.get(tp)
                if hit is None:  # nothing at or after that time yet: start at the end
                    consumer.seek_to_end(tp)
                else:
                    consumer.seek(tp, hit.offset)

    def close(self) -> None:
        consumer, self._consumer = self._consumer, None
        self._returned.clear()
        self._unplaced.clear()
        self._idle_since = self._idle_positions = None
        if consumer is not None:
            consumer.close(autocommit=False, timeout_ms=2000)

    # -- reading -----------------------------------------------------------------------------------

    def _require(self) -> KafkaConsumer:
        if self._consumer is None:
            raise RuntimeError("the Kafka stream is not open; call open() first")
        return self._consumer

    def poll(self, max_records: int, timeout: float) -> RecordBatch:
        consumer = self._require()
        try:
            fetched = consumer.poll(timeout_ms=int(timeout * 1000), max_records=max_records)
            if self._unplaced:
                fetched = self._place_new_assignments(consumer, fetched)
        except (SaslAuthenticationFailedError, AuthorizationError) as error:
            raise config_problem(error, self._secrets) from None
        except KafkaError as error:
            raise unavailable(self.brokers, error, self._secrets) from None
        if not fetched and not self._connected(consumer):
            raise StreamUnavailable(
                f"Kafka at {','.join(self.brokers)} is unreachable (no broker connection); "
                "the consumer keeps retrying, poll again after a pause"
            )
        self._watch_for_a_stall(consumer, bool(fetched))
        batch = RecordBatch(payloads=[])
        for tp, records in fetched.items():
            for record in records:
                batch.payloads.append(record.value if record.value is not None else b"")
                batch.keys.append(record.key.decode("utf-8", "replace") if record.key is not None else None)
                batch.partitions.append(f"{tp.topic}:{tp.partition}")
                batch.timestamps_ms.append(record.timestamp)
            if records:
                self._returned[tp] = records[-1].offset + 1
        return batch

    def _place_new_assignments(self, consumer: KafkaConsumer, fetched: dict) -> dict:
        """After a rebalance, move partitions without a committed offset to a time start.

        Records fetched for them in the same poll came from the provisional position and are dropped:
        the seek reads them again if they are at or after the start time.
        """
        new, self._unplaced = set(self._unplaced), set()
        if not isinstance(self.start, int):
            return fetched
        fresh = [tp for tp in new if consumer.committed(tp) is None]
        self._place(consumer, fresh)
        for tp in fresh:
            self._returned.pop(tp, None)
        return {tp: records for tp, records in fetched.items() if tp not in fresh}

    def _watch_for_a_stall(self, consumer: KafkaConsumer, fetched: bool) -> None:
        """Raise :class:`StreamUnavailable` when the client has stopped fetching although records wait.

        kafka-python 3.0.12 can stop fetching for good with partitions assigned and records waiting (seen
        once in CI: no records in 60 s, 60 waiting, no error); a reader would see a live view go quiet.
        Every ``STALL_CHECK_S`` of empty polls the positions are compared with the partitions' ends, as
        the consumer's isolation level sees them (so an open transaction under ``read_committed`` is not
        a stall); the same positions with records waiting at two checks in a row is one. The engine then
        reopens the stream, which resumes from the last commit (nothing is lost).
        """
        now = time.monotonic()
        if fetched or self._idle_since is None:
            self._idle_since = None if fetched else now
            self._idle_positions = None
            return
        if now - self._idle_since < STALL_CHECK_S:
            return
        self._idle_since = now
        positions, ends = self._positions_and_ends(consumer, fresh=True)
        waiting = sum(_waiting(positions, ends).values())
        stalled = waiting > 0 and positions == self._idle_positions
        self._idle_positions = positions if waiting > 0 else None
        if stalled:
            message = (
                f"the Kafka consumer of {self.topic!r} fetched nothing for {2 * STALL_CHECK_S:.0f} s while "
                f"{waiting:,} records wait on its partitions (a stalled client); reopening it"
            )
            log.warning("%s", message)
            raise StreamUnavailable(message)

    @staticmethod
    def _connected(consumer: KafkaConsumer) -> bool:
        """False only when the client reports no open broker connection (unknown counts as connected)."""
        count = consumer.metrics().get("consumer-metrics", {}).get("connection-count")
        return count is None or count > 0

    def commit(self) -> None:
        consumer = self._require()
        if not self._returned:
            return
        offsets = dict(self._returned)
        if not self.group:
            self._committed.update(offsets)
            self._returned.clear()
            return
        try:
            consumer.commit({tp: OffsetAndMetadata(offset, "", -1) for tp, offset in offsets.items()})
        except CommitFailedError as error:
            # the group moved these partitions elsewhere; their new owner re-reads them (at-least-once)
            log.warning("Kafka commit for group %s skipped after a rebalance: %s", self.group, first_line(error))
        except KafkaError as error:
            raise unavailable(self.brokers, error, self._secrets) from None
        for tp, offset in offsets.items():
            if self._returned.get(tp) == offset:
                del self._returned[tp]

    def lag(self) -> dict[str, int]:
        positions, ends = self._positions_and_ends(self._require(), fresh=False)
        return {f"{tp.topic}:{tp.partition}": behind for tp, behind in sorted(_waiting(positions, ends).items())}

    def _positions_and_ends(
        self, consumer: KafkaConsumer, fresh: bool
    ) -> tuple[dict[TopicPartition, int | None], dict[TopicPartition, int | None]]:
        """Each assigned partition's position and end. ``fresh``: the ends asked of the broker (``end_offsets``,
        as the consumer's isolation level sees them), else the high watermark of the last fetch where known,
        which is free but stands still when the client stops fetching."""
        assigned = list(consumer.assignment())
        ends = {} if fresh else {tp: consumer.highwater(tp) for tp in assigned}
        missing = [tp for tp in assigned if ends.get(tp) is None]
        try:
            if missing:
                ends.update(consumer.end_offsets(missing, timeout_ms=2000))
            positions = {tp: consumer.position(tp, timeout_ms=2000) for tp in assigned}
        except KafkaError as error:
            raise unavailable(self.brokers, error, self._secrets) from None
        return positions, ends


def _waiting(
    positions: dict[TopicPartition, int | None], ends: dict[TopicPartition, int | None]
) -> dict[TopicPartition, int]:
    """Records between each partition's position and its end, where both are known."""
    return {
        tp: max(end - at, 0) for tp, at in positions.items() if at is not None and (end := ends.get(tp)) is not None
    }


def from_url(url: StreamURL, **settings: Any) -> KafkaStream:
    """A (not yet opened) Kafka stream for ``url``; ``settings`` are Kafka client properties."""
    check_options(url, OPTIONS)
    brokers, topic = parse_brokers(url)
    start = parse_start(url.option("from") or "latest", _NAMED_STARTS)
    kwargs = kafka_config.client_settings(settings, KafkaConsumer.DEFAULT_CONFIG, known=all_client_settings())
    if url.option("client_id"):
        kwargs["client_id"] = url.option("client_id")
    return KafkaStream(url.raw, brokers, topic, url.option("group") or None, start, kwargs)
