"""Tableau Connected Apps (direct trust): short-lived signed tokens, embed specs and share snippets.

A token is a JWT signed with the connected app's secret (HS256): header ``kid`` = secret id and ``iss`` =
client id; claims ``iss``, ``sub`` (the Tableau user), ``aud="tableau"``, ``exp`` (Tableau accepts at most
10 minutes: a longer lifetime is refused, never shortened behind the caller's back), ``jti`` and ``scp``.
User attributes for row-level security are top-level claims that workbooks read with ``USERATTRIBUTE``.

The secret only signs here, in the kernel: a widget, a snippet or a log gets tokens, never the secret.
"""

from __future__ import annotations

import html
import json
import re
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from codex_jupyter import config
from codex_jupyter.config import TableauSettings
from codex_jupyter.errors import InputError
from codex_jupyter.extras import require

#: Tableau refuses a Connected Apps token that lives longer than this.
MAX_LIFETIME = timedelta(minutes=10)
SCOPES = frozenset(
    {"tableau:views:embed", "tableau:views:embed_authoring", "tableau:insights:embed", "tableau:metrics:embed"}
)
DEFAULT_SCOPES = ("tableau:views:embed",)
#: Registered claims a user attribute may not overwrite.
_RESERVED = frozenset({"iss", "sub", "aud", "exp", "jti", "scp", "iat", "nbf"})
_ATTRIBUTE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
TOOLBARS = ("top", "bottom", "hidden")
DEVICES = ("default", "desktop", "tablet", "phone")
FILTER_MODES = ("replace", "add", "remove", "all")


def mint_token(
    user: str,
    attributes: Mapping[str, str | Sequence[str]] | None = None,
    lifetime: timedelta = MAX_LIFETIME,
    scopes: Sequence[str] | None = None,
    settings: TableauSettings | None = None,
) -> str:
    """A signed Connected Apps token for ``user`` (settings from ``TABLEAU_*`` unless given)."""
    jwt = require("bi", "jwt")
    if not user or not isinstance(user, str):
        raise InputError("a Tableau token needs the user it signs in (the Tableau username, e.g. an email)")
    if lifetime <= timedelta(0) or lifetime > MAX_LIFETIME:
        raise InputError(
            f"a Connected Apps token lives at most 10 minutes (Tableau refuses longer ones); got {lifetime}"
        )
    chosen = list(scopes) if scopes is not None else list(DEFAULT_SCOPES)
    unknown = [s for s in chosen if s not in SCOPES]
    if unknown or not chosen:
        raise InputError(
            f"unknown Tableau scope {unknown[0] if unknown else '(none)'}; use {', '.join(sorted(SCOPES))}"
        )
    settings = settings or config.tableau_settings()
    claims: dict[str, Any] = {
        "iss": settings.client_id,
        "sub": user,
        "aud": "tableau",
        "exp": int(time.time() + lifetime.total_seconds()),
        "jti": str(uuid.uuid4()),
        "scp": chosen,
    }
    claims.update(validate_attributes(attributes or {}))
    headers = {"kid": settings.secret_id, "iss": settings.client_id}
    return jwt.encode(claims, settings.secret_value, algorithm="HS256", headers=headers)


def validate_attributes(attributes: Mapping[str, Any]) -> dict[str, str | list[str]]:
    """User attributes as claims: names like identifiers, not a registered claim; values strings or lists of them."""
    out: dict[str, str | list[str]] = {}
    for name, value in attributes.items():
        if not isinstance(name, str) or not _ATTRIBUTE_NAME.match(name) or name in _RESERVED:
            raise InputError(
                f"user attribute name {name!r} must be a name like Region (letters, digits, _) and not one of "
                f"{', '.join(sorted(_RESERVED))}"
            )
        if isinstance(value, str):
            out[name] = value
        elif isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
            out[name] = list(value)
        else:
            raise InputError(f"user attribute {name} must be a string or a list of strings, not {value!r}")
    return out


def token_expiry(token: str) -> datetime:
    """When a token minted here expires (read from its ``exp`` claim, without checking the signature)."""
    jwt = require("bi", "jwt")
    return datetime.fromtimestamp(jwt.decode(token, options={"verify_signature": False})["exp"], tz=UTC)


