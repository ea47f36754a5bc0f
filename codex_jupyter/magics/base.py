"""What every magic shares, done once: configuration, argument parsing, ``-o``, and one-line errors.

A magic class derives from :class:`CodexMagics` and keeps only its own
arguments and the call into the layers below. From here it gets:

- registration as an IPython ``Configurable``, so ``%config GeocodeMagic.x = ...`` works;
- :meth:`CodexMagics.parse`: shlex-safe parsing that rejects a repeated option and
  suggests the closest spelling for a misspelt one (``--limt`` -> ``--limit``);
- :meth:`CodexMagics.store`: ``-o NAME`` validated as a Python identifier before any work;
- :func:`user_errors`: any :class:`~codex_jupyter.errors.CodexError` from below becomes a
  one-line ``UsageError`` (no traceback for a user's mistake or an unreachable service).

Variable expansion (``$name`` and ``{name}`` in a line magic) is IPython's
default; magics that take SQL opt out with IPython's ``no_var_expand`` so a
notebook value can only reach the database as a bound parameter.
"""

from __future__ import annotations

import argparse
import difflib
import re
import shlex
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics
from IPython.core.magic_arguments import parse_argstring
from traitlets.config import Configurable

from codex_jupyter.errors import CodexError

_UNRECOGNIZED = re.compile(r"unrecognized arguments: (.*)$")


class CodexMagics(Magics, Configurable):
    """Base of the codex-jupyter magics: a configurable ``Magics`` with shared parsing and storing."""

    def __init__(self, shell: Any) -> None:
        Configurable.__init__(self, config=shell.config)
        Magics.__init__(self, shell=shell)
        shell.configurables.append(self)

    def parse(self, magic: Callable[..., object], line: str) -> Any:
        """Parse ``line`` for ``magic``'s ``@argument`` options; see :func:`parse_line`."""
        args = parse_line(magic, line)
        out = getattr(args, "out", None)
        if out is not None and not out.isidentifier():
            raise UsageError(f"-o needs a Python variable name, not {out!r}")
        return args

    def store(self, name: str | None, value: Any) -> None:
        """Put ``value`` in the notebook as ``name`` (``-o NAME``), when one was given."""
        if name:
            self.shell.user_ns[name] = value


def options(magic: Callable[..., object]) -> dict[str, argparse.Action]:
    """Each option spelling of ``magic`` (``-c``, ``--connection``) and its action, read from its ``@argument``s.

    The one table of a magic's options: repeat checks, suggestions and the SQL
    magic's option/SQL split all read it, so none keeps a list by hand.
    """
    parser = magic.parser  # type: ignore[attr-defined]  # set by IPython's @magic_arguments
    return {s: a for a in parser._actions for s in a.option_strings if s not in ("-h", "--help")}


def parse_line(magic: Callable[..., object], line: str) -> Any:
    """Parse a magic's line, rejecting a repeated option and suggesting a fix for a misspelt one.

    Every spelling of an option (``-c a --connection b``) counts towards a
    repeat, since argparse alone would let the last one silently win; options
    declared ``action="append"`` may repeat.
    """
    try:
        tokens = shlex.split(line, posix=True)
    except ValueError as exc:
        raise UsageError(f"cannot parse the options {line!r}: {exc}; check the quotes") from None
    table = options(magic)
    given = [table[t.split("=", 1)[0]] for t in tokens if t.split("=", 1)[0] in table]
    seen = Counter(a for a in given if not isinstance(a, argparse._AppendAction))
    repeated = [action for action, count in seen.items() if count > 1]
    if repeated:
        raise UsageError(f"option {max(repeated[0].option_strings, key=len)} is given more than once; keep one")
    try:
        return parse_argstring(magic, line)
    except UsageError as exc:
        raise UsageError(_with_suggestion(str(exc), table)) from None


def _with_suggestion(message: str, table: Mapping[str, argparse.Action]) -> str:
    """argparse's message, one line, with "did you mean" for an option close to a known one."""
    message = " ".join(message.split())
    found = _UNRECOGNIZED.search(message)
    if found is None:
        return message
    for token in found.group(1).split():
        option = token.split("=", 1)[0]
        if option.startswith("-"):
            known = {f.lstrip("-"): f for f in table if f.startswith("--")}
            close = difflib.get_close_matches(option.lstrip("-"), known, n=1, cutoff=0.6)
            hint = f"; did you mean {known[close[0]]}?" if close else f"; known options: {', '.join(sorted(table))}"
            return f"unknown option {option}{hint}"
    return f"unexpected text {found.group(1)!r}"


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn any ``CodexError`` raised inside into a one-line ``UsageError`` (IPython shows no traceback)."""
    try:
        yield
    except CodexError as exc:
        raise UsageError(" ".join(str(exc).split())) from None


def unquote(token: str) -> str:
    """IPython's argument parser keeps the quotes around ``"orders.count desc"``: drop them."""
    if len(token) >= 2 and token[0] == token[-1] and token[0] in "'\"":
        return token[1:-1]
    return token
