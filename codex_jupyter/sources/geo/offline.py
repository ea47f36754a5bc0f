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
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from geopy.geocoders.base import DEFAULT_SENTINEL, Geocoder
from geopy.location import Location
from geopy.point import Point

from codex_jupyter.errors import InputError
from codex_jupyter.sources.geo.gazetteer import (
    CITY_SETS,
    Gazetteer,
    KeyIndex,
    fold_parts,
    load_gazetteer,
    normalize,
)
from codex_jupyter.sphere import chord_to_km, km_to_chord, unit_vectors

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
#: ``match`` of no match, a match by name and by alternate name (``match_common`` takes from it).
_MATCHES = np.array([None, "name", "alternate name"], dtype=object)


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
                raise InputError(f"{problem}: {query!r}")
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
        gaz = self.gazetteer
        bound = km_to_chord(self.max_distance_km) if self.max_distance_km is not None else np.inf
        chord, index = gaz.tree.query(unit_vectors(np.asarray(lat, float), np.asarray(lon, float)), k=1, p=2)
        km = chord_to_km(np.where(np.isfinite(chord), chord, 0.0))
        index = np.where(chord <= bound, index, -1)
        return index.astype(np.int64), np.where(index >= 0, km, np.nan)

    def reverse_many(self, lat: np.ndarray, lon: np.ndarray) -> pd.DataFrame:
        """The nearest city to many points at once (one KD-tree query; about a million points a second).

        Coordinates must already be valid (callers check ranges row by row).
        Columns: ``address``, ``lat``, ``lon`` (the city's), ``distance_km``,
        ``confidence``; None and NaN where no city is within ``max_distance_km``.
        """
        index, km = self.nearest(lat, lon)
        hit = index >= 0
        at = np.maximum(index, 0)
        gaz = self.gazetteer
        address = gaz.labels[at]
        address[~hit] = None
        return pd.DataFrame(
            {
                "address": address,
                "lat": np.where(hit, gaz.lat[at], np.nan),
                "lon": np.where(hit, gaz.lon[at], np.nan),
                "distance_km": km,
                "confidence": np.round(reverse_confidence(km), 3),
            },
            copy=False,
        )

    def match_common(self, queries: Sequence[str] | pa.StringArray) -> pd.DataFrame:
        """The best match of many queries at once, for the forms most columns hold: "City", "City, Country", "City, ST".

        Parsing each query and building geopy ``Location`` objects costs about
        50 µs a query. Here a column is folded at once (:func:`fold_parts`),
        its names are looked up in a hash index and the answers come from a
        table of every (name, qualifier) answer :meth:`geocode` can give, so
        a column of distinct names costs well under a microsecond a query.
        The answers are those of :meth:`geocode` (same place, ``match``,
        ``confidence`` and ``ambiguous``). Rows with ``decided`` False hold
        other forms (street parts, three parts, a qualifier that rules out
        every city, no letters, characters the fold table leaves out): ask
        :meth:`geocode` for those. Columns: ``decided``, ``pos`` (the city's
        gazetteer position; -1 for no match and for a country or US state),
        ``address``, ``lat``, ``lon``, ``match``, ``confidence``,
        ``ambiguous``; one row per query, in order.
        """
        gaz = self.gazetteer
        table = _answers(self.min_city_population)
        parts = fold_parts(queries)
        one, two = parts.count == 1, parts.count == 2
        key = np.append(table.keys.find(parts), -1)  # the last -1 for texts without such a part
        first = key[np.where(one | two, parts.first, -1)]
        name = table.name_of[first]
        region = table.lone_region[table.qualifier_of[np.where(one, first, -1)]]
        qualifier = table.qualifier_of[key[np.where(two, parts.first + 1, -1)]]
        # A lone name is a region, a city or no match; a qualified one is answered by its first reading with a city
        # (as a country, then as a US state). The parser answers the rest, trying the unqualified reading too.
        group = table.lookup(name, np.where(one & (region < 0), 0, -1))
        for readings in (table.country_reading, table.state_reading):
            reading = np.where((qualifier >= 0) & (group < 0), readings[qualifier], -1)
            group = np.where(group >= 0, group, table.lookup(name, reading))
        hit = group >= 0
        group = np.maximum(group, 0)
        at = table.pos[group]
        address = gaz.labels[at]
        address[~hit] = None
        columns = {
            "decided": one | hit,
            "pos": np.where(hit, at, -1),
            "address": address,
            "lat": np.where(hit, gaz.lat[at], np.nan),
            "lon": np.where(hit, gaz.lon[at], np.nan),
            "match": _MATCHES[np.where(hit, 1 + table.alternate[group], 0)],
            "confidence": np.where(hit, table.confidence[group], np.nan),
            "ambiguous": hit & table.ambiguous[group],
        }
        regions = np.flatnonzero(region >= 0)
        for column, values in table.regions.items():
            columns[column][regions] = values.to_numpy()[region[regions]]
        return pd.DataFrame(columns, copy=False)

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


