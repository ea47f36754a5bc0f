"""Where a Kinesis reader keeps, per shard, how far its group has processed, so a restart resumes there.

Kinesis keeps no consumer offsets for GetRecords readers (Kafka does, MQTT sessions do), so a reader
that must survive its process stores them itself, as the Kinesis Client Library does in its lease
table. A :class:`CheckpointStore` maps one ``(stream, group)`` key to ``{shard_id: position}``, where
a position is an opaque string the reader wrote (a sequence number or one of its sentinels).

:class:`FileCheckpointStore`, the default, keeps one small JSON file per key under the cache folder
(:func:`codex_jupyter.config.cache_dir`), replaced atomically (temporary file, fsync, ``os.replace``)
so a crash leaves the previous or the new version, never half of one. Different groups use different
files, so processes that tail the same stream under different groups never touch each other's
checkpoints. Two processes under the *same* group overwrite each other: one reader per group (there
are no leases). A file that cannot be read as checkpoints is an error naming the file, never a
silent fresh start, which would re-read the whole stream or skip to its end without saying so.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Protocol, runtime_checkable
from urllib.parse import quote

from codex_jupyter.sources.streams.base import StreamConfigError, StreamUnavailable


@runtime_checkable
class CheckpointStore(Protocol):
    """Saves and loads the positions of one consumer group of one stream."""

    def load(self, stream: str, group: str) -> dict[str, str]:
        """The positions saved for ``(stream, group)``, shard id -> position; empty if none yet."""
        ...

    def save(self, stream: str, group: str, positions: dict[str, str]) -> None:
        """Replace the positions of ``(stream, group)`` with ``positions`` (all shards, not a delta)."""
        ...


def _name_part(text: str) -> str:
    # every character outside [A-Za-z0-9_-~] escaped, "." too: no "..", no "/", and "." can separate
    return quote(text, safe="").replace(".", "%2E")


class FileCheckpointStore:
    """One JSON file per (stream, group) in ``folder`` (default: ``<cache dir>/kinesis-checkpoints``)."""

    def __init__(self, folder: Path | str | None = None) -> None:
        self._folder = Path(folder) if folder is not None else None

    def __repr__(self) -> str:
        return f"FileCheckpointStore({str(self._folder) if self._folder else 'cache dir'!r})"

    @property
    def folder(self) -> Path:
        """Resolved on first use, so building a stream object creates no folder."""
        if self._folder is None:
            from codex_jupyter import config

            self._folder = config.cache_dir() / "kinesis-checkpoints"
        return self._folder

    def path(self, stream: str, group: str) -> Path:
        """The file that holds ``(stream, group)``: delete it to make the group start again at ``from``."""
        return self.folder / f"{_name_part(stream)}.{_name_part(group)}.json"

    def load(self, stream: str, group: str) -> dict[str, str]:
        path = self.path(stream, group)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as error:
            raise StreamConfigError(
                f"cannot read Kinesis checkpoints {path} ({error.strerror}); check its permissions"
            ) from None
        try:
            document = json.loads(text)
            positions = document["positions"]
            if document.get("stream") != stream or document.get("group") != group:
                raise ValueError("written for another stream or group")
            if not isinstance(positions, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in positions.items()
            ):
                raise ValueError("positions are not shard -> text")
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise StreamConfigError(
                f"Kinesis checkpoints {path} are unreadable ({type(error).__name__}: {str(error)[:80]}); "
                f"delete the file to start group {group!r} again at from=, or restore it"
            ) from None
        return dict(positions)

    def save(self, stream: str, group: str, positions: dict[str, str]) -> None:
        path = self.path(stream, group)
        document = {"stream": stream, "group": group, "positions": dict(sorted(positions.items()))}
        temporary: str | None = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=self.folder)
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(document, out, indent=1)
                out.flush()
                os.fsync(out.fileno())  # the data is on disk before the name points at it
            os.replace(temporary, path)
            temporary = None
        except OSError as error:
            raise StreamUnavailable(
                f"cannot save Kinesis checkpoints to {path} ({error.strerror or error}); "
                "free space or fix permissions: the tail retries"
            ) from None
        finally:
            if temporary is not None:
                Path(temporary).unlink(missing_ok=True)


def check_store(store: object) -> CheckpointStore:
    """``store`` if it has the protocol's ``load`` and ``save``; a clear error otherwise."""
    if not isinstance(store, CheckpointStore):
        raise StreamConfigError(
            f"checkpoint_store={type(store).__name__} has no load(stream, group) and save(stream, group, positions); "
            "pass an object with both, e.g. FileCheckpointStore(folder)"
        )
    return store
