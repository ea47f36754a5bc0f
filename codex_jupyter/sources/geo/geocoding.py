"""Geocoding for notebooks: a provider chain with fallback, and whole columns at once.

A :class:`GeocoderChain` asks its providers in order (configured online ones
first, the offline gazetteer last) and takes the first match. Per provider it
spaces requests with geopy's ``RateLimiter``, retries transient failures
(timeouts, 429, 5xx) with exponential backoff, stops asking a provider that
refuses (403, 401, quota) or keeps failing, and caches answers in SQLite.

:func:`geocode_frame` and :func:`reverse_frame` geocode a DataFrame column:
values are de-duplicated first, rows are never dropped or reordered, and each
row that has no match says why in ``geocode_error``. A summary of failures by
reason lands in ``result.attrs["geocode_summary"]``.
"""

from __future__ import annotations

import itertools
import logging
import time
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from geopy.exc import GeopyError
from geopy.extra.rate_limiter import RateLimiter
from geopy.geocoders.base import Geocoder

from codex_jupyter.errors import InputError, require_columns
from codex_jupyter.sources.geo.cache import GeocodeCache
from codex_jupyter.sources.geo.offline import OfflineGeocoder, coordinate_problem
from codex_jupyter.sources.geo.providers import (
    ProviderSpec,
    classify,
    confidence,
    name_of,
    protect_secrets,
    retry_after,
    secrets_of,
    spec_from_environment,
    specs_from_environment,
)
from codex_jupyter.sphere import haversine_km

__all__ = [
    "Answer",
    "ColumnAnswers",
    "GeocoderChain",
    "Match",
    "OfflineGeocoder",
    "ProviderSpec",
    "geocode_address",
    "geocode_frame",
    "reverse_frame",
    "reverse_point",
]

log = logging.getLogger(__name__)

#: Longer queries are refused before any request: no provider geocodes a paragraph.
MAX_QUERY_LENGTH = 500
#: Matches kept per query (the first is the answer; the rest are shown as alternatives).
MAX_MATCHES = 5
#: Rows sampled from a text column, and the share of distinct ones above which rows are not deduplicated.
_DISTINCT_SAMPLE, _DISTINCT_SHARE = 1024, 0.95
#: Above this many distinct values a progress bar appears (offline lookups are quick, online ones are not).
_PROGRESS_OFFLINE, _PROGRESS_ONLINE = 5000, 20

FORWARD_COLUMNS = ("lat", "lon", "matched", "provider", "confidence", "geocode_error")
REVERSE_COLUMNS = ("matched", "matched_lat", "matched_lon", "distance_km", "provider", "confidence", "geocode_error")


@dataclass(frozen=True)
class Match:
    """One place a provider returned."""

    address: str
    lat: float
    lon: float
    confidence: float
    provider: str


@dataclass(frozen=True)
class Answer:
    """The chain's answer to one query: matches (best first) or the reason there are none.

    ``provider_errors`` lists providers that failed before the answer was
    found, as ``(provider, reason)``; reasons never contain keys or URLs.
    """

    query: str
    matches: tuple[Match, ...] = ()
    error: str | None = None
    provider_errors: tuple[tuple[str, str], ...] = ()

    @property
    def best(self) -> Match | None:
        return self.matches[0] if self.matches else None

    def describe(self) -> str:
        """One line for a reader: the best match's address, or the query and why nothing matched."""
        return self.best.address if self.best else f"{self.query}: {self.error or 'no match'}"


@dataclass
class ColumnAnswers:
    """The chain's answers to many values at once, one entry per value asked (what a column needs).

    ``lat``/``lon`` are the matched place's; ``distance_km`` is filled by
    reverse lookups only. ``provider_errors`` counts ``"provider: reason"``
    failures met on the way.
    """

    lat: np.ndarray
    lon: np.ndarray
    confidence: np.ndarray
    matched: np.ndarray
    provider: np.ndarray
    error: np.ndarray
    distance_km: np.ndarray
    provider_errors: Counter[str]

    @classmethod
    def empty(cls, n: int) -> ColumnAnswers:
        """``n`` values, none answered yet."""
        lat, lon, confidence, km = (np.full(n, np.nan) for _ in range(4))
        matched, provider, error = (np.full(n, None, dtype=object) for _ in range(3))
        return cls(lat, lon, confidence, matched, provider, error, km, Counter())

    def record(self, at: Any, answer: Answer) -> None:
        """Store one chain answer at position(s) ``at``."""
        self.provider_errors.update(f"{name}: {reason}" for name, reason in answer.provider_errors)
        best = answer.best
        if best is None:
            self.error[at] = answer.error
            return
        self.lat[at], self.lon[at], self.confidence[at] = best.lat, best.lon, best.confidence
        self.matched[at], self.provider[at] = best.address, best.provider


