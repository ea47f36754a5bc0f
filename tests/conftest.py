"""Fixtures for every test under ``tests/``: the secrets sentinel (see ``secrets_sentinel``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from secrets_sentinel import SecretsSentinel


@pytest.fixture
def secrets(request: pytest.FixtureRequest) -> Iterator[SecretsSentinel]:
    """Fail the test if a secret it registers with ``secrets.add`` shows up in a log, display, widget or output.

    Ask for it before the fixtures that configure the secret, so it also watches their set-up and tear-down.
    """
    sentinel = SecretsSentinel()
    with sentinel.watching():
        yield sentinel
    # What the set-up and call phases printed (pytest keeps it on the item until the report).
    sentinel.see_captured_output(getattr(request.node, "_report_sections", []))
    sentinel.check()
