"""``%looker``: Looker looks, inline queries and dashboards as DataFrames (see :mod:`codex_jupyter.sources.bi.looker`).

``%looker look 42 -o df`` runs a saved look;
``%looker query shop.orders orders.region orders.count --filter orders.region=EMEA --sort "orders.count desc"
--limit 100 -o df`` runs an inline query (nothing is saved on the instance);
``%looker dashboard 7`` lists a dashboard's tiles and their queries (``-o`` stores one frame per tile);
``%looker looks`` and ``%looker dashboards`` list what the API user can see.

Configuration is looker-sdk's (``looker.ini``, ``LOOKERSDK_*`` variables); never put the client secret in the
line, which IPython keeps in its history.
"""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from codex_jupyter.magics.base import CodexMagics, unquote, user_errors

_ACTIONS = ("look", "query", "dashboard", "looks", "dashboards")


@magics_class
class LookerMagic(CodexMagics):
    """Run Looker looks and queries into DataFrames; see the module docstring for the forms."""

    @magic_arguments()
    @argument("action", help=f"One of: {', '.join(_ACTIONS)}.")
    @argument("target", nargs="*", help="A look or dashboard id, or MODEL.VIEW FIELD ... for a query.")
    @argument("--filter", action="append", default=[], help="FIELD=EXPR, Looker filter syntax; repeatable.")
    @argument("--sort", action="append", default=[], help='A sort, e.g. "orders.count desc"; repeatable.')
    @argument("--limit", type=int, help="Row limit (default: the look's own, 500 for a query).")
    @argument("-o", "--out", help="Store the DataFrame (a dict of them for a dashboard) in this variable.")
    @line_magic("looker")
    def looker(self, line: str = "") -> Any:
        """Run the action and return its DataFrame (a dashboard's tile list for ``dashboard``)."""
        from codex_jupyter.sources.bi import looker

        args = self.parse(self.looker, line)
        if args.action not in _ACTIONS:
            raise UsageError(f"unknown action {args.action!r}; use one of {', '.join(_ACTIONS)}")
        with user_errors():
            if args.action == "look":
                result = looker.run_look(_one(args.target, "a look id, e.g. %looker look 42"), args.limit)
            elif args.action == "query":
                result = self._query(args)
            elif args.action == "dashboard":
                board_id = _one(args.target, "a dashboard id, e.g. %looker dashboard 7")
                board = looker.dashboard(board_id)
                if args.out:
                    self.store(args.out, looker.dashboard_frames(board_id))
                return board
            else:
                result = looker.looks() if args.action == "looks" else looker.dashboards()
        self.store(args.out, result)
        return result

    def _query(self, args: Any) -> Any:
        from codex_jupyter.sources.bi import looker

        if len(args.target) < 2 or args.target[0].count(".") != 1:
            raise UsageError("%looker query needs MODEL.VIEW and at least one field, e.g. shop.orders orders.count")
        model, view = args.target[0].split(".")
        filters = dict(_pair(unquote(f)) for f in args.filter)
        limit = 500 if args.limit is None else args.limit
        return looker.query(
            model, view, [unquote(f) for f in args.target[1:]], filters, [unquote(s) for s in args.sort], limit
        )


def _one(target: list[str], what: str) -> str:
    if len(target) != 1:
        raise UsageError(f"give {what}")
    return target[0]


def _pair(text: str) -> tuple[str, str]:
    field, sep, expr = text.partition("=")
    if not sep or not field.strip():
        raise UsageError(f"--filter needs FIELD=EXPR (Looker filter syntax, e.g. orders.region=EMEA), not {text!r}")
    return field.strip(), unquote(expr)
