"""The offline geocoder (a real geopy Geocoder) and whole-column geocoding with bad input."""

from __future__ import annotations

import logging
import random
import unicodedata

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from geopy.exc import GeocoderQuotaExceeded, GeocoderRateLimited, GeocoderTimedOut
from geopy.extra.rate_limiter import RateLimiter
from geopy.geocoders.base import Geocoder

from codex_jupyter.errors import ConfigError
from codex_jupyter.sources.geo.gazetteer import fold_parts, load_gazetteer, normalize
from codex_jupyter.sources.geo.geocoding import (
    GeocoderChain,
    OfflineGeocoder,
    geocode_address,
    geocode_frame,
    reverse_frame,
)
from codex_jupyter.sources.geo.providers import ProviderSpec, classify, spec_from_environment
from codex_jupyter.sphere import haversine_km
from codex_jupyter.widgets.geocode_view import summary_text


@pytest.fixture(scope="module")
def offline() -> OfflineGeocoder:
    return OfflineGeocoder()


@pytest.fixture(scope="module")
def chain() -> GeocoderChain:
    return GeocoderChain(["offline"], cache=False)


@pytest.mark.parametrize(
    ("query", "address"),
    [
        ("Paris", "Paris, France"),
        ("paris, texas", "Paris, TX, US"),
        ("Paris, TX", "Paris, TX, US"),
        ("Springfield, IL", "Springfield, IL, US"),
        ("Austin, TX, USA", "Austin, TX, US"),
        ("London, UK", "London, United Kingdom"),
        ("Edinburgh, Scotland", "Edinburgh, United Kingdom"),
        ("Tbilisi, Georgia", "Tbilisi, Georgia"),
        ("Atlanta, Georgia", "Atlanta, GA, US"),
        ("SAINT-ÉTIENNE", "Saint-Étienne, France"),
        ("saint etienne", "Saint-Étienne, France"),
        ("München", "Munich, Germany"),
        ("Москва", "Moscow, Russia"),
        ("Bombay", "Mumbai, India"),
        ("New York", "New York City, NY, US"),
        ("France", "France"),
        ("Mexico", "Mexico"),
        ("Texas", "Texas, US"),
        ("  lyon  ,  FR ", "Lyon, France"),
    ],
)
def test_forward_forms(offline: OfflineGeocoder, query: str, address: str) -> None:
    assert offline.geocode(query).address == address


def test_confidence_reports_ambiguity_and_skipped_street_parts(offline: OfflineGeocoder) -> None:
    paris = offline.geocode("Paris")
    assert paris.raw["confidence"] > 0.95 and not paris.raw["ambiguous"]
    springfield = offline.geocode("Springfield")
    assert springfield.raw["ambiguous"] and springfield.raw["confidence"] < 0.5
    assert "Springfield, IL, US" in springfield.raw["alternatives"]
    downing = offline.geocode("10 Downing Street, London")
    assert downing.address == "London, United Kingdom" and downing.raw["ignored"] == "10 downing street"
    assert downing.raw["confidence"] < paris.raw["confidence"]
    country = offline.geocode("Germany")
    assert country.raw["kind"] == "country" and 47 < country.latitude < 55


def test_all_candidates_ranked_by_population_and_country_filter(offline: OfflineGeocoder) -> None:
    many = offline.geocode("Springfield", exactly_one=False)
    populations = [loc.raw["population"] for loc in many if loc.raw["match"] == "name"]
    assert len(many) >= 5 and populations == sorted(populations, reverse=True)
    assert offline.geocode("Paris", country_codes=["us"]).address == "Paris, TX, US"


@pytest.mark.parametrize("query", ["", "   ", "zzqxv", "🍕🚀", ",,,", "x" * 10_000])
def test_no_match_is_none(offline: OfflineGeocoder, query: str) -> None:
    assert offline.geocode(query) is None


def test_is_a_geopy_geocoder_usable_with_rate_limiter(offline: OfflineGeocoder) -> None:
    assert isinstance(offline, Geocoder)
    limited = RateLimiter(offline.geocode, min_delay_seconds=0)
    assert limited("Lyon").raw["countrycode"] == "FR"
    assert RateLimiter(offline.reverse, min_delay_seconds=0)("45.74906, 4.84789").address == "Lyon, France"