@dataclass(frozen=True)
class _Answers:
    """Every answer :meth:`OfflineGeocoder.geocode` gives to a city name alone or with a country or US state.

    A ``code`` is ``name * width + reading``: reading 0 is the name alone,
    1 + i the name in the i-th country of the city set, 1 + countries + j
    the name in the j-th (country, region) pair a qualifier can name (US
    states, UK home nations). Only codes with a city are kept.
    """

    keys: KeyIndex  # folded city names and alternate names, then names that may mean a region
    name_of: np.ndarray  # per key (and a last -1 for none): the city name it is, or -1
    qualifier_of: np.ndarray  # the same for region names (``Gazetteer.region_keys``, sorted)
    country_reading: np.ndarray  # per qualifier (and a last -1 for none): its reading as a country, -1 if none
    state_reading: np.ndarray  # the same as a US state
    lone_region: np.ndarray  # the same: its row in ``regions`` when alone it means the region, -1 for its cities
    regions: pd.DataFrame  # address, lat, lon, match, confidence, ambiguous of those answers
    width: int
    alone: np.ndarray  # per name (and a last one past the end): its row for reading 0, where its rows begin
    code: np.ndarray  # sorted
    pos: np.ndarray  # per code: the best city
    alternate: np.ndarray  # whether it matched by an alternate name
    confidence: np.ndarray
    ambiguous: np.ndarray

    def lookup(self, name: np.ndarray, reading: np.ndarray) -> np.ndarray:
        """Rows for ``(name, reading)`` pairs, -1 where either is -1 or no city has that name there.

        A name's rows follow one another from its row for reading 0, in the
        order of readings, and a name has a few: a walk beats a search.
        """
        found = np.full(len(name), -1, dtype=np.int64)
        ask = np.flatnonzero((name >= 0) & (reading >= 0))
        code = name[ask] * self.width + reading[ask]
        slot, stop = self.alone[name[ask]], self.alone[name[ask] + 1]
        pending = np.arange(len(ask))
        while len(pending):
            here = self.code[slot[pending]]
            there = pending[here == code[pending]]
            found[ask[there]] = slot[there]
            pending = pending[here < code[pending]]
            slot[pending] += 1
            pending = pending[slot[pending] < stop[pending]]
        return found


