"""Small pieces the broker sources share: start positions, option checks, secret redaction."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from codex_jupyter.sources.streams.base import StreamConfigError, StreamURL


def check_options(url: StreamURL, allowed: tuple[str, ...]) -> None:
    """Reject options a source does not know, so a typo (``?grup=``) is not silently ignored."""
    unknown = sorted(set(url.options) - set(allowed))
    if unknown:
        raise StreamConfigError(
            f"unknown option(s) {', '.join(unknown)} in a {url.scheme}:// URL; use {', '.join(allowed)}"
        )


def reject_credentials_in_url(url: StreamURL, where: str) -> None:
    """URLs end up in reprs, logs and notebook outputs, so credentials must never ride in them."""
    if "@" in url.netloc:
        raise StreamConfigError(f"credentials in a {url.scheme}:// URL would be shown in outputs; set them in {where}")


def parse_start(value: str, named: tuple[str, ...]) -> str | int:
    """A named start position (``earliest``, ``trim_horizon`` ...) or an ISO time as epoch milliseconds.

    Times without a zone are UTC: broker timestamps are, and a notebook's local zone is an accident.
    """
    lowered = value.strip().lower()
    if lowered in named:
        return lowered
    # a "+02:00" offset in a URL query arrives as " 02:00" (form decoding turns "+" into a space)
    text = re.sub(r"\s(\d{2}:?\d{2})$", r"+\1", value.strip())
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise StreamConfigError(
            f"from={value!r} is neither {' nor '.join(named)} nor an ISO time such as 2026-01-31T12:00:00Z"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def redact(text: str, secrets: list[str]) -> str:
    """``text`` with every secret value replaced, for messages built from a client library's errors."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def first_line(error: BaseException) -> str:
    """A client error as one short line (client messages can span pages)."""
    lines = str(error).strip().splitlines()
    return (lines[0] if lines else type(error).__name__)[:300]
