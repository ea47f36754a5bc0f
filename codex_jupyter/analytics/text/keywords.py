"""Keywords per text: YAKE (per document, statistical, no model) or a fast corpus TF-IDF ranking.

YAKE reads each text on its own and is the default; it runs at about a
thousand short texts a second. ``method="tfidf"`` ranks each text's 1-2 word
terms by TF-IDF weight over the whole batch in sparse matrix operations, for
batches where speed matters more (tens of thousands of texts a second).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from codex_jupyter.analytics.text.topics import TOKEN
from codex_jupyter.extras import require

METHODS = ("yake", "tfidf")
#: Longer "keywords" are run-on strings, not words.
MAX_KEYWORD = 60


def yake_keywords(texts: Sequence[str], top: int = 5, max_words: int = 2) -> list[list[str]]:
    """YAKE's best ``top`` keywords of each text (lowest score first)."""
    yake = require("text", "yake")
    extractor = yake.KeywordExtractor(lan="en", n=max_words, top=top, dedupLim=0.7)
    return [[k for k, _ in extractor.extract_keywords(t) if len(k) <= MAX_KEYWORD] if t.strip() else [] for t in texts]


def tfidf_keywords(texts: Sequence[str], top: int = 5, max_words: int = 2) -> list[list[str]]:
    """Each text's ``top`` terms by TF-IDF weight over the batch (English stop words dropped)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    if not any(t.strip() for t in texts):
        return [[] for _ in texts]
    vec = TfidfVectorizer(
        ngram_range=(1, max_words), stop_words="english", sublinear_tf=True, dtype=np.float32, token_pattern=TOKEN
    )
    try:
        matrix = vec.fit_transform(texts).tocsr()
    except ValueError:  # only stop words
        return [[] for _ in texts]
    terms = vec.get_feature_names_out()
    out = []
    for row in range(matrix.shape[0]):
        start, end = matrix.indptr[row], matrix.indptr[row + 1]
        order = np.argsort(-matrix.data[start:end], kind="stable")[:top]
        out.append(terms[matrix.indices[start:end][order]].tolist())
    return out


def keywords(texts: Sequence[str], method: str = "yake", top: int = 5) -> list[list[str]]:
    """Keywords of each text by ``method`` (``yake`` or ``tfidf``)."""
    if method == "yake":
        return yake_keywords(texts, top)
    if method == "tfidf":
        return tfidf_keywords(texts, top)
    from codex_jupyter.errors import InputError

    raise InputError(f"keywords method {method!r} is not one of {', '.join(METHODS)}")
