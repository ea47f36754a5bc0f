"""``connect(name)``: which warehouse a query goes to, and one reusable connection per name.

Connections are reused for the life of the process, one per connection name,
and re-opened when one drops.
"""

from __future__ import annotations

import threading

from codex_jupyter import config
from codex_jupyter.sources.warehouse.base import Warehouse, WarehouseError

_connections: dict[str, Warehouse] = {}
_lock = threading.Lock()


def connect(name: str | None = None) -> Warehouse:
    """Return the warehouse for ``name``, opening it on first use.

    Resolution: ``name`` (``"local"`` is the embedded warehouse; any other name
    comes from Snowflake's ``connections.toml``), then the Snowflake
    connector's default connection, then ``SNOWFLAKE_ACCOUNT`` variables, and
    otherwise the embedded local DuckDB warehouse with the demo dataset.
    """
    try:
        settings = config.resolve_connection(name)
    except config.UnknownConnectionError as exc:
        raise WarehouseError(str(exc)) from None
    key = config.LOCAL_CONNECTION_NAME if settings is None else f"snowflake:{settings.name}"
    with _lock:
        existing = _connections.get(key)
        if existing is not None and existing.is_open():
            return existing
        if settings is None:
            from codex_jupyter.sources.warehouse.local import LocalWarehouse

            wh: Warehouse = LocalWarehouse()
        else:
            from codex_jupyter.sources.warehouse.snowflake import SnowflakeWarehouse

            wh = SnowflakeWarehouse(settings)
        _connections[key] = wh
        return wh


def close_all() -> None:
    """Close every cached connection (tests and kernel shutdown use this)."""
    with _lock:
        for wh in _connections.values():
            wh.close()
        _connections.clear()
