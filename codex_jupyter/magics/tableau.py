"""``%tableau_embed``: a Tableau view in the notebook, signed in with short-lived Connected Apps tokens.

``%tableau_embed https://tableau.example.com/#/site/sales/views/Superstore/Overview --user ann@example.com
--attr Region=EMEA --filter Region=EMEA,APAC --height 600 --toolbar top --hide-tabs --device desktop -o view``
shows the view (a :class:`~codex_jupyter.widgets.tableau.TableauView`); ``view.on_select(fn)``,
``view.apply_filter("Region", ["EMEA"])`` ... link it to the notebook.

``--snippet page.html`` writes the "Share & Embed" page instead: with ``--token-url URL`` it fetches a token from
your URL before loading; without, it carries one short-lived token and says when that expires. Neither ever
carries the secret, which stays in the kernel (``TABLEAU_SECRET_VALUE``).

:func:`tableau_view` is the same as a function, for scripts and Voila dashboards.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic import line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from codex_jupyter.magics.base import CodexMagics, unquote, user_errors

if TYPE_CHECKING:
    from codex_jupyter.widgets.tableau import TableauView


def tableau_view(
    view_url: str,
    user: str | None = None,
    attributes: Mapping[str, str | Sequence[str]] | None = None,
    filters: Mapping[str, str | Sequence[str]] | None = None,
    height: int = 800,
    toolbar: str = "bottom",
    hide_tabs: bool = False,
    device: str = "default",
    library: str = "bundled",
    lifetime: timedelta = timedelta(minutes=10),
) -> TableauView:
    """An embedded Tableau view for ``user`` (``TABLEAU_USER`` by default), minting a fresh token per load.

    Settings, user and attributes are checked now, so a mistake fails in the cell, not later in the browser.
    """
    from codex_jupyter import config
    from codex_jupyter.sources.bi.tableau import embed_spec, mint_token, validate_attributes
    from codex_jupyter.widgets.tableau import TableauView

    spec = embed_spec(
        view_url, filters=filters, height=height, toolbar=toolbar, hide_tabs=hide_tabs, device=device, library=library
    )
    settings = config.tableau_settings()
    who = user or config.environment().get("TABLEAU_USER", "")
    claims = validate_attributes(attributes or {})
    mint_token(who, claims, lifetime, settings=settings)  # fails now on a bad user, lifetime or attribute

    def fresh_token() -> str:
        return mint_token(who, claims, lifetime, settings=settings)

    return TableauView(
        spec.attributes(), fresh_token, filters=dict(spec.filters), library=library, library_url=spec.library_url
    )


@magics_class
class TableauMagic(CodexMagics):
    """Embed Tableau views; see the module docstring."""

    @magic_arguments()
    @argument("view_url", help="The view's URL (Share > Copy Link).")
    @argument("--user", help="The Tableau user to sign in (default: TABLEAU_USER).")
    @argument("--attr", action="append", default=[], help="NAME=VALUE user attribute for row-level security.")
    @argument("--filter", action="append", default=[], help="FIELD=V1,V2 initial filter; repeatable.")
    @argument("--height", type=int, default=800, help="Height in pixels (default 800).")
    @argument("--toolbar", default="bottom", help="top, bottom or hidden.")
    @argument("--hide-tabs", action="store_true", help="Hide the sheet tabs.")
    @argument("--device", default="default", help="default, desktop, tablet or phone.")
    @argument("--library", default="bundled", help="bundled (default) or server: the server's own Embedding API.")
    @argument("--snippet", help="Write a standalone HTML page to this file instead of showing the view.")
    @argument("--token-url", help="With --snippet: a URL of yours that answers with a fresh token.")
    @argument("-o", "--out", help="Store the view in this variable.")
    @line_magic("tableau_embed")
    def tableau_embed(self, line: str = "") -> Any:
        """Show the view, or write its snippet."""
        args = self.parse(self.tableau_embed, line)
        url = unquote(args.view_url)
        attributes = _pairs(args.attr, "--attr", "Region=EMEA")
        filters = _pairs(args.filter, "--filter", "Region=EMEA,APAC")
        options = {
            "filters": filters,
            "height": args.height,
            "toolbar": args.toolbar,
            "hide_tabs": args.hide_tabs,
            "device": args.device,
        }
        with user_errors():
            if args.snippet:
                return self._snippet(url, args, attributes, options)
            if args.token_url:
                raise UsageError("--token-url goes with --snippet FILE.html")
            view = tableau_view(url, args.user, attributes, library=args.library, **options)
        self.store(args.out, view)
        return view

    def _snippet(self, url: str, args: Any, attributes: dict[str, str], options: dict[str, Any]) -> str:
        from codex_jupyter import config
        from codex_jupyter.sources.bi.tableau import embed_spec, mint_token, snippet_html, token_expiry

        spec = embed_spec(url, **options)
        if args.token_url:
            page, note = (
                snippet_html(spec, token_url=unquote(args.token_url)),
                f"it fetches tokens from {args.token_url}",
            )
        else:
            token = mint_token(args.user or config.environment().get("TABLEAU_USER", ""), attributes)
            expires = token_expiry(token)
            page = snippet_html(spec, token=token)
            note = f"its token expires at {expires:%Y-%m-%d %H:%M:%S} UTC: share it before then, or use --token-url"
        path = Path(unquote(args.snippet)).expanduser()
        path.write_text(page)
        return f"wrote {path}; {note}"


def _pairs(items: list[str], option: str, example: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = unquote(item).partition("=")
        if not sep or not name.strip():
            raise UsageError(f"{option} needs NAME=VALUE, e.g. {option} {example}, not {item!r}")
        out[name.strip()] = value
    return out