@dataclass(frozen=True)
class EmbedSpec:
    """What a ``<tableau-viz>`` element is given: the view URL, its options and its initial filters."""

    src: str
    height: int = 800
    toolbar: str = "bottom"
    hide_tabs: bool = False
    device: str = "default"
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    library: str = "bundled"

    @property
    def origin(self) -> str:
        """``scheme://host:port`` of the Tableau server the view is on."""
        parts = urlsplit(self.src)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def library_url(self) -> str:
        """The server's own copy of the Embedding API v3 (what Tableau recommends for version matching)."""
        return f"{self.origin}/javascripts/api/tableau.embedding.3.latest.min.js"

    def attributes(self) -> dict[str, str]:
        """The element's attributes (the token is added per load, never stored here)."""
        attrs = {"src": self.src, "toolbar": self.toolbar, "height": f"{self.height}px", "width": "100%"}
        if self.hide_tabs:
            attrs["hide-tabs"] = ""
        if self.device != "default":
            attrs["device"] = self.device
        return attrs


def embed_spec(
    view_url: str,
    *,
    filters: Mapping[str, str | Sequence[str]] | None = None,
    height: int = 800,
    toolbar: str = "bottom",
    hide_tabs: bool = False,
    device: str = "default",
    library: str = "bundled",
) -> EmbedSpec:
    """Check and gather the options of an embedded view."""
    parts = urlsplit(view_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InputError(
            f"a Tableau view URL looks like https://tableau.example.com/#/site/S/views/W/V, not {view_url!r}"
        )
    if toolbar not in TOOLBARS:
        raise InputError(f"--toolbar must be one of {', '.join(TOOLBARS)}, not {toolbar!r}")
    if device not in DEVICES:
        raise InputError(f"--device must be one of {', '.join(DEVICES)}, not {device!r}")
    if library not in ("bundled", "server"):
        raise InputError(f"library must be 'bundled' or 'server', not {library!r}")
    if not 100 <= int(height) <= 10_000:
        raise InputError(f"--height is in pixels, between 100 and 10000, not {height}")
    return EmbedSpec(
        src=view_url,
        height=int(height),
        toolbar=toolbar,
        hide_tabs=hide_tabs,
        device=device,
        filters={name: _values(name, v) for name, v in (filters or {}).items()},
        library=library,
    )


def _values(name: str, values: str | Sequence[str]) -> tuple[str, ...]:
    chosen = tuple(v.strip() for v in values.split(",")) if isinstance(values, str) else tuple(values)
    if not name or not chosen or not all(isinstance(v, str) and v for v in chosen):
        raise InputError(f"a filter needs a field and at least one value, e.g. Region=EMEA,APAC (got {name}={values})")
    return chosen


def snippet_html(spec: EmbedSpec, *, token_url: str | None = None, token: str | None = None) -> str:
    """A standalone page embedding ``spec`` (the "Share & Embed" step); never carries the secret.

    With ``token_url`` the page fetches a fresh token from it (the URL answers with the token as text, or JSON
    ``{"token": ...}``) before each load; otherwise it carries ``token``, one short-lived token.
    """
    if (token_url is None) == (token is None):
        raise InputError("a snippet needs either --token-url (a URL that mints tokens) or one short-lived token")
    shown = {k: v for k, v in spec.attributes().items() if token is not None or k != "src"}
    attrs = " ".join(f'{k}="{html.escape(v)}"' if v else k for k, v in shown.items())
    if token is not None:
        attrs += f' token="{html.escape(token)}"'
    filters = "\n".join(
        f'    <viz-filter field="{html.escape(name)}" value="{html.escape(",".join(values))}"></viz-filter>'
        for name, values in spec.filters.items()
    )
    fetch = ""
    if token_url is not None:
        fetch = _SNIPPET_FETCH.replace("TOKEN_URL", json.dumps(token_url)).replace("VIEW_URL", json.dumps(spec.src))
    return _SNIPPET.format(library=html.escape(spec.library_url), attrs=attrs, filters=filters, fetch=fetch)


_SNIPPET = """<!doctype html>
<html>
<head>
  <meta charset="utf-8">
  <title>Tableau view</title>
  <script type="module" src="{library}"></script>
</head>
<body>
  <tableau-viz id="tableau-viz" {attrs}>
{filters}
  </tableau-viz>
{fetch}</body>
</html>
"""

#: The element has no src until the page has fetched a token: setting src then signs in with it.
_SNIPPET_FETCH = """  <script type="module">
    const viz = document.getElementById("tableau-viz");
    const answer = await fetch(TOKEN_URL, { credentials: "include" });
    const text = (await answer.text()).trim();
    viz.token = text.startsWith("{") ? JSON.parse(text).token : text;
    viz.src = VIEW_URL;
  </script>
"""