class _Failed(Exception):
    def __init__(self, reason: str, transient: bool) -> None:
        super().__init__(reason)
        self.reason, self.transient = reason, transient


class _Provider:
    """A geopy geocoder with its request spacing (one ``RateLimiter`` for forward and reverse)."""

    def __init__(self, geocoder: Geocoder, name: str, label: str, delay: float) -> None:
        self.geocoder, self.name, self.label = geocoder, name, label
        self.cacheable = not isinstance(geocoder, OfflineGeocoder)  # the gazetteer is faster than SQLite
        self.limited = RateLimiter(self._call, min_delay_seconds=delay, max_retries=0, swallow_exceptions=False)

    def _call(self, kind: str, request: Any) -> Any:
        if kind == "forward":
            return self.geocoder.geocode(request, exactly_one=False)
        return self.geocoder.reverse(request, exactly_one=False)


class GeocoderChain:
    """Providers tried in order until one matches.

    ``providers``: names (``"google"``, configured from the environment),
    :class:`ProviderSpec` objects, or geopy geocoders you built yourself;
    ``None`` means what the environment configures (offline only by default).
    ``cache``: ``True`` for the user cache file, a :class:`GeocodeCache`, or
    ``False``. A provider that refuses (403, 401, quota) or fails
    ``give_up_after`` queries in a row is skipped for the rest of a batch.
    """

    def __init__(
        self,
        providers: Sequence[str | ProviderSpec | Geocoder] | None = None,
        *,
        cache: bool | GeocodeCache = True,
        retries: int = 2,
        backoff_seconds: float = 0.5,
        max_wait_seconds: float = 30.0,
        timeout: float = 10.0,
        give_up_after: int = 3,
    ) -> None:
        if retries < 0 or give_up_after < 1:
            raise InputError("retries must be >= 0 and give_up_after >= 1")
        specs = specs_from_environment() if providers is None else list(providers)
        if not specs:
            raise InputError("a geocoder chain needs at least one provider")
        self._providers = [self._provider(p, timeout) for p in specs]
        self.cache = GeocodeCache() if cache is True else (cache or None)
        self.retries, self.backoff_seconds, self.max_wait_seconds = retries, backoff_seconds, max_wait_seconds
        self.give_up_after = give_up_after
        self._broken: dict[str, str] = {}
        self._streak: Counter[str] = Counter()

    @staticmethod
    def _provider(item: str | ProviderSpec | Geocoder, timeout: float) -> _Provider:
        if isinstance(item, str):
            item = spec_from_environment(item)
        if isinstance(item, ProviderSpec):
            spec = item
            if spec.name != "offline" and "timeout" not in spec.options:
                spec = ProviderSpec(spec.name, {**spec.options, "timeout": timeout}, spec.min_delay_seconds)
            protect_secrets(spec.secrets)
            return _Provider(spec.build(), spec.name, spec.label, spec.delay)
        if isinstance(item, Geocoder):
            protect_secrets(secrets_of(item))
            name = name_of(item)
            domain = getattr(item, "domain", None)
            return _Provider(item, name, f"{name}@{domain}" if domain else name, 0.0)
        raise TypeError(f"a provider is a name, a ProviderSpec or a geopy geocoder, not {type(item).__name__}")

    def __repr__(self) -> str:
        return f"GeocoderChain({[p.label for p in self._providers]!r})"

    @property
    def providers(self) -> list[str]:
        """Provider labels in the order they are asked."""
        return [p.label for p in self._providers]

    @property
    def offline(self) -> OfflineGeocoder | None:
        """The offline geocoder when it is the only provider (then whole columns are vectorised)."""
        only = self._providers[0].geocoder if len(self._providers) == 1 else None
        return only if isinstance(only, OfflineGeocoder) else None

    def start_batch(self) -> None:
        """Give every provider a fresh chance (a new column, a new day)."""
        self._broken.clear()
        self._streak.clear()

    def geocode(self, query: str) -> Answer:
        """Places for one address (validated first: empty or overlong queries never reach a provider)."""
        text, reason = clean_address(query)
        if reason is not None:
            return Answer(str(query), error=reason)
        return self._resolve("forward", text.casefold(), text)

    def reverse(self, lat: float, lon: float) -> Answer:
        """Places at one point, nearest first."""
        reason = coordinate_problem(lat, lon)
        if reason is not None:
            return Answer(f"{lat},{lon}", error=reason)
        lat, lon = float(lat), float(lon)
        return self._resolve("reverse", f"{lat:.6f},{lon:.6f}", (lat, lon))

    def geocode_many(self, values: np.ndarray | pa.StringArray, progress: bool | None = None) -> ColumnAnswers:
        """Answers for many distinct values (text or not), in order; equal texts up to case are asked once.

        When the offline gazetteer is the only provider, one vectorised pass
        (:meth:`OfflineGeocoder.match_common`) answers the usual forms and only
        the rest is asked one query at a time; otherwise every value is.
        """
        out = ColumnAnswers.empty(len(values))
        todo = np.arange(len(values))
        offline = self.offline
        if offline is not None and len(values):
            todo = _match_common(offline, values, out)
            out.provider[~np.isnan(out.lat)] = self._providers[0].name
        queries: dict[str, tuple[str, list[int]]] = {}  # equal up to case: one query
        rest = values.take(todo).to_pylist() if isinstance(values, pa.Array) else values[todo]
        for j, value in zip(todo.tolist(), rest, strict=True):
            text, reason = clean_address(value)
            if reason is not None:
                out.error[j] = reason
            else:
                queries.setdefault(text.casefold(), (text, []))[1].append(j)
        self.start_batch()
        for text, at in _progress(list(queries.values()), progress, self, "geocoding", "address"):
            out.record(at, self.geocode(text))
        return out

    def reverse_many(self, lat: np.ndarray, lon: np.ndarray, progress: bool | None = None) -> ColumnAnswers:
        """Places at many valid points (ranges checked by the caller), in order; equal points are asked once.

        When the offline gazetteer is the only provider this is one vectorised
        KD-tree query (:meth:`OfflineGeocoder.reverse_many`); otherwise each
        distinct point is asked in turn.
        """
        out = ColumnAnswers.empty(len(lat))
        offline = self.offline
        if offline is not None:
            found = offline.reverse_many(lat, lon)
            out.lat, out.lon = found.lat.to_numpy(), found.lon.to_numpy()
            out.distance_km, out.confidence = found.distance_km.to_numpy(), found.confidence.to_numpy()
            out.matched = found.address.to_numpy()
            hit = found.address.notna().to_numpy()
            out.provider[hit] = self._providers[0].name
            out.error[~hit] = "no match"
            return out
        self.start_batch()
        keys = pd.Series(np.round(lat, 6)).astype(str) + "," + pd.Series(np.round(lon, 6)).astype(str)
        rows_of = pd.Series(np.arange(len(lat))).groupby(keys.to_numpy()).indices  # "lat,lon" -> positions
        for key in _progress(rows_of, progress, self, "reverse geocoding", "point"):
            at = rows_of[key]
            out.record(at, self.reverse(lat[at[0]], lon[at[0]]))
        found = np.flatnonzero(out.provider != None)  # noqa: E711 - elementwise
        out.distance_km[found] = haversine_km(lat[found], lon[found], out.lat[found], out.lon[found])
        return out

    def _resolve(self, kind: str, key: str, request: Any) -> Answer:
        failures: list[tuple[str, str]] = []
        answered = False
        for p in self._providers:
            if p.label in self._broken:
                failures.append((p.name, self._broken[p.label]))
                continue
            cached = self.cache.get(p.label, kind, key) if self.cache and p.cacheable else None
            if cached is not None:
                matches = [Match(**m, provider=p.name) for m in cached]
            else:
                try:
                    matches = self._ask(p, kind, request)
                except _Failed as failed:
                    failures.append((p.name, failed.reason))
                    self._note_failure(p, failed)
                    continue
                self._streak[p.label] = 0
                if self.cache and p.cacheable:
                    self.cache.put(p.label, kind, key, [_stored(m) for m in matches])
            answered = True
            if matches:
                return Answer(key, tuple(matches), None, tuple(failures))
        error = "no match" if answered else "; ".join(f"{name}: {reason}" for name, reason in failures)
        return Answer(key, (), error, tuple(failures))

    def _ask(self, p: _Provider, kind: str, request: Any) -> list[Match]:
        for attempt in itertools.count():
            try:
                found = p.limited(kind, request)
                break
            except (GeopyError, ValueError, KeyError, TypeError, IndexError) as exc:
                reason, transient = classify(exc)
                if not transient or attempt >= self.retries:
                    raise _Failed(reason, transient) from None
                wait = max(self.backoff_seconds * 2**attempt, retry_after(exc) or 0.0)
                time.sleep(min(wait, self.max_wait_seconds))
        locations = [] if found is None else (found if isinstance(found, list) else [found])
        return [
            Match(loc.address or "", float(loc.latitude), float(loc.longitude), confidence(p.name, loc), p.name)
            for loc in locations[:MAX_MATCHES]
        ]

    def _note_failure(self, p: _Provider, failed: _Failed) -> None:
        self._streak[p.label] += 1
        if not failed.transient or self._streak[p.label] >= self.give_up_after:
            self._broken[p.label] = failed.reason
            log.warning("geocoding: %s failed (%s); asking the next provider for the rest", p.label, failed.reason)


