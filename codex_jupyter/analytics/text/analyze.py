"""``analyze_text``: one call that enriches a text column, and the aggregates a view tells the story with.

Rows are never dropped or reordered. Each text is first made *analysable*:

==========================  ==========================================================  ===================
input                       what is analysed                                             ``text_error``
==========================  ==========================================================  ===================
NaN / None                  nothing: sentiment NaN, label and topic empty                ``missing``
not a string (a number ...) nothing                                                      ``not text (int)``
empty or only blanks        nothing                                                      ``empty``
HTML                        the text with tags removed and entities unescaped            (none)
longer than MAX_CHARS       the first MAX_CHARS characters                               ``truncated``
emoji, other languages      as written (emoji carry sentiment; unknown words are neutral) (none)
==========================  ==========================================================  ===================

Card- and account-like numbers are masked (``**** 1234``) before any part
runs, so no keyword, topic name or entity shows one. Duplicate texts are
analysed once. Long batches (from :data:`PROGRESS_FROM` distinct texts) show a
tqdm progress bar for each part, topics included (one step per NMF fit).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from codex_jupyter.analytics.text import entities as ents
from codex_jupyter.analytics.text import keywords as kw
from codex_jupyter.analytics.text import sentiment as sent
from codex_jupyter.analytics.text import topics as tp
from codex_jupyter.errors import ColumnNotFound, InputError

MAX_CHARS = 10_000
#: Show a progress bar from this many distinct texts on.
PROGRESS_FROM = 5_000
_CHUNK = 10_000
_TAG = re.compile(r"<[^>]{0,500}>")
OUTPUT_COLUMNS = ("sentiment", "sentiment_label", "entities", "keywords", "topic", "topic_name", "text_error")


def clean(value: Any) -> tuple[str | None, str | None]:
    """``(text to analyse, text_error)`` for one cell, as the module docstring's table says."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None, "missing"
    if not isinstance(value, str):
        return None, f"not text ({type(value).__name__})"
    text = html.unescape(_TAG.sub(" ", value)) if "<" in value or "&" in value else value
    text = " ".join(text.split())
    if not text:
        return None, "empty"
    if len(text) > MAX_CHARS:
        return text[:MAX_CHARS], "truncated"
    return text, None


def _column(frame_or_series: pd.DataFrame | pd.Series, column: str | None) -> tuple[pd.DataFrame, str]:
    if isinstance(frame_or_series, pd.Series):
        name = str(frame_or_series.name) if frame_or_series.name is not None else "text"
        return frame_or_series.to_frame(name), name
    if not isinstance(frame_or_series, pd.DataFrame):
        raise InputError(f"analyze_text takes a DataFrame or Series, not {type(frame_or_series).__name__}")
    if column is None:
        text_like = [c for c in frame_or_series.columns if frame_or_series[c].dtype == object]
        if len(text_like) != 1:
            raise InputError(f"name the text column: analyze_text(df, column=...) (text-like columns: {text_like})")
        column = text_like[0]
    if column not in frame_or_series.columns:
        raise ColumnNotFound(f"no column {column!r}; columns are {list(frame_or_series.columns)}")
    return frame_or_series, column


def _chunked(fn: Callable[[list[str]], Any], texts: list[str], desc: str) -> list[Any]:
    """``fn`` over chunks of ``texts``, with a progress bar for long batches."""
    if len(texts) < PROGRESS_FROM:
        return list(fn(texts))
    from tqdm.auto import tqdm

    out: list[Any] = []
    with tqdm(total=len(texts), desc=desc, unit="text") as bar:
        for start in range(0, len(texts), _CHUNK):
            out.extend(fn(texts[start : start + _CHUNK]))
            bar.update(min(_CHUNK, len(texts) - start))
    return out


