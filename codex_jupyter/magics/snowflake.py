"""``%%snowflake``: SQL on Snowflake, or on the embedded local warehouse when none is configured.

Notebook values reach the database only as bound parameters (``:name``,
``{{name}}``). The magic is registered with IPython's ``no_var_expand``, so
IPython never pastes ``$name`` or ``{name}`` into the SQL text of the line
form (``%snowflake select ... '{x}'`` is sent as written), and the SQL after
the options is passed on verbatim, never re-tokenised.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import line_cell_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments
from traitlets import Bool, Int, default

from codex_jupyter.magics.base import CodexMagics, options, user_errors

_TOKEN = re.compile(r"\s*(\S+)")


def split_options(line: str, table: Mapping[str, argparse.Action]) -> tuple[str, str]:
    """``(options, sql)``: the leading options of a line, and the SQL after them exactly as typed.

    An unknown ``--word`` is kept with the options so the parser can name it
    (and suggest the closest option); everything from the first token that is
    not an option on is SQL.
    """
    pos = 0
    while match := _TOKEN.match(line, pos):
        token = match.group(1)
        name = token.split("=", 1)[0]
        if name in table:
            pos = match.end()
            if table[name].nargs != 0 and "=" not in token and (value := _TOKEN.match(line, pos)):
                pos = value.end()
        elif token.startswith("--") and len(token) > 2:
            pos = match.end()
            break
        else:
            break
    return line[:pos].strip(), line[pos:].strip()


@magics_class
class SnowflakeMagic(CodexMagics):
    """Run SQL; ``{{name}}`` and ``:name`` are bound from the notebook's variables.

    Configure with ``%config SnowflakeMagic.displaylimit = 50``. A dashboard turns on the reader's display
    (no index column, formatted numbers, no timings or hints) with ``%config SnowflakeMagic.reader = True``;
    it is on by default under Voila.
    """

    displaylimit = Int(20, config=True, help="Rows shown in the output (the full result is in _ and -o).")
    reader = Bool(
        config=True,
        help="Show results as a dashboard's reader sees them: no index, formatted numbers, no developer hints "
        "(default: on under Voila, or as CODEX_JUPYTER_READER says).",
    )
    jupysql = Bool(
        True,
        config=True,
        help="Register the warehouse connection with jupysql so %sql, %sqlcmd and %sqlplot can use it.",
    )

    @default("reader")
    def _reader_default(self) -> bool:
        from codex_jupyter.config import reader_mode

        return reader_mode()

    @magic_arguments()
    @argument("-c", "--connection", help="Connection name from connections.toml, or 'local'.")
    @argument("-o", "--out", help="Also store the full result DataFrame in this variable.")
    @argument("--limit", type=int, help="Fetch at most this many rows.")
    @argument("--explain", action="store_true", help="Show the query plan instead of running it.")
    @argument("sql", nargs="*", help="SQL (line form); the cell body otherwise.")
    @no_var_expand
    @line_cell_magic("snowflake")
    def execute(self, line: str = "", cell: str | None = None) -> Any:
        """Run SQL on the resolved warehouse and return the result as a DataFrame."""
        from codex_jupyter.sources.warehouse import connect
        from codex_jupyter.widgets.table import QueryFrame

        if cell is None:
            options_part, sql = split_options(line, options(self.execute))
            args = self.parse(self.execute, options_part)
        else:
            args, sql = self.parse(self.execute, line), cell
            if args.sql:
                raise UsageError(f"unexpected text after the options: {' '.join(args.sql)!r}; put the SQL in the cell")
        if args.limit is not None and args.limit < 0:
            raise UsageError("--limit must be zero or more")
        with user_errors():
            wh = connect(args.connection)
            if self.jupysql:
                _register_with_jupysql(wh)
            if args.explain:
                return wh.explain(sql, self.shell.user_ns)
            result = wh.query(sql, self.shell.user_ns, limit=args.limit)
        frame = QueryFrame.of(
            result.df(), result.summary(), result.sql, self.displaylimit, source=result.warehouse, reader=self.reader
        )
        self.store(args.out, frame)
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