def _stored(m: Match) -> dict[str, Any]:
    stored = asdict(m)
    del stored["provider"]
    return stored


# -- validation ---------------------------------------------------------------------------------------------------


def clean_address(value: Any) -> tuple[str, None] | tuple[None, str]:
    """``(query, None)`` for usable text, ``(None, reason)`` otherwise.

    Whitespace is collapsed and control characters removed; integers (postal
    codes) become text; other types are refused rather than guessed at.
    """
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return None, "missing"
    if isinstance(value, (bool, np.bool_)):
        return None, "not text (bool)"
    if isinstance(value, (int, np.integer)):
        value = str(value)
    if not isinstance(value, str):
        return None, f"not text ({type(value).__name__})"
    text = unicodedata.normalize("NFC", value)
    if not text.isprintable():  # printable text has no control or format characters: skip the per-character pass
        text = "".join(c for c in text if unicodedata.category(c)[0] != "C" or c in "\t\n")
    text = " ".join(text.split())
    if not text:
        return None, "empty"
    if len(text) > MAX_QUERY_LENGTH:
        return None, f"too long ({len(text)} characters; limit {MAX_QUERY_LENGTH})"
    if not any(c.isalnum() for c in text):
        return None, "no letters or digits"
    return text, None


# -- one query (for %geocode and search boxes) ----------------------------------------------------------------------


