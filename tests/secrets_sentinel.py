"""One secrets sentinel for the suite: a secret a test configures must never show up anywhere a person could see it.

A test registers each secret it configures (``secrets.add(password)``); while it runs, the sentinel keeps
what could carry one out:

- every log record, from the root logger down, with every logger opened to DEBUG for the test (a user who
  turns debug logging on to troubleshoot must not get the password in the log);
- every mimebundle an IPython shell formats or publishes (``display``, a cell's result, ``capture_output``),
  and the repr, HTML and bundle of every object a line or cell magic returns;
- every message a widget sends to the front end, the state of every widget it closes and, at the end, the
  state of every live widget;
- the test's captured stdout and stderr;
- any text, bytes, file or folder the test hands to ``secrets.scan``.

It looks for each secret as is and in the encodings a leak usually takes: URL-encoded, JSON- and
HTML-escaped, and base64 (standard and URL-safe, at any alignment, so ``user:password`` inside a Basic auth
header is caught too). Findings name the channel and the encoding, never the secret.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import html
import json
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

#: Shorter secrets would match by chance (and their base64 fragments even more so).
MIN_LENGTH = 6
#: Characters shown either side of a finding, with the secret itself masked.
CONTEXT = 40


def encodings(secret: str) -> dict[str, str]:
    """The forms of ``secret`` to look for, by name: as is, URL-encoded, escaped, and base64 fragments."""
    forms = {
        "as is": secret,
        "url-encoded": quote(secret, safe=""),
        "url-encoded (lower-case hex)": _lower_hex(quote(secret, safe="")),
        "form-encoded": quote_plus(secret, safe=""),
        "json-escaped": json.dumps(secret)[1:-1],
        "html-escaped": html.escape(secret),
    }
    raw = secret.encode()
    for shift in range(3):
        fragment = _base64_fragment(raw, shift)
        forms[f"base64 (offset {shift})"] = fragment
        forms[f"url-safe base64 (offset {shift})"] = fragment.replace("+", "-").replace("/", "_")
    unique: dict[str, str] = {}
    for name, form in forms.items():
        if form not in unique.values():
            unique[name] = form
    return unique


def _lower_hex(encoded: str) -> str:
    parts = encoded.split("%")
    return parts[0] + "".join("%" + p[:2].lower() + p[2:] for p in parts[1:])


def _base64_fragment(raw: bytes, shift: int) -> str:
    """The base64 characters that encode only ``raw`` when it starts ``shift`` bytes into a 3-byte group.

    Characters that mix in bits of the bytes before or after depend on them, so they are left out; what
    remains appears in the base64 of any text that contains ``raw`` at that alignment.
    """
    encoded = base64.b64encode(b"\0" * shift + raw).decode()
    start = -(-shift * 8 // 6)  # characters touched by the padding bytes in front
    end = (shift + len(raw)) * 8 // 6  # the last character may mix in the byte that follows
    return encoded[start:end]


class SecretLeak(AssertionError):
    """A registered secret appeared in an output, log record, widget state or file."""


class SecretsSentinel:
    """The secrets a test configured and everything that could have carried one out (see the module doc)."""

    def __init__(self) -> None:
        self._secrets: list[dict[str, str]] = []
        self._seen: list[tuple[str, str | bytes]] = []

    def add(self, value: str) -> str:
        """Register ``value`` as a secret of this test and return it."""
        if len(value) < MIN_LENGTH:
            raise ValueError(f"a test secret needs at least {MIN_LENGTH} characters, or it matches by chance")
        if all(forms["as is"] != value for forms in self._secrets):
            self._secrets.append(encodings(value))
        return value

    def scan(self, item: str | bytes | os.PathLike[str], where: str | None = None) -> None:
        """Fail at once if ``item`` (text, bytes, or a file or folder to read) holds a secret."""
        leaks = [leak for where_, text in self._items(item, where) for leak in self._leaks(where_, text)]
        if leaks:
            raise SecretLeak(_report(leaks))

    def see(self, where: str, text: str | bytes) -> None:
        """Keep ``text`` for the check at the end of the test (the channels the sentinel watches call this)."""
        self._seen.append((where, text))

    def check(self) -> None:
        """Fail if a secret appeared in anything seen while the test ran."""
        leaks = [leak for where, text in self._seen for leak in self._leaks(where, text)]
        if leaks:
            raise SecretLeak(_report(leaks))

    @contextlib.contextmanager
    def watching(self) -> Iterator[SecretsSentinel]:
        """Watch logs, IPython displays and widgets until the block ends."""
        with contextlib.ExitStack() as stack:
            _watch_logs(stack, self)
            _watch_widgets(stack, self)
            _watch_ipython(stack, self)  # last, so returned objects are rendered while widgets are still watched
            yield self

    def see_captured_output(self, sections: list[tuple[str, str, str]]) -> None:
        """Keep pytest's captured stdout, stderr and log sections (``item._report_sections``)."""
        for when, key, content in sections:
            self.see(f"captured {key} ({when})", content)

    def _items(self, item: str | bytes | os.PathLike[str], where: str | None) -> Iterator[tuple[str, str | bytes]]:
        if isinstance(item, str | bytes):
            yield where or "scanned text", item
            return
        path = Path(item)
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            yield where or str(file), file.read_bytes()

    def _leaks(self, where: str, text: str | bytes) -> Iterator[str]:
        for number, forms in enumerate(self._secrets, 1):
            for name, form in forms.items():
                # latin-1 maps bytes to characters one to one, so offsets and lengths stay those of the bytes
                haystack, needle = (
                    (text.decode("latin-1"), form.encode().decode("latin-1"))
                    if isinstance(text, bytes)
                    else (text, form)
                )
                at = haystack.find(needle)
                if at >= 0:
                    yield f"secret {number} ({name}) in {where}: {_masked(haystack, at, len(needle))}"


