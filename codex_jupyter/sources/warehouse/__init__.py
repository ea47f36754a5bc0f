"""The warehouse API: ``connect(name)`` and what a query returns.

One call shape serves both warehouses -- Snowflake (through
snowflake-connector-python, :mod:`.snowflake`) and the embedded local DuckDB
warehouse that holds the demo dataset (:mod:`.local`) -- so notebooks,
scripts, tests and the ``%%snowflake`` magic never branch on which one they
talk to::

    wh = connect()                     # resolved like the Snowflake connector does
    res = wh.query("select * from branches where country = :c", {"c": "GB"})
    res.df(), res.arrow(), res.row_count, res.elapsed, res.warehouse

:mod:`.params` binds ``:name`` / ``{{name}}`` parameters for both.
"""

from codex_jupyter.sources.warehouse.base import ExplainResult, QueryResult, Warehouse, WarehouseError
from codex_jupyter.sources.warehouse.connections import close_all, connect

__all__ = ["ExplainResult", "QueryResult", "Warehouse", "WarehouseError", "close_all", "connect"]
