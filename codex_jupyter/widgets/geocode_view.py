"""How geocoding results display: matches as an escaped table, a geocoded frame with its summary.

Both have ``_repr_html_`` and ``__repr__``; every value is HTML-escaped (an
address is user text) and nothing shown ever includes a provider key.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any, Protocol

import numpy as np
import pandas as pd


class Match(Protocol):
    """One place a geocoder found: what the view shows of it."""

    address: str
    lat: float
    lon: float
    confidence: float
    provider: str


class GeocodeAnswer(Protocol):
    """What the view needs of a geocoder's answer (``sources.geocoding.Answer`` has it).

    Described here, not imported: views sit above sources and take plain data.
    """

    query: str
    matches: Sequence[Match]
    error: str | None
    provider_errors: Sequence[tuple[str, str]]

    @property
    def best(self) -> Match | None: ...


class GeocodeMatches:
    """The match(es) for one address or point, best first, or why there are none."""

    def __init__(self, answer: GeocodeAnswer) -> None:
        self.answer = answer

    def frame(self) -> pd.DataFrame:
        """The matches as a DataFrame (address, lat, lon, confidence, provider)."""
        rows = [(m.address, m.lat, m.lon, m.confidence, m.provider) for m in self.answer.matches]
        return pd.DataFrame(rows, columns=["address", "lat", "lon", "confidence", "provider"])

    def map(self, height: str = "280px") -> Any:
        """The matches on a small map, each with a popup (``None`` when there is none to show)."""
        if self.answer.best is None:
            return None
        from codex_jupyter.widgets.map import MapView

        return MapView(self.frame(), popup=["address", "confidence", "provider"], name="Matches", height=height)

    def _ipython_display_(self) -> None:
        """In a notebook: the table, then the small map (a terminal shows the text alone)."""
        from IPython.display import display

        display({"text/plain": repr(self), "text/html": self._repr_html_()}, raw=True)
        view = self.map()
        if view is not None:
            display(view)

    def _notes(self) -> list[str]:
        notes = [f"{name}: {reason}" for name, reason in self.answer.provider_errors]
        if self.answer.error:
            notes.insert(0, f"no match for {self.answer.query!r}: {self.answer.error}")
        return notes

    def __repr__(self) -> str:
        body = [] if self.answer.best is None else [repr(self.frame())]
        return "\n".join([*self._notes(), *body]) or "no match"

    def _repr_html_(self) -> str:
        notes = "".join(f"<div class='codex-geocode-note'>{escape(n)}</div>" for n in self._notes())
        table = "" if self.answer.best is None else self.frame().to_html(escape=True, index=False, border=0)
        return f"<div class='codex-geocode'>{notes}{table}</div>"


class GeocodedFrame(pd.DataFrame):
    """A geocoded copy of the user's frame, displayed as a summary plus its first rows.

    It *is* the full DataFrame (``-o`` and ``_`` hold all rows); frames
    derived from it are plain DataFrames.
    """

    _metadata = ["displaylimit"]

    @property
    def _constructor(self) -> type[pd.DataFrame]:
        return pd.DataFrame

    @classmethod
    def wrap(cls, frame: pd.DataFrame, displaylimit: int = 10) -> GeocodedFrame:
        out = cls(frame)
        out.attrs = dict(frame.attrs)
        out.displaylimit = displaylimit
        return out

    def _summary(self) -> str:
        summary = self.attrs.get("geocode_summary")
        return summary_text(summary) if summary else ""

    def _shown(self) -> pd.DataFrame:
        return pd.DataFrame(self).head(max(self.displaylimit, 0))

    def __repr__(self) -> str:
        return "\n".join(part for part in (self._summary(), repr(self._shown())) if part)

    def _repr_html_(self) -> str:
        summary = "".join(f"<div>{escape(line)}</div>" for line in self._summary().splitlines())
        shown = self._shown().replace({np.nan: None})
        table = shown.to_html(escape=True, max_cols=50, border=0, na_rep="")
        return f"<div class='codex-geocoded'><div style='color:#555;font-size:90%'>{summary}</div>{table}</div>"


def summary_text(summary: dict[str, Any]) -> str:
    """One readable line per fact of a ``geocode_summary``."""
    lines = [f"{summary['matched']:,} of {summary['rows']:,} rows matched"]
    if summary["by_provider"]:
        lines.append("by provider: " + ", ".join(f"{k} {v:,}" for k, v in summary["by_provider"].items()))
    if summary["by_reason"]:
        lines.append("not matched: " + ", ".join(f"{k} ({v:,})" for k, v in summary["by_reason"].items()))
    if summary["provider_errors"]:
        lines.append("provider failures: " + ", ".join(f"{k} ({v:,})" for k, v in summary["provider_errors"].items()))
    return "\n".join(lines)
