"""A persistent geocoding cache: one SQLite file in the user cache folder.

Keyed by provider (with its server) and the normalised query, so re-running
a notebook costs no requests and no quota, and two kernels can share it.
Only answers are kept (matches, or a definite "no match"); failures are
never cached, so a timeout today is retried tomorrow. No key or request URL
is stored.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from codex_jupyter import config

_SCHEMA = """
CREATE TABLE IF NOT EXISTS geocode_cache (
    provider TEXT NOT NULL,
    kind TEXT NOT NULL,
    query TEXT NOT NULL,
    matches TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (provider, kind, query)
)
"""


class GeocodeCache:
    """Cached provider answers: a list of ``{"address", "lat", "lon", "confidence"}`` per query.

    ``max_age_days`` bounds how old an answer may be (providers' terms often
    limit how long results may be kept).
    """

    def __init__(self, path: Path | str | None = None, max_age_days: float = 30.0) -> None:
        self.path = Path(path) if path is not None else config.cache_dir() / "geocode_cache.sqlite3"
        self.max_age_seconds = max_age_days * 86400.0
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, timeout=10.0, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(_SCHEMA)

    def __repr__(self) -> str:
        return f"GeocodeCache({str(self.path)!r})"

    def get(self, provider: str, kind: str, query: str) -> list[dict[str, Any]] | None:
        """The cached matches (``[]`` means a cached "no match"), or ``None`` when not cached."""
        with self._lock:
            row = self._db.execute(
                "SELECT matches, created FROM geocode_cache WHERE provider = ? AND kind = ? AND query = ?",
                (provider, kind, query),
            ).fetchone()
        if row is None or time.time() - row[1] > self.max_age_seconds:
            return None
        return json.loads(row[0])

    def put(self, provider: str, kind: str, query: str, matches: list[dict[str, Any]]) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO geocode_cache VALUES (?, ?, ?, ?, ?)",
                (provider, kind, query, json.dumps(matches, allow_nan=True), time.time()),
            )

    def clear(self) -> None:
        """Forget every cached answer."""
        with self._lock:
            self._db.execute("DELETE FROM geocode_cache")

    def close(self) -> None:
        with self._lock:
            self._db.close()