def analyze_text(
    frame_or_series: pd.DataFrame | pd.Series,
    column: str | None = None,
    *,
    sentiment: bool = True,
    entities: bool = True,
    keywords: bool = True,
    topics: bool = True,
    model: str | None = None,
    entity_model: str | None = None,
    keyword_method: str = "auto",
    places: Sequence[str] = (),
    topic_range: tuple[int, int] = (3, 10),
) -> pd.DataFrame:
    """A copy of the frame with ``sentiment`` (-1..1), ``sentiment_label``, ``entities``, ``keywords``,
    ``topic``, ``topic_name`` and ``text_error`` added (only the parts asked for).

    ``model`` names a locally installed transformers sentiment model (default:
    the model shipped in the package); ``entity_model`` an installed spaCy
    model; ``places`` extra place names for the entity ruler (e.g. branch
    cities). ``keyword_method`` is ``yake``, ``tfidf`` or ``auto`` (default: YAKE up to 20,000 distinct texts
    when the ``[text]`` extra is installed, TF-IDF beyond, whose speed suits large batches; the method used is
    ``out.attrs["keyword_method"]``). Topic terms and examples are in ``out.attrs["topics"]``.
    """
    frame, column = _column(frame_or_series, column)
    cleaned = [clean(v) for v in frame[column].tolist()]
    out = frame.copy()
    masked = {t: ents.mask_numbers(t) for t, _ in cleaned if t is not None}
    cleaned = [(masked[t][0] if t is not None else None, e) for t, e in cleaned]
    numbers = {m: found for m, found in masked.values()}
    unique = list(dict.fromkeys(t for t, _ in cleaned if t is not None))
    where = {t: i for i, t in enumerate(unique)}
    rows = np.array([where.get(t, -1) if t is not None else -1 for t, _ in cleaned])
    ok = rows >= 0

    def per_row(values: Sequence[Any], empty: Any) -> list[Any]:
        return [values[r] if r >= 0 else empty for r in rows]

    if sentiment:
        scores = np.asarray(_chunked(lambda c: _scores(c, model), unique, "sentiment"), dtype=float)
        out["sentiment"] = np.where(ok, scores[rows] if len(scores) else np.nan, np.nan)
        out["sentiment_label"] = per_row(sent.label(scores).tolist(), None)
    if entities:
        found = _chunked(lambda c: ents.ruler_entities(c, places=places, model=entity_model), unique, "entities")
        out["entities"] = per_row([numbers[t] + f for t, f in zip(unique, found, strict=True)], [])
    if keywords:
        keyword_method = kw.resolve(keyword_method, len(unique))
        out.attrs["keyword_method"] = keyword_method
        if keyword_method == "tfidf":  # weights come from the whole batch: one step, not chunks
            found_keywords = kw.keywords(unique, keyword_method)
        else:
            found_keywords = _chunked(lambda c: kw.keywords(c, keyword_method), unique, "keywords")
        out["keywords"] = per_row(found_keywords, [])
    if topics:
        found_topics = _topics(unique, topic_range)
        out["topic"] = pd.array(per_row(found_topics.topic.tolist(), None), dtype="Int64")
        out["topic_name"] = [found_topics.names.get(t) if t is not pd.NA else None for t in out["topic"]]
        out.attrs["topics"] = {
            t: {"name": found_topics.names[t], "terms": found_topics.terms[t], "examples": found_topics.examples[t]}
            for t in found_topics.names
        }
    out["text_error"] = [e for _, e in cleaned]
    return out


def _topics(texts: list[str], topic_range: tuple[int, int]) -> tp.Topics:
    """Topics of the distinct texts, with a bar counting the NMF fits for long batches."""
    if not texts:
        return tp.Topics(np.zeros(0, int), {}, {}, {}, 0.0)
    if len(texts) < PROGRESS_FROM:
        return tp.find_topics(texts, topic_range)
    from tqdm.auto import tqdm

    with tqdm(total=topic_range[1] - topic_range[0] + 1, desc="topics", unit="fit") as bar:
        return tp.find_topics(texts, topic_range, on_fit=lambda _: bar.update())


def _scores(texts: list[str], model: str | None) -> np.ndarray:
    if model is None:
        return sent.default_model().score(texts)
    return sent.transformers_scores(texts, model)


def _ensure(df: pd.DataFrame, text: str, needed: str, **parts: bool) -> pd.DataFrame:
    """``df`` itself when it already has ``needed``, else ``df`` analysed for what is missing."""
    if needed in df.columns:
        return df
    flags = {"sentiment": False, "entities": False, "keywords": False, "topics": False, **parts}
    return analyze_text(df, text, **flags)


def sentiment_by(df: pd.DataFrame, text: str, by: str | Sequence[str]) -> pd.DataFrame:
    """Per group: texts, mean sentiment and the share of positive and negative texts (analysed when needed)."""
    data = _ensure(df, text, "sentiment", sentiment=True)
    grouped = data.groupby(by, observed=True, dropna=False)
    return pd.DataFrame(
        {
            "texts": grouped["sentiment"].count(),
            "sentiment": grouped["sentiment"].mean(),
            "positive": grouped["sentiment_label"].agg(lambda s: (s == "positive").mean()),
            "negative": grouped["sentiment_label"].agg(lambda s: (s == "negative").mean()),
        }
    ).reset_index()


def topics_over_time(df: pd.DataFrame, text: str, time: str, freq: str = "MS") -> pd.DataFrame:
    """Texts per period and topic name, with the period's mean sentiment per topic (analysed when needed)."""
    data = _ensure(df, text, "topic_name", topics=True, sentiment=True)
    if "sentiment" not in data.columns:
        data = analyze_text(data, text, sentiment=True, entities=False, keywords=False, topics=False)
    period = pd.to_datetime(data[time]).dt.to_period(freq.rstrip("S") or "M").dt.start_time
    grouped = data.assign(period=period).dropna(subset=["topic_name"]).groupby(["period", "topic_name"])
    return grouped.agg(texts=("topic_name", "size"), sentiment=("sentiment", "mean")).reset_index()


def summarize_topics(df: pd.DataFrame, text: str = "text", sentences: int = 2) -> pd.DataFrame:
    """Each topic's size, name, top terms and extractive summary (its most central sentences)."""
    data = _ensure(df, text, "topic_name", topics=True)
    rows = []
    for (topic, name), group in data.dropna(subset=["topic_name"]).groupby(["topic", "topic_name"]):
        texts = [t for t in group[text].tolist() if isinstance(t, str)]
        rows.append(
            {
                "topic": topic,
                "topic_name": name,
                "texts": len(group),
                "summary": " ".join(tp.central_sentences(texts, sentences)),
            }
        )
    return pd.DataFrame(rows, columns=["topic", "topic_name", "texts", "summary"]).sort_values(
        "texts", ascending=False, ignore_index=True
    )
