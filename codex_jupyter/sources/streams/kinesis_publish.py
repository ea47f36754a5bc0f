"""Publishing to Kinesis with PutRecords, within the service limits and without losing records.

- Batches hold at most 500 records and 5 MiB; a record over 1 MiB (data + partition key) is
  reported and skipped, since Kinesis would refuse the whole batch.
- The partition key is the record's key (the device id), so a device's records stay in order in
  one shard; records without a key use their position, which spreads them over shards.
- A partially failed batch retries only its failed entries; a throttled or failed call retries
  the whole batch. Retries back off exponentially with jitter (botocore's own retries are off so
  that every retry is counted in the report).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from typing import Any

from codex_jupyter.sources.streams import kinesis
from codex_jupyter.sources.streams._common import first_line
from codex_jupyter.sources.streams.base import StreamURL
from codex_jupyter.sources.streams.outgoing import OutgoingRecord, PublishReport

MAX_BATCH_RECORDS = 500
MAX_BATCH_BYTES = 5 * 1024 * 1024
MAX_RECORD_BYTES = 1024 * 1024
MAX_PARTITION_KEY_CHARS = 256
MAX_ATTEMPTS = 8
_BASE_DELAY_S = 0.05
_MAX_DELAY_S = 5.0
_RETRYABLE = (
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "LimitExceededException",
    "KMSThrottlingException",
    "InternalFailure",
    "InternalFailureException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
)

_Entry = tuple[OutgoingRecord, dict[str, Any], int]


def _delay(attempt: int) -> float:
    """Exponential backoff with full jitter, so parallel publishers do not retry in lockstep."""
    return random.uniform(0, min(_MAX_DELAY_S, _BASE_DELAY_S * 2**attempt))


def _entries(records: list[OutgoingRecord], report: PublishReport) -> list[_Entry]:
    entries: list[_Entry] = []
    for record in records:
        key = record.key if record.key else str(record.index)
        if len(key) > MAX_PARTITION_KEY_CHARS:
            report.fail(record, f"partition key longer than {MAX_PARTITION_KEY_CHARS} characters, skipped")
            continue
        size = len(record.payload) + len(key.encode())
        if size > MAX_RECORD_BYTES:
            report.fail(record, "record over 1 MiB (data + partition key), skipped")
            continue
        entries.append((record, {"Data": record.payload, "PartitionKey": key}, size))
    return entries


def _batches(entries: list[_Entry]) -> Iterator[list[_Entry]]:
    batch: list[_Entry] = []
    size = 0
    for entry in entries:
        if batch and (len(batch) == MAX_BATCH_RECORDS or size + entry[2] > MAX_BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(entry)
        size += entry[2]
    if batch:
        yield batch


def _put_batch(
    client: Any, stream: str, batch: list[_Entry], report: PublishReport, sleep: Callable[[float], None]
) -> None:
    """Send one batch until every entry is accepted or out of attempts; failures go to the report."""
    from botocore.exceptions import BotoCoreError, ClientError

    pending = batch
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            response = client.put_records(StreamName=stream, Records=[entry for _, entry, _ in pending])
        except (ClientError, BotoCoreError) as error:
            code = kinesis.error_code(error) or type(error).__name__
            retryable = isinstance(error, BotoCoreError) or code in _RETRYABLE
            if not retryable or attempt == MAX_ATTEMPTS:
                reason = f"{code}: {first_line(error)}" if not retryable else f"{code} after {attempt} attempts"
                for record, _, _ in pending:
                    report.fail(record, reason)
                return
            report.retried += len(pending)
            sleep(_delay(attempt))
            continue
        failed: list[tuple[_Entry, str]] = []
        for entry, result in zip(pending, response["Records"], strict=True):
            if result.get("ErrorCode"):
                failed.append((entry, str(result["ErrorCode"])))
            else:
                report.sent += 1
        if not failed:
            return
        if attempt == MAX_ATTEMPTS:
            for (record, _, _), code in failed:
                report.fail(record, f"{code} after {attempt} attempts")
            return
        report.retried += len(failed)
        pending = [entry for entry, _ in failed]
        sleep(_delay(attempt))


def send(
    url: StreamURL,
    records: list[OutgoingRecord],
    report: PublishReport,
    settings: dict[str, Any],
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Publish ``records`` to the Kinesis stream of ``url``, filling ``report``."""
    target = kinesis.parse_url(url)
    client = kinesis.client(target, settings)
    try:
        client.describe_stream_summary(StreamName=target.stream)
    except Exception as error:
        raise kinesis.classify(error, target) from None
    for batch in _batches(_entries(records, report)):
        _put_batch(client, target.stream, batch, report, sleep)