def _masked(text: str, at: int, length: int) -> str:
    before, after = text[max(0, at - CONTEXT) : at], text[at + length : at + length + CONTEXT]
    return repr(f"{before}<SECRET>{after}")


def _report(leaks: list[str]) -> str:
    shown = leaks[:20]
    more = f"\n... and {len(leaks) - len(shown)} more" if len(leaks) > len(shown) else ""
    return f"{len(leaks)} secret leak(s):\n" + "\n".join(shown) + more


def _wrap(
    stack: contextlib.ExitStack,
    owner: type,
    name: str,
    before: Callable[..., None] | None = None,
    after: Callable[..., None] | None = None,
) -> None:
    """Replace ``owner.name`` by a wrapper calling ``before(*args, **kwargs)`` and ``after(result, *args, ...)``."""
    original = owner.__dict__[name]

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if before is not None:
            before(*args, **kwargs)
        result = original(*args, **kwargs)
        if after is not None:
            after(result, *args, **kwargs)
        return result

    setattr(owner, name, wrapper)
    stack.callback(setattr, owner, name, original)


class _Keeper(logging.Handler):
    """Keeps every record's full text: message, arguments, exception and stack."""

    def __init__(self, sentinel: SecretsSentinel) -> None:
        super().__init__(logging.DEBUG)
        self.sentinel = sentinel
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except (TypeError, ValueError):  # arguments that do not fit the message: keep both as they are
            text = f"{record.msg!r} % {record.args!r}"
        self.sentinel.see(f"log record {record.name} {record.levelname}", text)


def _watch_logs(stack: contextlib.ExitStack, sentinel: SecretsSentinel) -> None:
    """A DEBUG handler on the root logger and on every logger that does not propagate, all opened to DEBUG."""
    keeper = _Keeper(sentinel)
    root = logging.getLogger()
    loggers = [root, *(lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger))]
    for logger in loggers:
        if logger.level > logging.DEBUG or logger is root:
            stack.callback(logger.setLevel, logger.level)
            logger.setLevel(logging.DEBUG)
        if logger is root or not logger.propagate:
            logger.addHandler(keeper)
            stack.callback(logger.removeHandler, keeper)
    stack.callback(logging.disable, logging.root.manager.disable)
    logging.disable(logging.NOTSET)


def _watch_ipython(stack: contextlib.ExitStack, sentinel: SecretsSentinel) -> None:
    """Every bundle formatted or published, and what line and cell magics return (rendered at the end)."""
    from IPython.core.displaypub import CapturingDisplayPublisher, DisplayPublisher
    from IPython.core.formatters import DisplayFormatter
    from IPython.core.interactiveshell import InteractiveShell

    def formatted(result: tuple[dict[str, Any], dict[str, Any]], *_: Any, **__: Any) -> None:
        sentinel.see("IPython display (formatted bundle)", _bundle_text(result[0]))

    def published(_: Any, data: dict[str, Any], *__: Any, **___: Any) -> None:
        sentinel.see("IPython display (published bundle)", _bundle_text(data))

    returned: list[tuple[InteractiveShell, Any]] = []
    _wrap(stack, DisplayFormatter, "format", after=formatted)
    _wrap(stack, DisplayPublisher, "publish", before=published)
    _wrap(stack, CapturingDisplayPublisher, "publish", before=published)
    for name in ("run_line_magic", "run_cell_magic"):
        _wrap(stack, InteractiveShell, name, after=lambda result, shell, *_, **__: returned.append((shell, result)))
    stack.callback(_render_returned, sentinel, returned)


def _render_returned(sentinel: SecretsSentinel, returned: list[tuple[Any, Any]]) -> None:
    """Show each object a magic returned as a notebook would (repr, HTML, bundle), output captured, not printed."""
    from IPython.utils.capture import capture_output

    for shell, obj in returned:
        if obj is None:
            continue
        sentinel.see(f"repr of a magic's {type(obj).__name__}", repr(obj))
        with capture_output():
            shell.display_formatter.format(obj)  # seen through the formatter and publisher hooks


def _bundle_text(data: dict[str, Any]) -> str:
    return json.dumps(data, default=_jsonable, ensure_ascii=False)


def _jsonable(value: Any) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("latin-1")
    return str(value)


def _watch_widgets(stack: contextlib.ExitStack, sentinel: SecretsSentinel) -> None:
    """Messages widgets send to the front end, the state of widgets as they close, and at the end every live one."""
    from ipywidgets.widgets import widget

    def sent(w: widget.Widget, msg: dict[str, Any], buffers: Any = None) -> None:
        sentinel.see(f"message from widget {type(w).__name__}", _bundle_text({"msg": msg, "buffers": buffers}))

    def closing(w: widget.Widget) -> None:
        if w.comm is not None:
            sentinel.see(f"state of closed widget {type(w).__name__}", _bundle_text(w.get_state()))

    _wrap(stack, widget.Widget, "_send", before=sent)
    _wrap(stack, widget.Widget, "close", before=closing)
    stack.callback(_see_live_widgets, sentinel)


def _see_live_widgets(sentinel: SecretsSentinel) -> None:
    from ipywidgets.widgets import widget

    # The registry of open widgets (``Widget.widgets`` is its deprecated public name).
    for w in list(widget._instances.values()):
        sentinel.see(f"state of live widget {type(w).__name__}", _bundle_text(w.get_state()))
