"""Schema discovery: every table the warehouse shows this connection, with its columns, as plain JSON data.

Built on :meth:`Warehouse.tables` and :meth:`Warehouse.columns`, so it reads
the same ``information_schema`` a ``%%snowflake`` user sees, on Snowflake and
on the embedded warehouse alike.
"""

from __future__ import annotations

from typing import Any

from codex_jupyter.sources.warehouse.base import Warehouse


def catalog(wh: Warehouse) -> dict[str, Any]:
    """``{"warehouse", "kind", "tables": [{database, schema, name, kind, columns: [{name, type, nullable}]}]}``."""
    tables = []
    for row in wh.tables().to_dict("records"):
        columns = wh.columns(f"{row['schema']}.{row['name']}")
        tables.append(
            {
                **{key: str(row[key]) for key in ("database", "schema", "name", "kind")},
                "columns": [
                    {"name": str(c["name"]), "type": str(c["type"]), "nullable": bool(c["nullable"])}
                    for c in columns.to_dict("records")
                ],
            }
        )
    return {"warehouse": wh.label, "kind": wh.kind, "tables": tables}
