"""Kinesis source: ``kinesis://STREAM?region=R&group=G&from=trim_horizon|latest|<ISO time>&endpoint=URL``.

Reads every shard with GetRecords (boto3, the standard AWS credential chain; ``endpoint`` for local
or private endpoints). Kinesis keeps no consumer offsets for plain GetRecords readers, so
``commit()`` records, per shard, the sequence number of the last record handed out.

- Without ``group`` it keeps them in this object only: a reconnect (``close()`` then ``open()``)
  resumes right after them, but a new process (a restarted kernel) starts again at ``from``.
- With ``group=G`` every commit also saves them to a checkpoint store (see :mod:`.checkpoints`; a
  JSON file per stream and group under the cache folder by default, or the ``checkpoint_store``
  setting), like the Kinesis Client Library's lease table. A later reader of the same stream and
  group, in any process, starts each shard right after its checkpoint (AFTER_SEQUENCE_NUMBER):
  nothing processed is read again except the last uncommitted batch, nothing is skipped.
  ``from`` applies only to a group with no checkpoints yet. One reader per group at a time.
- Positions besides sequence numbers: ``SHARD_END`` (a closed shard read to its end: its children
  start at TRIM_HORIZON), and ``AT_TIMESTAMP:<ms>`` for a shard started at ``latest`` that has not
  yielded a record yet (a resumed reader starts it at that time, 5 s early for clock skew, instead
  of at the new ``latest``, which would skip what arrived while nothing was reading).

- Shard iterators expire after 5 minutes: they are renewed after 4 minutes (and on
  ``ExpiredIteratorException``) from the last record returned.
- Resharding: a child shard is read only after its parents are drained. A parent is drained when
  GetRecords returns no next iterator, or, for a shard listed as closed, an empty read that is not
  behind (local emulators never end a closed shard's iterator).
- ``ProvisionedThroughputExceededException`` backs that shard off (exponentially, up to 5 s) and
  retries; reads are paced at most 5 per second per shard, the service limit.
- ``lag()`` is MillisBehindLatest per shard: milliseconds, not records (Kinesis reports no count).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from codex_jupyter.extras import require
from codex_jupyter.sources.streams._common import check_options, first_line, parse_start
from codex_jupyter.sources.streams.base import RecordBatch, StreamConfigError, StreamUnavailable, StreamURL
from codex_jupyter.sources.streams.checkpoints import CheckpointStore, FileCheckpointStore, check_store

log = logging.getLogger(__name__)

_OPTIONS = ("region", "from", "endpoint", "group")
_NAMED_STARTS = ("trim_horizon", "latest")
_ITERATOR_RENEW_S = 240  # iterators live 300 s
_MIN_READ_INTERVAL_S = 0.2  # 5 GetRecords per second per shard
_MAX_BACKOFF_S = 5.0
_RELIST_S = 5.0  # how often an idle reader looks for new shards
_SHARD_END = "SHARD_END"
_AT_TIMESTAMP = "AT_TIMESTAMP:"
_LATEST_SKEW_MS = 5_000  # a "latest" shard resumes this much before its first read: clocks differ
_THROTTLED = ("ProvisionedThroughputExceededException", "ThrottlingException", "LimitExceededException")


@dataclass(frozen=True)
class KinesisTarget:
    stream: str
    region: str | None
    endpoint: str | None


def parse_url(url: StreamURL) -> KinesisTarget:
    check_options(url, _OPTIONS)
    if not url.netloc or url.path:
        raise StreamConfigError(f"{url.raw!r} needs exactly a stream name: kinesis://STREAM?region=eu-west-1")
    return KinesisTarget(url.netloc, url.option("region") or None, url.option("endpoint") or None)


def client(target: KinesisTarget, settings: dict[str, Any]) -> Any:
    """A boto3 Kinesis client without botocore's own retries: ours count and pace them."""
    require("kinesis")
    import boto3
    from botocore.config import Config

    unknown = sorted(set(settings) - {"profile"})
    if unknown:
        raise StreamConfigError(
            f"unknown Kinesis setting(s) {', '.join(unknown)}; credentials come from the standard AWS chain "
            "(environment, ~/.aws, instance roles); a 'profile' setting picks a named profile"
        )
    session = boto3.Session(profile_name=settings.get("profile"))
    region = target.region or session.region_name
    if not region:
        hint = "add ?region=... or set AWS_DEFAULT_REGION"
        raise StreamConfigError(f"no AWS region for kinesis://{target.stream}; {hint}")
    config = Config(retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=5, read_timeout=15)
    return session.client("kinesis", region_name=region, endpoint_url=target.endpoint, config=config)


