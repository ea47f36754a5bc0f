"""Keywords per text: YAKE (per document, statistical, no model) or a fast corpus TF-IDF ranking.

YAKE reads each text on its own and is the default; it runs at about a
thousand short texts a second. ``method="tfidf"`` ranks each text's 1-2 word
terms by TF-IDF weight over the whole batch in array operations, for batches
where speed matters more (over 50,000 short texts a second).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

import numpy as np

from codex_jupyter.analytics.text.topics import TOKEN
from codex_jupyter.extras import require

METHODS = ("auto", "yake", "tfidf")
#: ``auto`` uses YAKE up to this many distinct texts, TF-IDF beyond: YAKE reads each text on its own (a few
#: hundred texts a second), so 100,000 texts would take minutes; TF-IDF does a batch in array operations.
YAKE_LIMIT = 20_000


def resolve(method: str, distinct: int) -> str:
    """The method ``auto`` stands for with ``distinct`` texts: YAKE when installed and the batch is small."""
    if method != "auto":
        return method
    from codex_jupyter.extras import installed

    return "yake" if distinct <= YAKE_LIMIT and installed("text") else "tfidf"


#: Longer "keywords" are run-on strings, not words.
MAX_KEYWORD = 60
_WORD = re.compile(TOKEN)


def yake_keywords(texts: Sequence[str], top: int = 5, max_words: int = 2) -> list[list[str]]:
    """YAKE's best ``top`` keywords of each text (lowest score first)."""
    yake = require("text", "yake")
    extractor = yake.KeywordExtractor(lan="en", n=max_words, top=top, dedupLim=0.7)
    return [[k for k, _ in extractor.extract_keywords(t) if len(k) <= MAX_KEYWORD] if t.strip() else [] for t in texts]


def tfidf_keywords(texts: Sequence[str], top: int = 5) -> list[list[str]]:
    """Each text's ``top`` words and two-word phrases by TF-IDF weight over the whole batch.

    Terms are words of 2-30 letters or digits that are not English stop words, and pairs of such words that stand
    next to each other; ties go to the term met first in the batch. Everything after tokenising is array work.
    """
    import pandas as pd
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    per_text = [_WORD.findall(t.lower()) for t in texts]
    lengths = np.fromiter(map(len, per_text), dtype=np.int64, count=len(per_text))
    row = np.repeat(np.arange(len(per_text)), lengths)
    code, distinct = pd.factorize(np.fromiter(itertools.chain.from_iterable(per_text), dtype=object, count=len(row)))
    stop = np.array([w in ENGLISH_STOP_WORDS for w in distinct], dtype=bool)
    kept = ~stop[code]
    pair = np.flatnonzero(kept[:-1] & kept[1:] & (row[:-1] == row[1:]))
    n_words = len(distinct)
    pair_code, pairs = pd.factorize(code[pair].astype(np.int64) * n_words + code[pair + 1])
    term = np.concatenate([code[kept], n_words + pair_code])
    doc = np.concatenate([row[kept], row[pair]])
    n_terms = n_words + len(pairs)
    keys, counts = np.unique(doc * n_terms + term, return_counts=True)
    doc, term = keys // n_terms, keys % n_terms
    idf = np.log((1 + len(texts)) / (1 + np.bincount(term, minlength=n_terms))) + 1
    weight = (1 + np.log(counts)) * idf[term]
    order = np.lexsort((-weight, doc))
    doc, term = doc[order], term[order]
    first = np.searchsorted(doc, np.arange(len(texts)))
    best = np.arange(len(doc)) - first[doc] < top
    doc, term = doc[best], term[best]
    names = np.asarray(distinct, dtype=object)
    pair_names = names[pairs // n_words] + " " + names[pairs % n_words] if len(pairs) else np.zeros(0, dtype=object)
    labels = np.concatenate([names, pair_names])[term].tolist()
    bounds = np.searchsorted(doc, np.arange(len(texts) + 1)).tolist()
    return [labels[a:b] for a, b in itertools.pairwise(bounds)]


def keywords(texts: Sequence[str], method: str = "auto", top: int = 5) -> list[list[str]]:
    """Keywords of each text by ``method`` (``auto``, ``yake`` or ``tfidf``; see :func:`resolve`)."""
    method = resolve(method, len(texts))
    if method == "yake":
        return yake_keywords(texts, top)
    if method == "tfidf":
        return tfidf_keywords(texts, top)
    from codex_jupyter.errors import InputError

    raise InputError(f"keywords method {method!r} is not one of {', '.join(METHODS)}")
