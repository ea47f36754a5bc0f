"""``OfflineGeocoder``: a geopy ``Geocoder`` over the gazetteer, so it needs no network or account.

Being a real geopy geocoder, it drops into ``geopy.extra.rate_limiter.RateLimiter``,
a map's search box and any user code written for geopy. Each ``Location.raw``
says how the match was made (``match``), how good it is (``quality``,
``confidence``) and whether the name was ambiguous (``ambiguous``,
``alternatives``), because an offline gazetteer knows places, not streets.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from geopy.geocoders.base import DEFAULT_SENTINEL, Geocoder
from geopy.location import Location
from geopy.point import Point

from codex_jupyter.sources.gazetteer import Gazetteer, chord_to_km, km_to_chord, load_gazetteer, normalize

#: Match quality by how the name matched; street-level parts that were skipped lower it.
_QUALITY = {"name": 1.0, "alternate name": 0.9, "state": 0.7, "country": 0.6}
_SKIPPED_PARTS_FACTOR = 0.7
_MAX_ALTERNATIVES = 5
#: How much an alternate name counts against an own name when ranking candidates by population.
_ALTERNATE_WEIGHT = 0.3
#: Below this share of the candidates' population the top candidate is reported as ambiguous.
_CLEAR_SHARE = 0.9
#: A country or state named like a city wins when it has this many times the city's population.
_REGION_OVER_CITY = 20


@dataclass(frozen=True)
class _Filter:
    """Trailing qualifiers such as ", TX", ", France" or ", Scotland"."""

    country: str | None = None
    admin1: str | None = None


class OfflineGeocoder(Geocoder):
    """Forward and reverse geocoding of cities, countries and US states with no network.

    Forward accepts "City", "City, Country", "City, ST" (US state), "City, ST,
    Country", alternate names in other languages and scripts, any case and
    accents; leading parts it does not know ("10 Downing Street, London") are
    skipped with a lower confidence. Candidates are ranked by population; the
    confidence is the match quality times the top candidate's share of the
    candidates' population, so "Springfield" scores lower than "Paris".

    Reverse returns the nearest city on the sphere, with ``distance_km`` in
    ``raw``; ``max_distance_km`` turns far-away points (mid-ocean) into no match.
    """

    name = "offline"

    def __init__(self, *, min_city_population: int = 15000, max_distance_km: float | None = None) -> None:
        super().__init__()
        self.min_city_population = min_city_population
        self.max_distance_km = max_distance_km

    def __repr__(self) -> str:
        return f"OfflineGeocoder(min_city_population={self.min_city_population})"

    @property
    def gazetteer(self) -> Gazetteer:
        """The shared city tables (built on first use)."""
        return load_gazetteer(self.min_city_population)

    def geocode(
        self,
        query: str,
        *,
        exactly_one: bool = True,
        timeout: Any = DEFAULT_SENTINEL,
        country_codes: str | list[str] | None = None,
    ) -> Location | list[Location] | None:
        """Places named by ``query``, best first (``None`` when nothing matches).

        ``timeout`` is accepted for geopy compatibility; lookups are in memory.
        ``country_codes`` restricts matches like geopy's Nominatim option.
        """
        if not isinstance(query, str):
            raise TypeError(f"query must be a string, not {type(query).__name__}")
        codes = [country_codes] if isinstance(country_codes, str) else country_codes
        allowed = {c.upper() for c in codes} if codes is not None else None
        locations = self._forward(query, allowed)
        if not locations:
            return None
        return locations[0] if exactly_one else locations

    def reverse(
        self, query: Any, *, exactly_one: bool = True, timeout: Any = DEFAULT_SENTINEL
    ) -> Location | list[Location] | None:
        """The nearest city to a point: ``(lat, lon)``, ``"lat, lon"`` or a geopy ``Point``."""
        if isinstance(query, (tuple, list)) and len(query) == 2:
            problem = coordinate_problem(*query)
            if problem is not None:
                raise ValueError(f"{problem}: {query!r}")
        point = Point(query)
        index, km = self.nearest(np.array([point.latitude]), np.array([point.longitude]))
        if index[0] < 0:
            return None
        location = self._city_location(int(index[0]), "nearest", 1.0, reverse_km=float(km[0]))
        return location if exactly_one else [location]

    def nearest(self, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Vectorised reverse lookup: gazetteer positions (-1 = none within range) and kilometres.

        Coordinates must already be valid (callers check ranges row by row).
        """
        from codex_jupyter.sources.gazetteer import unit_vectors

        gaz = self.gazetteer
        bound = km_to_chord(self.max_distance_km) if self.max_distance_km is not None else np.inf
        chord, index = gaz.tree.query(unit_vectors(np.asarray(lat, float), np.asarray(lon, float)), k=1, p=2)
        km = chord_to_km(np.where(np.isfinite(chord), chord, 0.0))
        index = np.where(chord <= bound, index, -1)
        return index.astype(np.int64), np.where(index >= 0, km, np.nan)

    def match_common(self, queries: Sequence[str]) -> pd.DataFrame:
        """The best match of many queries at once, for the forms most columns hold: "City", "City, Country", "City, ST".

        Parsing each query and building geopy ``Location`` objects costs about
        50 µs a query; one join of the normalised names against the
        gazetteer's name index answers the common forms for a column of
        distinct names in a fraction of that. The answers are those of
        :meth:`geocode` (same city, ``match``, ``confidence`` and ``ambiguous``).
        Rows with ``decided`` False hold other forms (a lone region name,
        street parts, three parts, a qualifier that rules out every city):
        ask :meth:`geocode` for those. Columns: ``decided``, ``pos`` (gazetteer
        position, -1 for no match), ``address``, ``lat``, ``lon``, ``match``,
        ``confidence``, ``ambiguous``; one row per query, in order.
        """
        gaz = self.gazetteer
        attempts = []  # (query, order, key, country, admin1): the filtered readings _interpretations tries first
        undecided = np.zeros(len(queries), dtype=bool)
        for q, query in enumerate(queries):
            parts = [p for p in (normalize(part) for part in query.split(",")) if p]
            if len(parts) == 1 and parts[0] not in gaz.region_keys:
                attempts.append((q, 0, parts[0], None, None))
            elif len(parts) == 2:
                country, state = gaz.country_filter(parts[1]), gaz.state_keys.get(parts[1])
                readings = ([country] if country else []) + ([("US", state)] if state else [])
                attempts += [(q, order, parts[0], *where) for order, where in enumerate(readings)]
                undecided[q] = not readings
            else:
                undecided[q] = True
        found = self._best_of(pd.DataFrame(attempts, columns=["query", "order", "key", "country", "admin1"]))
        # The first reading with a city wins. A single name with no city is no match; a qualified one
        # with no city in its region falls back to the parser, which also tries the unqualified reading.
        best = found[found.pos >= 0].drop_duplicates("query").set_index("query").reindex(range(len(queries)))
        hit = best.pos.notna().to_numpy()
        single = np.zeros(len(queries), dtype=bool)
        single[[a[0] for a in attempts if a[3] is None]] = True
        pos = best.pos.fillna(-1).to_numpy(dtype=np.int64)
        at = np.maximum(pos, 0)
        alternate = best.alternate.eq(True).to_numpy()
        share = (best.best / best.total).to_numpy(dtype=float)
        quality = np.where(alternate, _QUALITY["alternate name"], _QUALITY["name"])
        confidence = (quality * share).tolist()
        return pd.DataFrame(
            {
                "decided": ~undecided & (hit | single),
                "pos": pos,
                "address": np.where(hit, gaz.labels[at], None),
                "lat": np.where(hit, gaz.lat[at], np.nan),
                "lon": np.where(hit, gaz.lon[at], np.nan),
                "match": np.where(hit, np.where(alternate, "alternate name", "name"), None),
                # Python's round, as geocode() uses: numpy's rounds some halves the other way.
                "confidence": [round(c, 3) if h else math.nan for c, h in zip(confidence, hit, strict=True)],
                "ambiguous": hit & (best.n.to_numpy() > 1) & (share < _CLEAR_SHARE),
            }
        )

    def _best_of(self, attempts: pd.DataFrame) -> pd.DataFrame:
        """Each attempt's top candidate (``pos``, ``alternate``), its ``best`` and ``total`` score and ``n`` candidates.

        Scores and the ranking are :meth:`_ranked`'s: population (alternate
        names weighted down) plus one, ties to the lower geonameid.
        """
        gaz = self.gazetteer
        rows = gaz.name_rows
        cand = rows[rows.key.isin(set(attempts.key))]
        score = gaz.population[cand.pos.to_numpy()] * np.where(cand.alternate.to_numpy(), _ALTERNATE_WEIGHT, 1.0)
        cand = cand.assign(score=score, geonameid=gaz.geonameid[cand.pos.to_numpy()])
        cand = cand.sort_values(["key", "score", "geonameid"], ascending=[True, False, True], kind="stable")
        cand["score"] += 1.0
        results = []
        for by, wanted in (
            (["key"], attempts.country.isna()),
            (["key", "country"], attempts.country.notna() & attempts.admin1.isna()),
            (["key", "country", "admin1"], attempts.admin1.notna()),
        ):
            grouped = cand.groupby(by, sort=False)
            stats = pd.DataFrame(
                {
                    "pos": grouped.pos.first(),
                    "alternate": grouped.alternate.first(),
                    "best": grouped.score.first(),
                    "total": grouped.score.sum(),
                    "n": grouped.size(),
                }
            ).reset_index()
            results.append(attempts[wanted].merge(stats, on=by, how="left"))
        found = pd.concat(results, ignore_index=True).sort_values(["query", "order"], kind="stable")
        found["pos"] = found.pos.fillna(-1).astype(np.int64)
        return found

    def _forward(self, query: str, allowed: set[str] | None) -> list[Location]:
        parts = [p for p in (normalize(part) for part in query.split(",")) if p]
        if not parts:
            return []
        for rest, where in self._interpretations(parts):
            if len(rest) == 1 and where == _Filter():
                region = self._region(rest[0], allowed)
                if region is not None and self._region_wins(rest[0], region):
                    return [region]
            for skipped, part in enumerate(rest):
                found = self._cities(part, where, allowed)
                if found:
                    factor = _SKIPPED_PARTS_FACTOR if skipped else 1.0
                    return self._ranked(found, factor, skipped=rest[:skipped])
        return []

    def _interpretations(self, parts: list[str]) -> list[tuple[list[str], _Filter]]:
        """Ways to read trailing parts as qualifiers, most specific first.

        "Paris, Texas" may mean the state; "Tbilisi, Georgia" the country;
        "Austin, TX, USA" both. The unqualified reading comes last.
        """
        gaz = self.gazetteer
        options: list[tuple[list[str], _Filter]] = []
        if len(parts) >= 3:
            state = gaz.state_keys.get(parts[-2])
            country = gaz.country_filter(parts[-1])
            if state and country and country[0] == "US":
                options.append((parts[:-2], _Filter("US", state)))
        if len(parts) >= 2:
            country = gaz.country_filter(parts[-1])
            if country:
                options.append((parts[:-1], _Filter(*country)))
            state = gaz.state_keys.get(parts[-1])
            if state:
                options.append((parts[:-1], _Filter("US", state)))
        options.append((parts, _Filter()))
        return options

    def _region_wins(self, key: str, region: Location) -> bool:
        """ "Mexico" is the country; "Singapore", "Luxembourg" and "New York" are the cities.

        A region wins over cities of that name unless they are a sizeable
        share of its population (alternate names, like "New York" for New
        York City, count for less than own names).
        """
        gaz = self.gazetteer
        population = region.raw["population"]
        named = gaz.primary.get(key, ())
        also = gaz.alternate.get(key, ())
        return (not named or population > _REGION_OVER_CITY * gaz.population[named[0]]) and (
            not also or population > _REGION_OVER_CITY / 4 * gaz.population[also[0]]
        )

    def _cities(self, key: str, where: _Filter, allowed: set[str] | None) -> list[tuple[int, str]]:
        gaz = self.gazetteer
        found = [(i, "name") for i in gaz.primary.get(key, ())]
        seen = {i for i, _ in found}
        found += [(i, "alternate name") for i in gaz.alternate.get(key, ()) if i not in seen]
        return [
            (i, how)
            for i, how in found
            if (where.country is None or gaz.country[i] == where.country)
            and (where.admin1 is None or gaz.admin1[i] == where.admin1)
            and (allowed is None or gaz.country[i] in allowed)
        ]

    def _ranked(self, found: list[tuple[int, str]], factor: float, skipped: list[str]) -> list[Location]:
        """Rank by population, primary names first among equals; confidence reflects ambiguity."""
        gaz = self.gazetteer
        weight = {"name": 1.0, "alternate name": _ALTERNATE_WEIGHT}
        scored = sorted(found, key=lambda f: (-gaz.population[f[0]] * weight[f[1]], gaz.geonameid[f[0]]))
        scores = np.array([gaz.population[i] * weight[how] + 1.0 for i, how in scored])
        share = float(scores[0] / scores.sum())
        labels = [gaz.label(i) for i, _ in scored]
        out = []
        for rank, (i, how) in enumerate(scored):
            quality = _QUALITY[how] * factor
            location = self._city_location(i, how, quality, share=float(scores[rank] / scores.sum()))
            location.raw["ambiguous"] = len(scored) > 1 and share < _CLEAR_SHARE
            location.raw["alternatives"] = [lab for j, lab in enumerate(labels) if j != rank][:_MAX_ALTERNATIVES]
            if skipped:
                location.raw["ignored"] = ", ".join(skipped)
            out.append(location)
        return out

    def _city_location(
        self, i: int, how: str, quality: float, share: float = 1.0, reverse_km: float | None = None
    ) -> Location:
        gaz = self.gazetteer
        raw: dict[str, Any] = {
            "geonameid": int(gaz.geonameid[i]),
            "name": str(gaz.name[i]),
            "countrycode": str(gaz.country[i]),
            "admin1code": str(gaz.admin1[i]),
            "population": int(gaz.population[i]),
            "kind": "city",
            "match": how,
            "quality": round(quality, 3),
        }
        if reverse_km is not None:
            raw["distance_km"] = round(reverse_km, 3)
            raw["confidence"] = round(float(reverse_confidence(reverse_km)), 3)
        else:
            raw["confidence"] = round(quality * share, 3)
        return Location(gaz.label(i), (float(gaz.lat[i]), float(gaz.lon[i])), raw)

    def _region(self, key: str, allowed: set[str] | None) -> Location | None:
        gaz = self.gazetteer
        country = gaz.country_filter(key)
        region = gaz.countries.get(country[0]) if country and country[1] is None else None
        if region is None and key in gaz.state_keys:
            region = gaz.states.get(gaz.state_keys[key])
        if region is None or (
            allowed is not None and (region.code if region.kind == "country" else "US") not in allowed
        ):
            return None
        quality = _QUALITY[region.kind]
        raw = {
            "name": region.name,
            "code": region.code,
            "population": region.population,
            "kind": region.kind,
            "match": region.kind,
            "quality": quality,
            "confidence": quality,
            "ambiguous": False,
            "alternatives": [],
        }
        label = f"{region.name}, US" if region.kind == "state" else region.name
        return Location(label, (region.lat, region.lon), raw)


def reverse_confidence(km: Any) -> Any:
    """How sure "you are in <city>" is: 1 at the centre, 0.5 at 35 km, near 0 beyond 200 km."""
    return np.exp(-np.asarray(km, dtype=float) / 50.0)


def coordinate_problem(lat: Any, lon: Any) -> str | None:
    """Why a coordinate pair cannot be reverse-geocoded, or ``None`` when it can."""
    try:
        la, lo = float(lat), float(lon)
    except (TypeError, ValueError):
        return "invalid coordinates"
    if math.isnan(la) or math.isnan(lo):
        return "missing coordinates"
    if not -90.0 <= la <= 90.0:
        return "latitude out of range"
    if not -180.0 <= lo <= 180.0:
        return "longitude out of range"
    return None
