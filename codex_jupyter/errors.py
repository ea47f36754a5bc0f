"""One error root for the whole package, with a few branches that say what the user can do.

Every public exception derives from :class:`CodexError`, so a script can catch
"anything codex-jupyter raised" in one clause, and the magics turn any of them
into a one-line ``UsageError`` without a traceback. The branches follow what
the caller does next, not which module raised:

- :class:`InputError`: fix the argument, the column or the SQL and call again
  (also a ``ValueError``, so code written against the old classes keeps working);
- :class:`ConfigError`: fix a setting, a variable or a file (or install an extra:
  :class:`MissingExtra`);
- :class:`ServiceUnavailable`: the service could not be reached right now; worth
  retrying later (also a ``ConnectionError``);
- :class:`OutcomeUnknown`: a write was sent and its result is unknown; check on
  the server before repeating it (never retried automatically).

Messages are one line naming the problem and the fix, and never carry a secret.
"""

from __future__ import annotations

from collections.abc import Iterable


class CodexError(Exception):
    """The root of every error codex-jupyter raises on purpose."""


class InputError(CodexError, ValueError):
    """An argument, a column, a parameter or a value the caller must fix."""


class ConfigError(CodexError):
    """A setting, variable or configuration file that is missing or wrong."""


class MissingExtra(ConfigError, ImportError):
    """A feature needs an optional install: the message names the extra (``pip install 'codex-jupyter[kafka]'``)."""

    def __init__(self, feature: str, extra: str, module: str | None = None) -> None:
        self.feature, self.extra, self.module = feature, extra, module
        missing = f" ({module} is not installed)" if module else ""
        super().__init__(f"{feature} needs the [{extra}] extra{missing}: pip install 'codex-jupyter[{extra}]'")


class ServiceUnavailable(CodexError, ConnectionError):
    """A database, broker or web service could not be reached; retrying later may work."""


class OutcomeUnknown(CodexError):
    """A write reached (or may have reached) the server and its result is unknown.

    It is never retried automatically: the message says how to check
    (the query id, ``QUERY_HISTORY``) before running it again on purpose.
    """


class ColumnNotFound(InputError, KeyError):
    """A column the call names is not in the frame: the same class from every module, with the columns there are."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


def require_columns(available: Iterable[object], needed: Iterable[object], what: str = "the frame") -> None:
    """Raise :class:`ColumnNotFound` naming the first of ``needed`` that is not in ``available``."""
    have = list(available)
    missing = [c for c in needed if c not in have]
    if missing:
        raise ColumnNotFound(f"no column {missing[0]!r} in {what} (columns: {', '.join(map(str, have))})")


__all__ = [
    "CodexError",
    "ColumnNotFound",
    "ConfigError",
    "InputError",
    "MissingExtra",
    "OutcomeUnknown",
    "ServiceUnavailable",
    "require_columns",
]
