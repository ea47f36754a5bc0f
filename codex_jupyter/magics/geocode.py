"""``%geocode``: one address or point, or a whole DataFrame column, through the provider chain.

``%geocode "10 Downing Street, London"`` shows the match(es);
``%geocode --reverse 48.85,2.35`` the place at a point;
``%geocode df.address -o out`` geocodes a column into ``out``;
``%geocode df --reverse lat,lon -o out`` reverse-geocodes two columns.
``--provider google,mapbox`` picks providers for this call (configured from
the environment); ``%config GeocodeMagic.providers = "google,offline"`` sets
the default.

IPython expands ``$name`` and ``{name}`` in this magic's line as in any line
magic (``%geocode "$city"`` geocodes the value of ``city``): an address is
data sent to a geocoder, never code or SQL, so expansion is what users expect.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic import line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from traitlets import Int, Unicode

from codex_jupyter.magics.base import CodexMagics, user_errors

if TYPE_CHECKING:
    import pandas as pd


#: ``df.address`` or ``df["home city"]``: a column of a DataFrame in the notebook.
_COLUMN_REF = re.compile(r"""^(?P<frame>[A-Za-z_]\w*)(?:\.(?P<attr>[A-Za-z_]\w*)|\[(?P<q>["'])(?P<key>.+)(?P=q)\])$""")
_NUMBER_PAIR = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*$")


@magics_class
class GeocodeMagic(CodexMagics):
    """Geocode addresses, points or DataFrame columns; see the module docstring for the forms."""

    providers = Unicode(
        "",
        config=True,
        help="Comma-separated providers to use by default (empty: what the environment configures).",
    )
    displaylimit = Int(10, config=True, help="Rows shown for a geocoded frame (the full frame is in -o and _).")

    @magic_arguments()
    @argument("-o", "--out", help="Store the result (the geocoded DataFrame, or the matches) in this variable.")
    @argument("-p", "--provider", help="Comma-separated providers, e.g. google,mapbox,offline.")
    @argument("--reverse", help="lat,lon: a point, or the two column names to reverse-geocode.")
    @argument("--progress", action="store_true", help="Always show a progress bar.")
    @argument("target", nargs="*", help="An address, or a column reference such as df.address.")
    @line_magic("geocode")
    def execute(self, line: str = "") -> Any:
        """Geocode and return a displayable result."""
        from codex_jupyter.sources.geo.geocoding import GeocoderChain

        args = self.parse(self.execute, line)
        text = " ".join(_unquote(t) for t in args.target).strip()
        names = args.provider if args.provider is not None else self.providers
        with user_errors():
            chain = GeocoderChain([p.strip() for p in names.split(",") if p.strip()] or None)
        frame, column = self._column(text)
        result = self._frame(frame, column, args, chain) if frame is not None else self._single(text, args, chain)
        self.store(args.out, result)
        return result

    def _column(self, text: str) -> tuple[pd.DataFrame | None, str | None]:
        """``(frame, column)`` when ``text`` names a DataFrame (or its column) in the notebook."""
        import pandas as pd

        ref = _COLUMN_REF.match(text)
        name = ref.group("frame") if ref else text
        value = self.shell.user_ns.get(name) if name.isidentifier() else None
        if isinstance(value, pd.Series) and ref is None:
            return value.to_frame(name=value.name if value.name is not None else "value"), None
        if not isinstance(value, pd.DataFrame):
            return None, None
        column = (ref.group("attr") or ref.group("key")) if ref else None
        if column is not None and column not in value.columns:
            raise UsageError(f"{name} has no column {column!r} (columns: {', '.join(map(str, value.columns))})")
        return value, column

    def _frame(self, frame: pd.DataFrame, column: str | None, args: Any, chain: Any) -> Any:
        from codex_jupyter.sources.geo.geocoding import geocode_frame, reverse_frame
        from codex_jupyter.widgets.geocode_view import GeocodedFrame

        progress = True if args.progress else None
        with user_errors():
            if args.reverse:
                lat, lon = _two(args.reverse, "--reverse needs the two column names as lat,lon")
                out = reverse_frame(frame, lat, lon, chain=chain, progress=progress)
            else:
                if column is None:
                    if frame.shape[1] != 1:
                        raise UsageError("name the column to geocode, e.g. df.address (or use --reverse lat,lon)")
                    column = frame.columns[0]
                out = geocode_frame(frame, column, chain=chain, progress=progress)
        return GeocodedFrame.wrap(out, self.displaylimit)

    def _single(self, text: str, args: Any, chain: Any) -> Any:
        from codex_jupyter.widgets.geocode_view import GeocodeMatches

        if args.reverse:
            if text:
                raise UsageError(f"{text!r} is not a DataFrame in this notebook; --reverse takes lat,lon alone")
            point = _NUMBER_PAIR.match(args.reverse)
            if point is None:
                raise UsageError(f"--reverse needs a point as lat,lon (e.g. 48.85,2.35), not {args.reverse!r}")
            return GeocodeMatches(chain.reverse(float(point.group(1)), float(point.group(2))))
        if not text:
            raise UsageError('give an address (%geocode "10 Downing Street, London") or a column (%geocode df.address)')
        return GeocodeMatches(chain.geocode(text))


def _two(value: str, message: str) -> tuple[str, str]:
    parts = [p.strip() for p in value.split(",")]
    if len(parts) != 2 or not all(parts):
        raise UsageError(f"{message}, not {value!r}")
    return parts[0], parts[1]


def _unquote(token: str) -> str:
    """IPython's argument parser keeps the quotes around ``"10 Downing Street, London"``: drop them."""
    if len(token) >= 2 and token[0] == token[-1] and token[0] in "'\"":
        return token[1:-1]
    return token
