"""Topics with TF-IDF + NMF, the number chosen by coherence; extractive summaries of each topic.

The number of topics is the one in ``k_range`` whose topics are most coherent
(mean NPMI of each topic's top terms, counted on the texts themselves). Each
topic is named by its top three terms and comes with its two most
representative texts. Terms are words that are no English stop words and
appear in at least :data:`MIN_DOC_SHARE` of the texts. A text with no known
terms gets topic -1.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

#: Topics are fitted on at most this many texts (sampled), then every text is assigned.
FIT_SAMPLE = 20_000
NO_TOPIC = -1
#: Words of 2-30 letters or digits: a run-on string is no term.
TOKEN = r"(?u)\b\w{2,30}\b"
#: A term must be in this share of the texts (and at least two): rarer words cannot name a topic, and their
#: co-occurrence counts are noise that makes topics less coherent.
MIN_DOC_SHARE = 0.002


@dataclass(frozen=True)
class Topics:
    """Per-text topic ids and names, plus each topic's terms and representative texts."""

    topic: np.ndarray
    names: dict[int, str]
    terms: dict[int, list[str]]
    examples: dict[int, list[str]]
    coherence: float


def npmi(top_terms: Sequence[Sequence[int]], binary: sp.csr_matrix) -> float:
    """Mean normalised PMI over pairs of each topic's top terms, from document co-occurrence."""
    n = binary.shape[0]
    doc_freq = np.asarray(binary.sum(axis=0)).ravel() / n
    scores = []
    for terms in top_terms:
        cols = binary[:, list(terms)]
        joint = (cols.T @ cols).toarray() / n
        for i in range(len(terms)):
            for j in range(i + 1, len(terms)):
                p_ij = joint[i, j]
                if p_ij <= 0:
                    scores.append(-1.0)
                    continue
                pmi = np.log(p_ij / (doc_freq[terms[i]] * doc_freq[terms[j]]))
                scores.append(pmi / -np.log(p_ij) if p_ij < 1 else 1.0)
    return float(np.mean(scores)) if scores else 0.0


def _vectorize(texts: Sequence[str]) -> tuple[sp.csr_matrix, np.ndarray]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    min_df = max(2, math.ceil(MIN_DOC_SHARE * len(texts))) if len(texts) >= 20 else 1
    vec = TfidfVectorizer(
        stop_words="english", min_df=min_df, max_df=0.9, sublinear_tf=True, dtype=np.float32, token_pattern=TOKEN
    )
    matrix = vec.fit_transform(texts)
    return matrix.tocsr(), vec.get_feature_names_out()


def find_topics(
    texts: Sequence[str],
    k_range: tuple[int, int] = (3, 10),
    n_terms: int = 10,
    seed: int = 0,
    on_fit: Callable[[int], None] | None = None,
) -> Topics:
    """Fit NMF for each k in ``k_range`` (inclusive), keep the most coherent, assign every text.

    ``on_fit(k)`` is called after each fit (a progress bar's hook): there are at most ``k_range[1] - k_range[0] + 1``.
    """
    from sklearn.decomposition import NMF

    try:
        matrix, vocab = _vectorize(texts)
    except ValueError:
        return Topics(np.full(len(texts), NO_TOPIC), {}, {}, {}, 0.0)
    rng = np.random.default_rng(seed)
    fit_rows = np.sort(rng.choice(matrix.shape[0], FIT_SAMPLE, replace=False)) if matrix.shape[0] > FIT_SAMPLE else None
    fit = matrix[fit_rows] if fit_rows is not None else matrix
    binary = (fit > 0).astype(np.float32).tocsr()
    best = None
    hi = min(k_range[1], max(1, fit.shape[1] - 1), max(1, fit.shape[0] - 1))
    for k in range(min(k_range[0], hi), hi + 1):
        model = NMF(n_components=k, init="nndsvda", random_state=seed, max_iter=300)
        # A fit that reproduces a small corpus all but exactly leaves scikit-learn's reconstruction error (unused
        # here) a rounding error below zero, whose square root printed "invalid value encountered in sqrt".
        with np.errstate(invalid="ignore"):
            model.fit(fit)
        top = [np.argsort(-row)[:n_terms] for row in model.components_]
        score = npmi(top, binary)
        if on_fit is not None:
            on_fit(k)
        if best is None or score > best[0]:
            best = (score, model, top)
    assert best is not None
    score, model, top = best
    weights = model.transform(matrix)
    topic = np.where(weights.max(axis=1) > 0, weights.argmax(axis=1), NO_TOPIC)
    terms = {t: vocab[idx].tolist() for t, idx in enumerate(top)}
    names = {t: " / ".join(words[:3]) for t, words in terms.items()}
    examples = {t: _examples(texts, weights[:, t], topic == t) for t in terms}
    return Topics(topic, names, terms, examples, score)


def _examples(texts: Sequence[str], weight: np.ndarray, member: np.ndarray, n: int = 2) -> list[str]:
    """The ``n`` distinct member texts that weigh most on the topic."""
    out: list[str] = []
    for row in np.argsort(-np.where(member, weight, -1.0), kind="stable"):
        if not member[row] or len(out) == n:
            break
        if texts[row] not in out:
            out.append(texts[row])
    return out


_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def central_sentences(texts: Sequence[str], n: int = 2) -> list[str]:
    """The ``n`` distinct sentences nearest the texts' TF-IDF centroid (an extractive summary)."""
    sentences = list(dict.fromkeys(s.strip() for t in texts for s in _SENTENCE.split(t) if s.strip()))
    if len(sentences) <= n:
        return sentences
    try:
        matrix, _ = _vectorize(sentences)
    except ValueError:
        return sentences[:n]
    centroid = np.asarray(matrix.mean(axis=0)).ravel()
    scores = matrix @ centroid
    return [sentences[i] for i in np.argsort(-scores, kind="stable")[:n]]
