"""Argument parsing shared by the magics: user mistakes become one-line ``UsageError``s."""

from __future__ import annotations

import shlex
from collections import Counter
from collections.abc import Callable

from IPython.core.error import UsageError
from IPython.core.magic_arguments import parse_argstring


def parse_line(magic: Callable[..., object], line: str, flags: dict[str, str]):
    """Parse a magic's line, rejecting a repeated option.

    ``flags`` maps each spelling (``-c``, ``--connection``) to its option name,
    so ``-c a --connection b`` counts as a repeat too. argparse alone would let
    the last one silently win.
    """
    try:
        tokens = shlex.split(line, posix=True)
    except ValueError as exc:
        raise UsageError(f"cannot parse the options {line!r}: {exc}; check the quotes") from None
    seen = Counter(flags[t.split("=", 1)[0]] for t in tokens if t.split("=", 1)[0] in flags)
    repeated = [name for name, count in seen.items() if count > 1]
    if repeated:
        raise UsageError(f"option --{repeated[0]} is given more than once; keep one")
    return parse_argstring(magic, line)