def test_reverse_is_nearest_on_the_sphere(offline: OfflineGeocoder) -> None:
    """Against a brute-force great-circle search, including high latitudes where flat degrees fail."""
    gaz = load_gazetteer(15000)
    rng = np.random.default_rng(7)
    lat, lon = rng.uniform(-60, 80, 400), rng.uniform(-180, 180, 400)
    lat[:100] = rng.uniform(55, 72, 100)
    index, km = offline.nearest(lat, lon)
    # Some places share coordinates (Choshi and Hasaki): compare distances, and positions where there is no tie.
    p1, p2 = np.radians(lat)[:, None], np.radians(gaz.lat)[None, :]
    dl = np.radians(gaz.lon[None, :] - lon[:, None])
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    brute = 2 * 6371.0088 * np.arcsin(np.sqrt(h))
    np.testing.assert_allclose(km, brute.min(axis=1), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(brute[np.arange(len(lat)), index], brute.min(axis=1), rtol=1e-6, atol=1e-6)


def test_reverse_across_the_antimeridian_and_max_distance() -> None:
    near_dateline = OfflineGeocoder().reverse((-18.1, 179.99))  # Suva, Fiji is at 178.4 E
    assert near_dateline.raw["countrycode"] == "FJ" and near_dateline.raw["distance_km"] < 250
    assert OfflineGeocoder(max_distance_km=100).reverse((0.0, -160.0)) is None
    with pytest.raises(ValueError, match="latitude out of range"):
        OfflineGeocoder().reverse((95.0, 0.0))


def test_vectorised_common_forms_answer_exactly_as_the_parser(offline: OfflineGeocoder) -> None:
    """``match_common`` (one pass for a whole column) must give ``geocode``'s place, match, confidence and ambiguity."""
    gaz = load_gazetteer(15000)
    rng = np.random.default_rng(11)
    cities = rng.choice(len(gaz.name), 1500, replace=False)
    us = rng.choice(np.flatnonzero(gaz.country == "US"), 300, replace=False)
    queries = [
        *(str(gaz.name[i]) for i in cities),
        *(str(gaz.name[i]).upper() for i in cities[:200]),
        *rng.choice(list(gaz.alternate), 800, replace=False).tolist(),
        *(f"{gaz.name[i]}, {gaz.country_names[gaz.country[i]]}" for i in cities[:400]),
        *(f"{gaz.name[i]}, {gaz.country[i]}" for i in cities[400:600]),
        *(f"{gaz.name[i]}, {gaz.admin1[i]}" for i in us),
        *(f"{gaz.name[i]}, {gaz.state_names.get(gaz.admin1[i], 'Texas')}" for i in us[:100]),
        *sorted(gaz.region_keys),
        *("Paris", "Springfield", "Tbilisi, Georgia", "Atlanta, Georgia", "Edinburgh, Scotland", "Paris, Germany"),
        *("France", "Texas", "New York", "Singapore", "Austin, TX, USA", "10 Downing Street, London", "zzqxv", "🍕"),
        *("Lyon, FR", "München", "MÜNCHEN", "Gießen", "Москва", "İstanbul", "  new   york ", "rio de janeiro,brazil"),
    ]
    common = offline.match_common(queries)
    assert len(common) == len(queries) and common.decided.mean() > 0.95
    for query, row in zip(queries, common.itertuples(), strict=True):
        if not row.decided:
            continue
        location = offline.geocode(query)
        if location is None:
            assert row.pos == -1 and row.address is None and np.isnan(row.lat), query
            continue
        raw = location.raw
        city = raw["kind"] == "city"
        assert (gaz.geonameid[row.pos] if city else row.pos) == (raw["geonameid"] if city else -1), query
        assert (row.address, row.lat, row.lon) == (location.address, location.latitude, location.longitude), query
        assert (row.match, row.confidence, row.ambiguous) == (raw["match"], raw["confidence"], raw["ambiguous"]), query
    undecided = set(np.array(queries, dtype=object)[~common.decided.to_numpy()])
    assert {"Austin, TX, USA", "10 Downing Street, London", "Paris, Germany", "🍕"} == undecided
    assert common.match[queries.index("France")] == "country" and common.match[queries.index("Texas")] == "state"
    assert common.address[queries.index("New York")] == "New York City, NY, US"
    assert offline.match_common([]).empty


def test_fold_parts_folds_every_character_as_normalize_does() -> None:
    """Each character the fold table holds, between letters, after a comma and next to spaces, folds as ``normalize``.

    ``fold_parts`` folds a column from a per-character table; ``normalize`` folds one text with NFKD, dropping
    marks, ``casefold`` and a regular expression. A text with a character the table leaves out must say so.
    """
    from codex_jupyter.sources.geo.gazetteer import _fold_table

    table = _fold_table()
    chars = [chr(point) for point in np.flatnonzero(table.length >= 0).tolist()]
    rng = random.Random(3)
    texts = [f"a{c}b" for c in chars] + [f" {c},{c} x{c}{c} " for c in chars]
    texts += ["".join(rng.choices(chars, k=rng.randint(0, 12))) for _ in range(20_000)]
    texts += [
        "".join(rng.choice(("e\u0301", "ß", "ﬁ", " ", ",", "-", "Ⅻ", "한", "Ǆ", "a")) for _ in range(9))
        for _ in range(2000)
    ]
    parts = fold_parts(texts)
    folded = parts.chars.tobytes().decode("utf-32-le")
    assert np.array_equal(parts.start, np.cumsum(parts.length) - parts.length) and parts.length.sum() == len(folded)
    for i, text in enumerate(texts):
        expected = [p for p in (normalize(part) for part in text.split(",")) if p]
        at = range(parts.first[i], parts.first[i] + parts.count[i])
        assert [folded[parts.start[p] : parts.start[p] + parts.length[p]] for p in at] == expected, text
    for column in (pa.array(texts), pa.array(["x", *texts]).slice(1)):  # Arrow strings, as columns arrive
        same = fold_parts(column)
        assert all(np.array_equal(getattr(same, f), getattr(parts, f)) for f in ("count", "first", "chars", "hash"))
    left_out = [
        "Par\u200bis",
        "Lyon\x00",
        "Nice\r",
        "Metz\x85",
        "Caen\ue000",
        "Brest\U000e0001",
        "\U0004e000",
        "℅ Paris",
    ]
    left_out += ["Lille\udc80"]  # a lone surrogate: no Arrow array can hold it
    assert (fold_parts(left_out).count == -1).all() and (fold_parts(left_out).first == -1).all()
    assert (fold_parts(pa.array(left_out[:-1])).count == -1).all()


def test_key_index_is_exact_when_hashes_collide(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a multiplier of zero every key of one first letter shares a hash; code points still decide."""
    from codex_jupyter.sources.geo import gazetteer

    monkeypatch.setattr(gazetteer, "_HASH_MULTIPLIER", 0)
    keys = ["paris", "pau", "pamplona", "lyon", "lille", "l", "ab", "abc"]
    index = gazetteer.KeyIndex(keys)
    parts = fold_parts([*keys, "pari", "parisx", "lyons", "x", "a", "abd", "", ", paris", "abc, pau", "x, y, lille"])
    assert index.find(parts).tolist() == [*range(8), -1, -1, -1, -1, -1, -1, 0, 7, 1, -1, -1, 4]


def test_geocode_frame_offline_equals_asking_the_chain_one_by_one(chain: GeocoderChain) -> None:
    queries = ["Paris", "paris", "Lyon, France", "Springfield, IL", "Texas", "zzqxv", "10 Downing Street, London", None]
    out = geocode_frame(pd.DataFrame({"q": queries}), "q", chain=chain)
    assert out.geocode_error.iloc[-1] == "missing"
    for query, row in zip(queries[:-1], out.iloc[:-1].itertuples(), strict=True):
        best = chain.geocode(query).best
        if best is None:
            assert row.geocode_error == "no match" and np.isnan(row.lat)
        else:
            assert (row.matched, row.lat, row.lon, row.confidence, row.provider) == (
                best.address,
                best.lat,
                best.lon,
                best.confidence,
                "offline",
            )


def _distinct_names(n: int) -> list:
    """Many distinct spellings of places, in the forms and with the flaws columns have."""
    gaz = load_gazetteer(15000)
    rng = random.Random(5)
    names, values = list(pd.unique(gaz.name)), []
    states, countries = list(gaz.state_names.items()), list(gaz.country_names.items())
    shapes = [
        str,
        str.upper,
        str.lower,
        str.swapcase,
        lambda s: unicodedata.normalize("NFD", s),
        lambda s: f"  {s.replace(' ', '   ')}\t",
        lambda s: s.replace(" ", "\n"),
        lambda s: f"{s}, {rng.choice(countries)[1]}",
        lambda s: f"{s},{rng.choice(countries)[0].lower()}",
        lambda s: f"{s}, {rng.choice(states)[0]}",
        lambda s: f"{s} , {rng.choice(states)[1].upper()} ",
        lambda s: f"{s}, {rng.choice(names)}",
        lambda s: f"10 Main Street, {s}, {rng.choice(countries)[1]}",
        lambda s: "".join(rng.sample(s, len(s))),  # mostly no place at all
        lambda s: s.replace("a", "\u00e0").replace("e", "e\u0301").replace("ss", "ß"),
        lambda s: "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in s),  # fullwidth
        lambda s: f"{s}\u200b",  # a format character, which cleaning drops
        lambda s: f"{s[:2]}\x00{s[2:]}",
    ]
    for name in rng.sample(names, n):
        values.append(rng.choice(shapes)(name))
    values += [
        *sorted(gaz.region_keys)[:50],
        "France",
        "TEXAS",
        "new york",
        "Mexico",
        "Paris\uff0cFrance",
        "℅",
        "🍕",
        "\uff30\uff41\uff52\uff49\uff53",
    ]
    values += ["", "   ", ",", ",,Paris,,", "x" * 600, "Paris" + " " * 600, "Paris" + "\u0301" * 170, "Lyon" * 42]
    values += [None, np.nan, "Springfield", "springfield, il", "Paris, TX", "Tbilisi, Georgia", "Atlanta, Georgia"]
    return list(dict.fromkeys(values))  # distinct, None and NaN kept


@pytest.mark.parametrize("form", ["distinct text", "with other values", "repeated", "string dtype"])
def test_geocode_frame_of_distinct_names_equals_the_parser_row_by_row(chain: GeocoderChain, form: str) -> None:
    """The vectorised column path answers exactly as geocoding each value on its own, whatever the column holds.

    "distinct text" goes through Arrow with rows that stand for themselves, "repeated" through Arrow's
    deduplication, "with other values" (numbers, bytes) through pandas; rows keep their order and index.
    """
    values = _distinct_names(3000)
    if form == "with other values":
        values += [12345, 3.5, True, b"Paris", ["Paris"]]
    if form == "repeated":
        values = random.Random(1).sample(values * 3, len(values) * 3)
    index = np.arange(len(values))[::-1] * 7
    column = pd.Series(values, dtype="string" if form == "string dtype" else object, index=index)
    df = pd.DataFrame({"place": column, "row": range(len(values))}, index=index)
    out = geocode_frame(df, "place", chain=chain, progress=False)
    assert out.index.equals(df.index) and out.row.tolist() == list(range(len(values)))
    for value, row in zip(values, out.itertuples(), strict=True):
        answer = chain.geocode(None if value is pd.NA else value)
        best = answer.best
        if best is None:
            assert (row.geocode_error, row.matched, row.provider) == (answer.error, None, None), repr(value)
            assert np.isnan(row.lat) and np.isnan(row.lon) and np.isnan(row.confidence), repr(value)
        else:
            expected = (best.lat, best.lon, best.address, best.provider, best.confidence, None)
            assert (row.lat, row.lon, row.matched, row.provider, row.confidence, row.geocode_error) == expected, repr(
                value
            )
    assert out.geocode_error.isna().mean() > 0.5 and (out.geocode_error == "no match").any()


def test_text_columns_are_encoded_by_arrow_and_distinct_ones_kept_row_by_row() -> None:
    from codex_jupyter.sources.geo.geocoding import _factorize

    codes, uniques = _factorize(pd.Series([f"city {i}" for i in range(3000)] + [None, "city 7"]))
    assert isinstance(uniques, pa.StringArray) and len(uniques) == 3002 and codes[-2:].tolist() == [-1, 3001]
    codes, uniques = _factorize(pd.Series(["Paris", "Lyon", None] * 1000))
    assert uniques.to_pylist() == ["Paris", "Lyon"] and codes[:4].tolist() == [0, 1, -1, 0]
    codes, uniques = _factorize(pd.Series([b"Paris", "Paris", 3.5]))  # bytes are no text: pandas says why
    assert isinstance(uniques, np.ndarray) and list(uniques) == [b"Paris", "Paris", 3.5]


def test_geocode_frame_leaves_the_frame_as_it_was(chain: GeocoderChain) -> None:
    """Repeated index labels, extension types, the columns' name and ``attrs`` survive; the input is not changed."""
    df = pd.DataFrame(
        {"city": ["Paris", "Lyon", None], "n": pd.array([1, None, 3], dtype="Int64"), "k": pd.Categorical(list("aba"))},
        index=["x", "x", "y"],
    )
    df.columns.name, df.attrs["source"] = "fields", "crm"
    out = geocode_frame(df, "city", chain=chain)
    assert out.index.tolist() == ["x", "x", "y"] and out.columns.name == "fields" and out.attrs["source"] == "crm"
    assert out.dtypes.iloc[:3].tolist() == df.dtypes.tolist() and out.matched.tolist()[:2] == [
        "Paris, France",
        "Lyon, France",
    ]
    out.iloc[0, 1] = 99
    assert df.n.iloc[0] == 1
    twice = pd.DataFrame([["Paris", 1, 2]], columns=["city", "v", "v"])
    assert geocode_frame(twice, "city", chain=chain).columns.tolist() == ["city", "v", "v", *out.columns[3:]]


def test_name_index_is_cached_on_disk_and_rebuilt_when_unreadable(tmp_path, monkeypatch) -> None:
    from codex_jupyter.sources.geo import gazetteer

    monkeypatch.setenv("CODEX_JUPYTER_CACHE_DIR", str(tmp_path))
    cities = [{"name": "Saint-Étienne", "alternatenames": ["St Etienne", "Sant-Etiève"]}, {"name": "Lyon"}]
    built = gazetteer._cached_name_index(cities, 15000, "test")
    (cached,) = tmp_path.glob("gazetteer-names-*-test-15000-*.json")
    assert gazetteer._cached_name_index([], 15000, "test") == built  # read back, not rebuilt from no cities
    assert built[0] == {"saint etienne": [0], "lyon": [1]} and built[1]["st etienne"] == [0]
    cached.write_text("{not json", encoding="utf-8")
    assert gazetteer._cached_name_index(cities, 15000, "test") == built
    assert not list(tmp_path.glob("*.tmp"))


def test_normalize_folds_case_accents_punctuation_and_emoji() -> None:
    assert normalize("  Saint-Étienne!! 🍷 ") == "saint etienne"
    assert normalize("STRAßE") == "strasse"


def test_geocode_frame_keeps_every_row_in_order_with_a_reason(chain: GeocoderChain) -> None:
    values = ["Paris", None, np.nan, "", "   ", "x" * 600, "🍕🍕", "paris", 12345, "zzqxv", "Lyon\x00 🍷", 3.5, True]
    df = pd.DataFrame({"addr": values, "keep": range(len(values))}, index=[f"r{i}" for i in range(len(values))][::-1])
    out = geocode_frame(df, "addr", chain=chain)
    assert out.index.tolist() == df.index.tolist() and out.keep.tolist() == df.keep.tolist()
    assert list(out.columns) == ["addr", "keep", "lat", "lon", "matched", "provider", "confidence", "geocode_error"]
    assert out.geocode_error.tolist() == [
        None,
        "missing",
        "missing",
        "empty",
        "empty",
        "too long (600 characters; limit 500)",
        "no letters or digits",
        None,
        "no match",
        "no match",
        None,
        "not text (float)",
        "not text (bool)",
    ]
    assert out.matched.iloc[10] == "Lyon, France" and out.provider.iloc[0] == "offline"
    assert out.lat.isna().tolist() == out.geocode_error.notna().tolist()
    assert out.confidence.dtype == float
    summary = out.attrs["geocode_summary"]
    assert summary["rows"] == 13 and summary["matched"] == 3 and summary["by_reason"]["no match"] == 2
    assert "3 of 13 rows matched" in summary_text(summary)


def test_geocode_frame_handles_empty_frames_and_unhashable_cells(chain: GeocoderChain) -> None:
    empty = geocode_frame(pd.DataFrame({"a": pd.Series([], dtype=object)}), "a", chain=chain)
    assert len(empty) == 0 and "geocode_error" in empty
    odd = geocode_frame(pd.DataFrame({"a": [["Paris"], {"city": "Lyon"}, "Lyon"]}), "a", chain=chain)
    assert odd.geocode_error.tolist() == ["not text (list)", "not text (dict)", None]


def test_column_clash_and_missing_column_are_clear(chain: GeocoderChain) -> None:
    branches = pd.DataFrame({"city": ["Paris"], "lat": [1.0], "lon": [2.0]})
    with pytest.raises(ValueError, match="prefix='geo_'"):
        geocode_frame(branches, "city", chain=chain)
    out = geocode_frame(branches, "city", chain=chain, prefix="geo_")
    assert out.lat[0] == 1.0 and round(out.geo_lat[0], 2) == 48.85
    with pytest.raises(KeyError, match="no column 'town'"):
        geocode_frame(branches, "town", chain=chain)


def test_reverse_frame_vectorised_offline_with_bad_coordinates() -> None:
    pts = pd.DataFrame(
        {"lat": [48.85, 95, None, "abc", 51.5, -91, 10.0], "lon": [2.35, 0, 1, 2, -0.1, 0, 181]}, index=list("gfedcba")
    )
    out = reverse_frame(pts, "lat", "lon", providers=["offline"])
    assert out.index.tolist() == list("gfedcba")
    assert out.geocode_error.tolist() == [
        None,
        "latitude out of range",
        "missing coordinates",
        "invalid coordinates",
        None,
        "latitude out of range",
        "longitude out of range",
    ]
    assert out.matched.tolist()[:1] == ["Paris, France"] and out.matched.iloc[4] == "London, United Kingdom"
    assert 0 < out.distance_km.iloc[0] < 1 and out.confidence.iloc[0] > 0.95


def test_progress_bar_on_request(chain: GeocoderChain, capsys: pytest.CaptureFixture[str]) -> None:
    geocode_frame(pd.DataFrame({"a": ["Paris", "Lyon"]}), "a", chain=chain, progress=True)
    assert "geocoding" in capsys.readouterr().err


def test_single_address_helper_and_failure_reasons() -> None:
    assert geocode_address("Lyon", providers=["offline"]).best.address == "Lyon, France"
    assert geocode_address("", providers=["offline"]).error == "empty"
    assert classify(GeocoderRateLimited("x")) == ("rate limited (429)", True)
    assert classify(GeocoderQuotaExceeded("x")) == ("quota exceeded", False)
    assert classify(GeocoderTimedOut("http://h/?key=SECRET")) == ("timeout", True)


def test_provider_settings_hide_keys_and_refuse_mistakes(caplog: pytest.LogCaptureFixture) -> None:
    spec = ProviderSpec("google", {"api_key": "AIza-very-secret"})
    assert "AIza" not in repr(spec) and spec.label == "google"
    with pytest.raises(ValueError, match="unknown geocoding provider 'gogle'"):
        ProviderSpec("gogle")
    with pytest.raises(ConfigError, match="MAPBOX_ACCESS_TOKEN"):
        spec_from_environment("mapbox", {})
    with pytest.raises(ConfigError, match="must look like"):
        spec_from_environment("google", {"GOOGLE_MAPS_API_KEY": "k", "CODEX_JUPYTER_GOOGLE_URL": "ftp:/x"})
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ValueError, match="pass either"):
        geocode_address("x", chain=GeocoderChain(["offline"], cache=False), providers=["offline"])


def test_the_chain_answers_many_values_as_it_answers_each(chain: GeocoderChain) -> None:
    values = np.array(["Paris", "paris, FR", "Springfield, IL", "10 Downing Street, London", "", None, "Xq"], object)
    many = chain.geocode_many(values, progress=False)
    for j, value in enumerate(values):
        answer = chain.geocode(value)
        best = answer.best
        assert many.matched[j] == (best.address if best else None) and many.error[j] == answer.error, value
        assert many.lat[j] == pytest.approx(best.lat if best else np.nan, nan_ok=True)
    lat, lon = np.array([48.85, 51.5, 0.0]), np.array([2.35, -0.12, -140.0])
    near = chain.reverse_many(lat, lon)
    for j in range(len(lat)):
        best = chain.reverse(lat[j], lon[j]).best
        assert (near.matched[j], near.provider[j], near.confidence[j]) == (best.address, "offline", best.confidence)
        assert near.distance_km[j] == pytest.approx(haversine_km(lat[j], lon[j], best.lat, best.lon), abs=1e-6)
