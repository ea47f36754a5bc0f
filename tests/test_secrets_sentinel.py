"""The secrets sentinel fails on a secret planted in each channel it watches, and stays quiet on a clean run."""

from __future__ import annotations

import base64
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import ipywidgets
import pytest
from IPython.core.formatters import DisplayFormatter
from IPython.core.interactiveshell import InteractiveShell
from IPython.display import HTML, display, publish_display_data
from IPython.utils.capture import capture_output
from secrets_sentinel import SecretLeak, SecretsSentinel, encodings

SECRET = "pl4nted-s3cret/+value"


@pytest.fixture
def sentinel() -> SecretsSentinel:
    s = SecretsSentinel()
    s.add(SECRET)
    return s


@pytest.fixture
def shell() -> Iterator[InteractiveShell]:
    ip = InteractiveShell.instance()
    ip.register_magic_function(lambda line: _Leaky(line), magic_name="leaky")
    yield ip


class _Leaky:
    """Clean in its repr, leaky (URL-encoded) in its HTML, as a careless result object would be."""

    def __init__(self, line: str) -> None:
        self.line = line

    def __repr__(self) -> str:
        return "Leaky()"

    def _repr_html_(self) -> str:
        return f"<a href='https://example.invalid/?key={quote(self.line, safe='')}'>link</a>"


def _fails(sentinel: SecretsSentinel, channel: str) -> None:
    with pytest.raises(SecretLeak, match=channel) as leak:
        sentinel.check()
    assert SECRET not in str(leak.value) and "<SECRET>" in str(leak.value)


def test_a_debug_record_on_a_quiet_logger_is_caught(sentinel: SecretsSentinel) -> None:
    quiet = logging.getLogger("sentinel.quiet")
    quiet.setLevel(logging.ERROR)
    quiet.propagate = False
    with sentinel.watching():
        quiet.debug("connecting with %s", SECRET)
    assert quiet.level == logging.ERROR and not quiet.handlers  # put back as it was
    _fails(sentinel, "log record sentinel.quiet DEBUG")


def test_an_exception_logged_with_its_traceback_is_caught(sentinel: SecretsSentinel) -> None:
    with sentinel.watching():
        try:
            raise ValueError(f"bad password {SECRET}")
        except ValueError:
            logging.getLogger("sentinel.loud").exception("connection failed")
    _fails(sentinel, "log record sentinel.loud ERROR")


def test_a_displayed_object_is_caught(sentinel: SecretsSentinel, shell: InteractiveShell) -> None:
    with sentinel.watching(), capture_output():
        display(HTML(f"<b>{SECRET}</b>"))
    _fails(sentinel, "IPython display")


def test_a_bundle_published_without_formatting_is_caught(sentinel: SecretsSentinel, shell: InteractiveShell) -> None:
    with sentinel.watching(), capture_output():
        publish_display_data({"text/plain": f"password={SECRET}"})
    _fails(sentinel, r"IPython display \(published bundle\)")


def test_the_html_of_an_object_a_magic_returns_is_caught(sentinel: SecretsSentinel, shell: InteractiveShell) -> None:
    with sentinel.watching():
        shell.run_line_magic("leaky", SECRET)  # returned, never displayed by the test
    assert DisplayFormatter.format.__name__ == "format" and not hasattr(DisplayFormatter.format, "__wrapped__")
    _fails(sentinel, r"secret 1 \(url-encoded\) in IPython display")


def test_the_state_of_a_live_widget_is_caught(sentinel: SecretsSentinel) -> None:
    boxes: list[ipywidgets.Text] = []
    try:
        with sentinel.watching():
            boxes.append(ipywidgets.Text(placeholder=SECRET))  # its state goes out when it opens, not as a message
    finally:
        boxes[0].close()
    _fails(sentinel, "state of live widget Text")


def test_a_message_a_widget_sends_is_caught(sentinel: SecretsSentinel) -> None:
    box = ipywidgets.Text()
    try:
        with sentinel.watching():
            box.send({"token": SECRET})
    finally:
        box.close()
    _fails(sentinel, "message from widget Text")


def test_the_state_of_a_widget_closed_during_the_test_is_caught(sentinel: SecretsSentinel) -> None:
    with sentinel.watching():
        box = ipywidgets.Textarea(value=SECRET)
        box.close()
    _fails(sentinel, "state of closed widget Textarea")


def test_printed_output_is_caught(sentinel: SecretsSentinel) -> None:
    sentinel.see_captured_output([("call", "stdout", f"token={SECRET}\n")])
    _fails(sentinel, r"captured stdout \(call\)")


def test_a_file_or_folder_with_a_basic_auth_header_is_caught(sentinel: SecretsSentinel, tmp_path: Path) -> None:
    header = "Authorization: Basic " + base64.b64encode(f"user:{SECRET}".encode()).decode()
    page = tmp_path / "out" / "page.html"
    page.parent.mkdir()
    page.write_text(f"<pre>{header}</pre>")
    for item in (page, tmp_path, header):
        with pytest.raises(SecretLeak, match="base64"):
            sentinel.scan(item)


def test_every_encoding_is_found_in_text_and_bytes(sentinel: SecretsSentinel) -> None:
    for name, form in encodings(SECRET).items():
        for text in (f"x{form}y", f"x{form}y".encode()):
            with pytest.raises(SecretLeak, match=name.split(" (")[0]):
                sentinel.scan(text)


def test_a_clean_run_passes_and_short_secrets_are_refused(sentinel: SecretsSentinel, shell: InteractiveShell) -> None:
    box = ipywidgets.Text(value="nothing to see")
    try:
        with sentinel.watching(), capture_output():
            logging.getLogger("sentinel.loud").debug("connected as %s", "user")
            display(HTML("<b>hello</b>"))
            shell.run_line_magic("leaky", "public")
    finally:
        box.close()
    sentinel.check()
    sentinel.scan("user:*** " + base64.b64encode(b"user:other-password").decode())
    with pytest.raises(ValueError, match="at least"):
        sentinel.add("abc")


def test_the_fixture_watches_the_test_that_asks_for_it(secrets: SecretsSentinel) -> None:
    secrets.add(SECRET)
    logging.getLogger("sentinel.loud").debug("nothing secret")
    with pytest.raises(SecretLeak):
        secrets.scan(f"?key={quote(SECRET, safe='')}")


_INNER = f"""
import logging
import os
import subprocess
import sys

SECRET = {SECRET!r}


def test_prints_it(secrets):
    print("token", secrets.add(SECRET))


def test_logs_it(secrets):
    logging.getLogger("inner").debug("password=%s", secrets.add(SECRET))


def test_keeps_it(secrets):
    secrets.add(SECRET)
    print("nothing secret")
"""


def test_the_fixture_fails_a_leaking_test_at_teardown(tmp_path: Path) -> None:
    """A pytest run of its own, with this folder's conftest, over tests that print or log their secret."""
    here = Path(__file__).resolve().parent
    (tmp_path / "conftest.py").write_text((here / "conftest.py").read_text())
    (tmp_path / "test_inner.py").write_text(_INNER)
    path = os.pathsep.join([str(here), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}  # only pytest itself
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rE", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "3 passed, 2 errors" in run.stdout, run.stdout + run.stderr  # leaks fail at teardown
    assert "ERROR test_inner.py::test_prints_it - secrets_sentinel.SecretLeak" in run.stdout
    assert "ERROR test_inner.py::test_logs_it - secrets_sentinel.SecretLeak" in run.stdout