def error_code(error: BaseException) -> str:
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def classify(error: BaseException, target: KinesisTarget) -> Exception:
    """The user-facing error for a botocore failure: fix-it (config) or try-again (unavailable)."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    code = error_code(error)
    where = f"Kinesis stream {target.stream!r}" + (f" at {target.endpoint}" if target.endpoint else "")
    if isinstance(error, NoCredentialsError):
        return StreamConfigError(f"no AWS credentials for {where}; configure the standard AWS credential chain")
    if code == "ResourceNotFoundException":
        return StreamConfigError(f"{where} does not exist in this account and region; check the name and ?region=")
    if code in ("AccessDeniedException", "UnrecognizedClientException", "InvalidSignatureException"):
        return StreamConfigError(f"{where} refused the credentials ({code}); check the AWS credentials and IAM policy")
    if isinstance(error, ClientError):
        return StreamUnavailable(f"{where} failed ({code}: {first_line(error)}); retrying may help")
    if isinstance(error, BotoCoreError):
        return StreamUnavailable(f"{where} is unreachable ({first_line(error)}); check the endpoint and network")
    return error if isinstance(error, Exception) else RuntimeError(str(error))


@dataclass
class _Shard:
    shard_id: str
    parents: tuple[str, ...]
    closed: bool
    iterator: str | None = None
    iterator_at: float = 0.0
    last_returned: str | None = None
    next_read: float = 0.0
    backoff: float = 0.0
    drained: bool = False
    millis_behind: int | None = None


class KinesisStream:
    """Every shard of one Kinesis stream, read with GetRecords (see the module docstring)."""

    def __init__(
        self,
        url: str,
        target: KinesisTarget,
        start: str | int,
        settings: dict[str, Any],
        group: str | None = None,
        store: CheckpointStore | None = None,
    ) -> None:
        self.url = url
        self.target = target
        self.start = start
        self.group = group
        self._store = store if store is not None or group is None else FileCheckpointStore()
        self._settings = settings
        self._client: Any = None
        self._shards: dict[str, _Shard] = {}
        self._committed: dict[str, str] = {}  # shard -> last processed sequence number
        self._drained: set[str] = set()  # shards read to their end and committed
        self._started_at: dict[str, int] = {}  # "latest" shards without a committed record -> epoch ms
        self._loaded = False
        self._saved: dict[str, str] = {}
        self._first_seen: set[str] = set()  # shards open when this object first listed the stream
        self._listed_at = 0.0
        self.throttled = 0

    def __repr__(self) -> str:
        return f"KinesisStream({self.url!r})"

    def open(self) -> None:
        if self._client is not None:
            return
        self._load_checkpoints()
        self._client = client(self.target, self._settings)
        try:
            self._client.describe_stream_summary(StreamName=self.target.stream)
            self._refresh_shards()
        except Exception as error:
            self._client = None
            raise classify(error, self.target) from None

    def close(self) -> None:
        self._client = None
        self._shards.clear()

    def _load_checkpoints(self) -> None:
        """Once per object: the group's saved positions (later opens resume from memory, which is newer)."""
        if self._loaded or self._store is None or self.group is None:
            return
        positions = self._store.load(self.target.stream, self.group)
        for shard_id, position in positions.items():
            if position == _SHARD_END:
                self._drained.add(shard_id)
            elif position.startswith(_AT_TIMESTAMP) and position[len(_AT_TIMESTAMP) :].isdigit():
                self._started_at[shard_id] = int(position[len(_AT_TIMESTAMP) :])
            elif position.isdigit():
                self._committed[shard_id] = position
            else:
                raise StreamConfigError(
                    f"checkpoint {position[:40]!r} of shard {shard_id} (group {self.group!r}) is no Kinesis position; "
                    "remove it from the checkpoint store to read that shard from from="
                )
        self._saved = dict(positions)
        self._loaded = True

    def _positions(self) -> dict[str, str]:
        positions = {s: f"{_AT_TIMESTAMP}{ms}" for s, ms in self._started_at.items()}
        positions.update(self._committed)
        positions.update(dict.fromkeys(self._drained, _SHARD_END))
        return positions

    def _refresh_shards(self) -> None:
        """List shards (paginated), keeping state of known ones; the first listing fixes the start set."""
        listed: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"StreamName": self.target.stream}
        while True:
            page = self._client.list_shards(**kwargs)
            listed += page["Shards"]
            if not page.get("NextToken"):
                break
            kwargs = {"NextToken": page["NextToken"]}
        self._listed_at = time.monotonic()
        first_listing = not self._first_seen and not (self._committed or self._drained or self._started_at)
        for item in listed:
            shard_id = item["ShardId"]
            closed = "EndingSequenceNumber" in item.get("SequenceNumberRange", {})
            if first_listing:
                self._first_seen.add(shard_id)
            if shard_id in self._shards:
                self._shards[shard_id].closed = closed
                continue
            parents = tuple(p for p in (item.get("ParentShardId"), item.get("AdjacentParentShardId")) if p)
            shard = _Shard(shard_id, parents, closed, drained=shard_id in self._drained)
            if self.start == "latest" and closed and shard_id in self._first_seen and shard_id not in self._committed:
                shard.drained = True  # reading from now on: history in closed shards is not wanted
            self._shards[shard_id] = shard

    def _ready(self, shard: _Shard) -> bool:
        if shard.drained:
            return False
        return all(p not in self._shards or self._shards[p].drained for p in shard.parents)

    def _iterator_request(self, shard: _Shard) -> dict[str, Any]:
        request: dict[str, Any] = {"StreamName": self.target.stream, "ShardId": shard.shard_id}
        after = shard.last_returned or self._committed.get(shard.shard_id)
        at = self._started_at.get(shard.shard_id, self.start)
        if after is not None:
            request.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=after)
        elif isinstance(at, int):
            request.update(ShardIteratorType="AT_TIMESTAMP", Timestamp=datetime.fromtimestamp(at / 1000, UTC))
        elif self.start == "latest" and shard.shard_id in self._first_seen:
            # "nothing before now is wanted": renewals, reconnects and later readers go on from here
            self._started_at[shard.shard_id] = int(time.time() * 1000) - _LATEST_SKEW_MS
            request.update(ShardIteratorType="LATEST")
        else:  # trim_horizon, and shards born after we started (nothing of them was seen yet)
            request.update(ShardIteratorType="TRIM_HORIZON")
        return request

    def _iterator(self, shard: _Shard, now: float) -> str:
        if shard.iterator is None or now - shard.iterator_at > _ITERATOR_RENEW_S:
            shard.iterator = self._client.get_shard_iterator(**self._iterator_request(shard))["ShardIterator"]
            shard.iterator_at = now
        return shard.iterator

    def poll(self, max_records: int, timeout: float) -> RecordBatch:
        if self._client is None:
            raise RuntimeError("the Kinesis stream is not open; call open() first")
        batch = RecordBatch(payloads=[])
        deadline = time.monotonic() + timeout
        try:
            while True:
                self._read_round(batch, max_records)
                now = time.monotonic()
                if batch.payloads or now >= deadline:
                    return batch
                waits = [s.next_read for s in self._shards.values() if self._ready(s)]
                time.sleep(max(min(min(waits, default=now + 0.2), deadline) - now, 0.01))
        except StreamUnavailable:
            raise
        except Exception as error:
            mapped = classify(error, self.target)
            if batch.payloads and isinstance(mapped, StreamUnavailable):
                return batch  # hand out what was read; the next poll reports the outage
            raise mapped from None

    def _read_round(self, batch: RecordBatch, max_records: int) -> None:
        """One GetRecords per ready shard whose pacing allows it, appending to ``batch``."""
        reshard = False
        for shard in list(self._shards.values()):
            now = time.monotonic()
            if len(batch.payloads) >= max_records or not self._ready(shard) or now < shard.next_read:
                continue
            try:
                response = self._client.get_records(
                    ShardIterator=self._iterator(shard, now), Limit=min(max(max_records - len(batch), 1), 10_000)
                )
            except Exception as error:
                code = error_code(error)
                if code in _THROTTLED:
                    self.throttled += 1
                    shard.backoff = min(max(shard.backoff * 2, 0.25), _MAX_BACKOFF_S)
                    shard.next_read = now + shard.backoff
                    continue
                if code == "ExpiredIteratorException":
                    shard.iterator = None
                    continue
                raise
            shard.backoff = 0.0
            shard.next_read = now + _MIN_READ_INTERVAL_S
            shard.millis_behind = response.get("MillisBehindLatest")
            records = response.get("Records", [])
            for record in records:
                batch.payloads.append(bytes(record["Data"]))
                batch.keys.append(record.get("PartitionKey"))
                batch.partitions.append(shard.shard_id)
                arrived = record.get("ApproximateArrivalTimestamp")
                batch.timestamps_ms.append(int(arrived.timestamp() * 1000) if arrived else int(time.time() * 1000))
            if records:
                shard.last_returned = records[-1]["SequenceNumber"]
            shard.iterator = response.get("NextShardIterator")
            if shard.iterator is None or (shard.closed and not records and not shard.millis_behind):
                shard.drained = True
                reshard = True
            elif not records and now - self._listed_at > _RELIST_S:
                reshard = True  # an open shard at its end may have been split or merged meanwhile
        if reshard:
            self._refresh_shards()

    def commit(self) -> None:
        """Mark what ``poll`` returned as processed; with a group, save it (the whole map, atomically)."""
        for shard in self._shards.values():
            if shard.last_returned is not None:
                self._committed[shard.shard_id] = shard.last_returned
                self._started_at.pop(shard.shard_id, None)
            if shard.drained:
                self._drained.add(shard.shard_id)
        if self._store is None or self.group is None:
            return
        positions = self._positions()
        if positions != self._saved:
            self._store.save(self.target.stream, self.group, positions)  # raises: the next commit retries
            self._saved = positions

    def lag(self) -> dict[str, int]:
        return {
            s.shard_id: int(s.millis_behind)
            for s in self._shards.values()
            if s.millis_behind is not None and not s.drained
        }


def from_url(url: StreamURL, **settings: Any) -> KinesisStream:
    """A (not yet opened) Kinesis stream.

    ``settings`` may name an AWS ``profile`` and a ``checkpoint_store`` (any object with
    :class:`~.checkpoints.CheckpointStore`'s load/save) for the URL's ``group``.
    """
    target = parse_url(url)
    start = parse_start(url.option("from") or "latest", _NAMED_STARTS)
    settings = dict(settings)
    store = settings.pop("checkpoint_store", None)
    group = url.option("group") or None
    if store is not None:
        if group is None:
            raise StreamConfigError(f"checkpoint_store needs a group to save under: add ?group=NAME to {url.raw!r}")
        store = check_store(store)
    return KinesisStream(url.raw, target, start, settings, group, store)
