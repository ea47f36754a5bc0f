"""Split SQL cells into statements and find their parameters.

Users reference notebook variables as ``{{name}}`` or ``:name``. Both become
*bound* parameters, never text formatted into the SQL, so a value such as
``x'; drop table t; --`` can only ever be a value. The scanner understands
Snowflake's lexical rules well enough not to mistake what is not a parameter:
``::`` casts, ``col:field`` semi-structured paths (a colon directly after an
identifier, a quote or a bracket), and anything inside string literals
(``'...'``, ``$$...$$``), quoted identifiers and comments.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from codex_jupyter.errors import InputError

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BRACED = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_PATH_PREFIX = re.compile(r"[A-Za-z0-9_$\"\])]")


class ParameterError(InputError, KeyError):
    """A statement references a parameter that has no value."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class Statement:
    """One SQL statement and the parameters it references, in order of use."""

    text: str
    spans: tuple[tuple[int, int, str], ...]

    @property
    def names(self) -> tuple[str, ...]:
        """Distinct parameter names, in order of first use."""
        return tuple(dict.fromkeys(name for _, _, name in self.spans))

    def render(self, placeholder: str) -> str:
        """The statement with each parameter replaced.

        ``placeholder`` is a format string with ``{name}``: ``":{name}"`` keeps
        Snowflake's named style (which sqlglot understands), ``"$"+"{name}"`` is
        DuckDB's, ``"?"`` is qmark.
        """
        out, pos = [], 0
        for start, end, name in self.spans:
            out.append(self.text[pos:start])
            out.append(placeholder.format(name=name))
            pos = end
        out.append(self.text[pos:])
        return "".join(out)

    def values(self, namespace: Mapping[str, Any]) -> dict[str, Any]:
        """The value of each parameter, looked up in ``namespace``."""
        missing = [n for n in self.names if n not in namespace]
        if missing:
            raise ParameterError(
                f"parameter {missing[0]!r} is not set; assign {missing[0]} = ... in the notebook "
                "(or pass params={...}) before running the query"
            )
        return {n: namespace[n] for n in self.names}

    def qmark_values(self, namespace: Mapping[str, Any]) -> list[Any]:
        """Positional values for ``?`` placeholders (a repeated name repeats)."""
        values = self.values(namespace)
        return [values[name] for _, _, name in self.spans]


def _skip_quoted(sql: str, i: int, quote: str) -> int:
    """Index just past the literal or identifier opened at ``i``."""
    n = len(sql)
    j = i + 1
    while j < n:
        ch = sql[j]
        if ch == "\\" and quote == "'":
            j += 2
            continue
        if ch == quote:
            if j + 1 < n and sql[j + 1] == quote:
                j += 2
                continue
            return j + 1
        j += 1
    return n


def _scan(sql: str) -> Iterator[tuple[str, int, int, str]]:
    """Yield ``("param", start, end, name)`` and ``(";", pos, pos + 1, "")`` events."""
    n = len(sql)
    i = 0
    while i < n:
        ch = sql[i]
        two = sql[i : i + 2]
        if ch in "'\"":
            i = _skip_quoted(sql, i, ch)
        elif two == "$$":
            end = sql.find("$$", i + 2)
            i = n if end < 0 else end + 2
        elif two in ("--", "//"):
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
        elif two == "/*":
            end = sql.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif two == "::":
            i += 2
        elif two == "{{":
            m = _BRACED.match(sql, i)
            if m:
                yield ("param", i, m.end(), m.group(1))
                i = m.end()
            else:
                i += 2
        elif ch == ":":
            m = _IDENT.match(sql, i + 1)
            is_path = i > 0 and _PATH_PREFIX.match(sql[i - 1]) is not None
            if m and not is_path:
                yield ("param", i, m.end(), m.group(0))
                i = m.end()
            else:
                i += 1
        elif ch == ";":
            yield (";", i, i + 1, "")
            i += 1
        else:
            i += 1


def parse(sql: str) -> list[Statement]:
    """Split ``sql`` on top-level semicolons; drop empty statements."""
    statements: list[Statement] = []
    start = 0
    spans: list[tuple[int, int, str]] = []

    def close(end: int) -> None:
        text = sql[start:end]
        stripped = text.strip()
        if stripped and not _only_comments(stripped):
            lead = len(text) - len(text.lstrip())
            shift = start + lead
            statements.append(Statement(stripped, tuple((s - shift, e - shift, name) for s, e, name in spans)))

    for kind, s, e, name in _scan(sql):
        if kind == ";":
            close(s)
            start, spans = e, []
        else:
            spans.append((s, e, name))
    close(len(sql))
    return statements


def _only_comments(text: str) -> bool:
    """True when a statement holds nothing but comments (e.g. a trailing ``-- note``)."""
    stripped = re.sub(r"(--|//)[^\n]*|/\*.*?\*/", "", text, flags=re.S)
    return not stripped.strip()