def geocode_address(
    query: str, *, chain: GeocoderChain | None = None, providers: Sequence[Any] | None = None
) -> Answer:
    """Geocode one address with the configured chain (or ``providers``)."""
    return _chain(chain, providers).geocode(query)


def reverse_point(
    lat: float, lon: float, *, chain: GeocoderChain | None = None, providers: Sequence[Any] | None = None
) -> Answer:
    """The place(s) at one point with the configured chain (or ``providers``)."""
    return _chain(chain, providers).reverse(lat, lon)


def _chain(chain: GeocoderChain | None, providers: Sequence[Any] | None) -> GeocoderChain:
    if chain is not None and providers is not None:
        raise InputError("pass either chain= or providers=, not both")
    return chain if chain is not None else GeocoderChain(providers)


# -- whole columns --------------------------------------------------------------------------------------------------


def geocode_frame(
    df: pd.DataFrame,
    column: str,
    *,
    chain: GeocoderChain | None = None,
    providers: Sequence[Any] | None = None,
    prefix: str = "",
    progress: bool | None = None,
) -> pd.DataFrame:
    """A copy of ``df`` with ``lat, lon, matched, provider, confidence, geocode_error`` added.

    ``matched`` is the address the provider matched (check it: "Paris" may be
    matched in Texas). Equal addresses are geocoded once. Rows are neither
    dropped nor reordered; a row without a match has NaN coordinates and a
    reason. ``prefix`` names the new columns ``{prefix}lat`` ... so existing
    columns are never overwritten (a clash raises ``ValueError``).
    """
    names = _new_columns(df, [column], prefix, FORWARD_COLUMNS)
    chain = _chain(chain, providers)
    codes, uniques = _factorize(df[column])
    answers = chain.geocode_many(uniques, progress)
    at, missing = np.maximum(codes, 0), codes < 0
    columns = {
        "lat": _take(answers.lat, at, missing, np.nan),
        "lon": _take(answers.lon, at, missing, np.nan),
        "matched": _take(answers.matched, at, missing, None),
        "provider": _take(answers.provider, at, missing, None),
        "confidence": _take(answers.confidence, at, missing, np.nan),
        "geocode_error": _take(answers.error, at, missing, "missing"),
    }
    return _result(df, names, columns, answers.provider_errors)


