"""``%%snowflake``: SQL on Snowflake, or on the embedded local warehouse when none is configured."""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from traitlets import Bool, Int
from traitlets.config import Configurable

from codex_jupyter.magics.arguments import parse_line

_FLAGS = {
    "-c": "connection",
    "--connection": "connection",
    "-o": "out",
    "--out": "out",
    "--limit": "limit",
    "--explain": "explain",
}


@magics_class
class SnowflakeMagic(Magics, Configurable):
    """Run SQL; ``{{name}}`` and ``:name`` are bound from the notebook's variables.

    Configure with ``%config SnowflakeMagic.displaylimit = 50``.
    """

    displaylimit = Int(20, config=True, help="Rows shown in the output (the full result is in _ and -o).")
    jupysql = Bool(
        True,
        config=True,
        help="Register the warehouse connection with jupysql so %sql, %sqlcmd and %sqlplot can use it.",
    )

    def __init__(self, shell: Any) -> None:
        Configurable.__init__(self, config=shell.config)
        Magics.__init__(self, shell=shell)
        shell.configurables.append(self)

    @magic_arguments()
    @argument("-c", "--connection", help="Connection name from connections.toml, or 'local'.")
    @argument("-o", "--out", help="Also store the full result DataFrame in this variable.")
    @argument("--limit", type=int, help="Fetch at most this many rows.")
    @argument("--explain", action="store_true", help="Show the query plan instead of running it.")
    @argument("sql", nargs="*", help="SQL (line form); the cell body otherwise.")
    @line_cell_magic("snowflake")
    def execute(self, line: str = "", cell: str | None = None) -> Any:
        """Run SQL on the resolved warehouse and return the result as a DataFrame."""
        from codex_jupyter.sources.warehouse import WarehouseError, connect
        from codex_jupyter.widgets.table import QueryFrame

        args = parse_line(self.execute, line, _FLAGS)
        sql = cell if cell is not None else " ".join(args.sql)
        if cell is not None and args.sql:
            raise UsageError(f"unexpected text after the options: {' '.join(args.sql)!r}; put the SQL in the cell")
        if args.out is not None and not args.out.isidentifier():
            raise UsageError(f"-o needs a Python variable name, not {args.out!r}")
        if args.limit is not None and args.limit < 0:
            raise UsageError("--limit must be zero or more")
        try:
            wh = connect(args.connection)
            if self.jupysql:
                _register_with_jupysql(wh)
            if args.explain:
                return wh.explain(sql, self.shell.user_ns)
            result = wh.query(sql, self.shell.user_ns, limit=args.limit)
        except WarehouseError as exc:
            raise UsageError(str(exc)) from None
        frame = QueryFrame.of(result.df(), result.summary(), result.sql, self.displaylimit)
        if args.out:
            self.shell.user_ns[args.out] = frame
        return frame


def _register_with_jupysql(wh: Any) -> None:
    """Make the warehouse a jupysql connection (the current one if jupysql has none).

    It is registered as a SQLAlchemy engine over the very same connection, so
    ``%sql``, ``%sqlcmd tables`` and ``%sqlplot`` see what ``%%snowflake`` sees,
    including tables a cell created in memory.
    """
    try:
        from sql.connection import ConnectionManager, SQLAlchemyConnection
    except ImportError:
        return
    alias = f"codex:{wh.kind}"
    existing = ConnectionManager.connections.get(alias)
    if existing is None or getattr(existing, "_codex_warehouse", None) is not wh:
        existing = SQLAlchemyConnection(wh.sqlalchemy_engine(), alias=alias)
        existing._codex_warehouse = wh
    if ConnectionManager.current is None:
        ConnectionManager.current = existing