@lru_cache(maxsize=len(CITY_SETS))
def _answers(min_city_population: int) -> _Answers:
    """The table for a city set (built on first use in about half a second, then shared).

    The ranking is :meth:`OfflineGeocoder._ranked`'s, done once for every
    name and reading: population (alternate names weighted down), ties to
    the lower geonameid, confidence the top candidate's share of the
    candidates' scores (each plus one) times the match quality. Whether a
    lone region name means the region or its cities is the parser's own
    answer for each of those few hundred names.
    """
    gaz = load_gazetteer(min_city_population)
    rows = gaz.name_rows
    name, names = pd.factorize(rows.key)
    country, countries = pd.factorize(gaz.country)
    qualifier_keys = sorted(gaz.region_keys)
    keys = KeyIndex([*names, *(k for k in qualifier_keys if k not in gaz.primary and k not in gaz.alternate)])
    qualifier_of = np.full(keys.size + 1, -1, dtype=np.int64)
    qualifier_of[keys.find(fold_parts(qualifier_keys))] = np.arange(len(qualifier_keys))  # each key is one part
    as_country = [gaz.country_filter(key) for key in qualifier_keys]
    as_state = [("US", gaz.state_keys[key]) if key in gaz.state_keys else None for key in qualifier_keys]
    pairs = sorted({f for f in as_country + as_state if f is not None and f[1] is not None})
    pair = {p: i for i, p in enumerate(pairs)}
    country_at = {c: i for i, c in enumerate(countries)}
    city_pair = np.array([pair.get(p, -1) for p in zip(gaz.country, gaz.admin1, strict=True)], dtype=np.int64)

    def reading(where: tuple[str, str | None] | None) -> int:
        if where is None or (where[0] not in country_at if where[1] is None else where not in pair):
            return -1
        return 1 + country_at[where[0]] if where[1] is None else 1 + len(countries) + pair[where]

    width = 1 + len(countries) + len(pairs)
    pos, alternate = rows.pos.to_numpy(), rows.alternate.to_numpy()
    paired = np.flatnonzero(city_pair[pos] >= 0)
    member = np.concatenate([np.arange(len(rows)), np.arange(len(rows)), paired])
    code = np.concatenate(
        [
            name * width,
            name * width + 1 + country[pos],
            name[paired] * width + 1 + len(countries) + city_pair[pos][paired],
        ]
    )
    score = gaz.population[pos] * np.where(alternate, _ALTERNATE_WEIGHT, 1.0)
    rank = np.empty(len(rows), dtype=np.int64)  # of the rows by score, ties to the lower geonameid
    rank[np.lexsort((gaz.geonameid[pos], -score))] = np.arange(len(rows))
    order = np.argsort(code * len(rows) + rank[member])
    code, member = code[order], member[order]
    first = np.flatnonzero(np.diff(code, prepend=-1))
    size = np.diff(first, append=len(code))
    scores = score[member] + 1.0
    total = scores[first]
    several = size > 1
    # Summed as _ranked sums, by numpy's own sum of a new array: an order of additions differs in the last bit.
    spans = zip(first[several].tolist(), size[several].tolist(), strict=True)
    total[several] = [scores[at : at + n].copy().sum() for at, n in spans]
    share = scores[first] / total
    best_alternate = alternate[member[first]]
    confidence = np.where(best_alternate, _QUALITY["alternate name"], _QUALITY["name"]) * share
    # Python's round, as geocode() uses: numpy's rounds some halves the other way. Lone candidates score exactly.
    confidence[several] = [round(c, 3) for c in confidence[several].tolist()]
    code = code[first]
    geocoder = OfflineGeocoder(min_city_population=min_city_population)
    lone_region = np.full(len(qualifier_keys) + 1, -1, dtype=np.int64)
    regions = []
    for i, key in enumerate(qualifier_keys):
        found = geocoder._forward(key, None)
        if found and found[0].raw["kind"] != "city":
            lone_region[i] = len(regions)
            regions.append(found[0])
    return _Answers(
        keys=keys,
        name_of=np.concatenate([np.arange(len(names)), np.full(keys.size + 1 - len(names), -1)]),
        qualifier_of=qualifier_of,
        country_reading=np.array([*map(reading, as_country), -1], dtype=np.int64),
        state_reading=np.array([*map(reading, as_state), -1], dtype=np.int64),
        lone_region=lone_region,
        regions=pd.DataFrame(
            [
                (loc.address, loc.latitude, loc.longitude, loc.raw["match"], loc.raw["confidence"], False)
                for loc in regions
            ],
            columns=["address", "lat", "lon", "match", "confidence", "ambiguous"],
        ),
        width=width,
        alone=np.append(np.flatnonzero(code % width == 0), len(code)),
        code=code,
        pos=pos[member[first]],
        alternate=best_alternate,
        confidence=confidence,
        ambiguous=several & (share < _CLEAR_SHARE),
    )


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