def _match_common(offline: OfflineGeocoder, values: np.ndarray | pa.StringArray, out: ColumnAnswers) -> np.ndarray:
    """Fill in the distinct ``values`` :meth:`OfflineGeocoder.match_common` settles; the positions of the rest.

    It is handed the raw text, not :func:`clean_address`'s: for the texts it
    settles cleaning changes nothing folding sees (NFC and squeezed spaces
    fold alike, the fold table leaves out the characters cleaning drops, and
    a text with no letter is not settled). Texts that cleaning could find too
    long (NFC makes a text at most three times longer, UAX #15) and values
    that are no text are left to the per-query path, which gives their reasons.
    """
    if isinstance(values, pa.StringArray):
        size = pc.binary_length(values).to_numpy()  # in bytes, which are never fewer than characters
    else:
        size = np.fromiter((len(v) if isinstance(v, str) else -1 for v in values), dtype=np.int64, count=len(values))
    ask = np.flatnonzero((size >= 0) & (size <= MAX_QUERY_LENGTH // 3))
    if not isinstance(values, pa.StringArray):
        common = offline.match_common(values[ask].tolist())
    else:
        common = offline.match_common(values if len(ask) == len(values) else values.take(ask))
    # Rows without a match hold NaN and None: writing them all leaves the rest as the parser will find them.
    rows = slice(None) if len(ask) == len(values) else ask
    for into, column in ((out.lat, "lat"), (out.lon, "lon"), (out.confidence, "confidence"), (out.matched, "address")):
        into[rows] = common[column].to_numpy()
    decided = common.decided.to_numpy()
    out.error[ask[decided & np.isnan(out.lat[ask])]] = "no match"
    settled = np.zeros(len(values), dtype=bool)
    settled[ask[decided]] = True
    return np.flatnonzero(~settled)


def reverse_frame(
    df: pd.DataFrame,
    lat: str,
    lon: str,
    *,
    chain: GeocoderChain | None = None,
    providers: Sequence[Any] | None = None,
    prefix: str = "",
    progress: bool | None = None,
) -> pd.DataFrame:
    """A copy of ``df`` with the place at each point: ``matched`` (its name), ``matched_lat``,
    ``matched_lon``, ``distance_km`` (from the row's point), ``provider``, ``confidence``, ``geocode_error``.

    The place's coordinates are ``matched_lat``/``matched_lon`` because the
    input already has ``lat``/``lon``. Out-of-range, missing and non-numeric
    coordinates get a reason instead of a match. Offline only, the lookup is
    one vectorised KD-tree query (about a million points a second).
    """
    names = _new_columns(df, [lat, lon], prefix, REVERSE_COLUMNS)
    chain = _chain(chain, providers)
    la = pd.to_numeric(df[lat], errors="coerce").to_numpy(dtype=float)
    lo = pd.to_numeric(df[lon], errors="coerce").to_numpy(dtype=float)
    n = len(df)
    error = np.full(n, None, dtype=object)
    error[np.isnan(la) | np.isnan(lo)] = "missing coordinates"
    error[(pd.isna(la) & df[lat].notna().to_numpy()) | (pd.isna(lo) & df[lon].notna().to_numpy())] = (
        "invalid coordinates"
    )
    error[(error == None) & (np.abs(la) > 90)] = "latitude out of range"  # noqa: E711 - elementwise
    error[(error == None) & (np.abs(lo) > 180)] = "longitude out of range"  # noqa: E711 - elementwise
    ok = np.flatnonzero(error == None)  # noqa: E711 - elementwise
    found = chain.reverse_many(la[ok], lo[ok], progress)
    error[ok] = found.error
    matched, provider = np.full(n, None, dtype=object), np.full(n, None, dtype=object)
    out_lat, out_lon, km, conf = (np.full(n, np.nan) for _ in range(4))
    for into, values in (
        (matched, found.matched),
        (provider, found.provider),
        (out_lat, found.lat),
        (out_lon, found.lon),
        (km, found.distance_km),
        (conf, found.confidence),
    ):
        into[ok] = values
    columns = {
        "matched": matched,
        "matched_lat": out_lat,
        "matched_lon": out_lon,
        "distance_km": np.round(km, 3),
        "provider": provider,
        "confidence": conf,
        "geocode_error": error,
    }
    return _result(df, names, columns, found.provider_errors)


def _new_columns(df: pd.DataFrame, inputs: list[str], prefix: str, columns: Iterable[str]) -> dict[str, str]:
    require_columns(df.columns, inputs)
    names = {c: f"{prefix}{c}" for c in columns}
    clash = [n for n in names.values() if n in df.columns]
    if clash:
        raise InputError(
            f"the frame already has column(s) {', '.join(clash)}; pass prefix='geo_' (or drop them) "
            "so nothing is overwritten"
        )
    return names


def _factorize(values: pd.Series) -> tuple[np.ndarray, np.ndarray | pa.StringArray]:
    """Distinct values and each row's position among them (-1 = missing).

    A column of text (and missing values) is encoded by Arrow: it hashes
    strings about three times faster than pandas, and the offline geocoder
    folds Arrow strings with no Python string per value. When a sample of
    rows shows nearly all of them differ, each row stands for itself:
    hashing every value costs more than the few repeats save. Anything else
    is factorized by pandas into an object array.
    """
    try:
        text = pa.array(values, from_pandas=True)  # Arrow infers strings only when every value is one
    except (pa.ArrowException, UnicodeEncodeError):  # mixed types; lone surrogates, which UTF-8 cannot hold
        text = None
    if isinstance(text, pa.StringArray):  # not chunked (over 2 GB of text), not bytes (binary)
        sample = text.take(np.linspace(0, len(text) - 1, min(len(text), _DISTINCT_SAMPLE)).astype(np.int64))
        if len(text) and pc.count_distinct(sample).as_py() >= _DISTINCT_SHARE * len(sample):
            codes = np.arange(len(text))
            if text.null_count:
                codes[text.is_null().to_numpy(zero_copy_only=False)] = -1
                text = text.fill_null("")
            return codes, text
        encoded = text.dictionary_encode()
        return encoded.indices.fill_null(-1).to_numpy(), encoded.dictionary
    try:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        return codes, np.asarray(uniques, dtype=object)
    except TypeError:  # unhashable cells (lists, dicts): each row stands alone and gets a reason
        return np.arange(len(values)), values.to_numpy(dtype=object)


def _take(per_unique: np.ndarray, at: np.ndarray, missing: np.ndarray, fill: Any) -> np.ndarray:
    """Per-row values from per-distinct-value ones (row ``at`` a distinct value); ``missing`` rows get ``fill``."""
    if not len(per_unique):
        return np.full(len(at), fill, dtype=per_unique.dtype)
    out = per_unique[at]
    out[missing] = fill
    return out


def _progress(items: Iterable[Any], progress: bool | None, chain: GeocoderChain, desc: str, unit: str) -> Iterable[Any]:
    """A tqdm bar over the distinct values when the work is long (or when asked)."""
    total = len(items)  # type: ignore[arg-type]
    if progress is None:
        progress = total > (_PROGRESS_OFFLINE if chain.offline is not None else _PROGRESS_ONLINE)
    if not progress:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, total=total, desc=desc, unit=unit)


def _result(
    df: pd.DataFrame, names: dict[str, str], columns: dict[str, np.ndarray], provider_errors: Counter[str]
) -> pd.DataFrame:
    new = {names[column]: values for column, values in columns.items()}
    new[names["confidence"]] = np.asarray(columns["confidence"], dtype=float)
    if type(df) is pd.DataFrame and df.columns.is_unique and df.columns.nlevels == 1:
        # One new frame from copies of the columns: several times faster than inserting columns one by one.
        old = {column: values.copy() for column, values in df.items()}
        out = pd.DataFrame(old | new, index=df.index, copy=False).__finalize__(df)
        out.columns.name = df.columns.name
    else:  # subclasses (GeoDataFrame) and repeated or nested column labels
        out = df.copy()
        for column, values in new.items():
            out[column] = values
    by_reason = _counts(columns["geocode_error"])
    failed = sum(by_reason.values())
    summary = {
        "rows": len(out),
        "matched": len(out) - failed,
        "failed": failed,
        "by_reason": by_reason,
        "by_provider": _counts(columns["provider"]),
        "provider_errors": dict(provider_errors.most_common()),
    }
    out.attrs["geocode_summary"] = summary
    if summary["failed"]:
        log.info(
            "geocoding: %d of %d rows without a match: %s", summary["failed"], summary["rows"], summary["by_reason"]
        )
    return out


def _counts(values: np.ndarray) -> dict[str, int]:
    """How often each value other than None occurs, most frequent first.

    What ``Series.value_counts`` gives, at a fraction of its cost on a
    column of repeated strings (it is run on every geocoded column).
    """
    codes, uniques = pd.factorize(values)
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
    return {str(uniques[i]): int(counts[i]) for i in np.argsort(-counts, kind="stable")}
