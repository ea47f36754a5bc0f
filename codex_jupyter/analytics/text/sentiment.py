"""Sentiment in -1..1 from a small linear model shipped in the package, with lexicon features for robustness.

The default model (``sentiment_model.npz`` beside this file, about 1 MB) is a
logistic regression over hashed word unigrams and in-clause bigrams -- words
after a negation ("not", "never", "n't" ...) get their own negated features, up
to the next punctuation -- plus a few features from the VADER lexicon (summed
valence with negation flipped, counts of positive and negative words, a
VADER-like compound). The lexicon words themselves are also training examples,
so a word the labelled sentences never used still counts. It is trained by
``scripts/train_sentiment.py`` on the UCI review sentences in
``shared/data/sentiment`` and the lexicon that ships in the ``vaderSentiment``
wheel; it is loaded with ``numpy.load(allow_pickle=False)`` and needs neither
package at run time. Features are computed for a whole batch at once: each
text is tokenised by one regular expression, then negation scopes, hashing
(SplitMix64 over each distinct token's MurmurHash3) and counts are array
operations (about 40,000 short texts a second on one core).

The score is ``2 * P(positive) - 1``; ``sentiment_label`` is ``neutral``
within :data:`NEUTRAL_BAND` of 0 -- which is also where a text with no known
words (another language, only numbers) lands. ``model="name"`` uses a local
transformers text-classification model instead (nothing is downloaded).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import scipy.sparse as sp

#: Hashed feature space of the default model.
N_FEATURES = 2**18
#: |score| below this is labelled neutral.
NEUTRAL_BAND = 0.2
#: VADER's damping of a negated word's valence.
NEGATION_SCALE = -0.74
MODEL_FILE = "sentiment_model.npz"

_NEGATORS = frozenset(
    [
        "not",
        "no",
        "never",
        "none",
        "nobody",
        "nothing",
        "neither",
        "nor",
        "nowhere",
        "cannot",
        "without",
        "hardly",
        "barely",
        "scarcely",
    ]
)
_TOKEN = re.compile(
    r"[a-z0-9][a-z0-9'_-]*|[:;=8][-o^']?[()\[\]dpo/\\|]|<3|[\U0001F300-\U0001FAFF\u2600-\u27BF]|[.,;:!?]"
)
#: Tokens that end a clause (a negation's scope, and no bigram crosses them); ``!`` and ``?`` are also features.
_ENDS = frozenset(".,;:!?")
_SILENT_ENDS = frozenset(".,;:")
_TAGS = re.compile(r"<[^>]{0,200}>")
#: Lexicon features, in this order (see :func:`features`).
LEXICON_FEATURES = ("valence", "positive_words", "negative_words", "compound", "exclamations")
_U64 = np.uint64
_NEGATED_BIT = _U64(1 << 40)


def words(text: str) -> list[str]:
    """Lower-cased word, emoticon, emoji and punctuation tokens (``n't`` read as ``not``; HTML tags dropped)."""
    text = text.lower()
    if "<" in text:
        text = _TAGS.sub(" ", text)
    return _TOKEN.findall(text.replace("\u2019", "'").replace("n't", " not"))


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser: a fast, well-spread hash of 64-bit keys (wraps on overflow by design)."""
    x = (x ^ (x >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> _U64(27))) * _U64(0x94D049BB133111EB)
    return x ^ (x >> _U64(31))


@dataclass(frozen=True)
class _Stream:
    """Every token of a batch in one array: its text's row, its distinct-token code and whether it is negated."""

    row: np.ndarray
    code: np.ndarray
    distinct: list[str]
    negated: np.ndarray
    ends: np.ndarray


def _stream(texts: Sequence[str]) -> _Stream:
    """Tokenise once per text, then mark negation scopes with array operations over the whole batch.

    A word after a negator ("not", "never", ...) up to the clause's end is negated; the negator itself is not.
    """
    import pandas as pd

    per_text = [words(t) for t in texts]
    lengths = np.fromiter(map(len, per_text), dtype=np.int64, count=len(per_text))
    row = np.repeat(np.arange(len(per_text)), lengths)
    code, distinct = pd.factorize(np.fromiter(itertools.chain.from_iterable(per_text), dtype=object, count=len(row)))
    distinct = distinct.tolist()
    is_neg = np.array([t in _NEGATORS for t in distinct], dtype=bool)[code]
    ends = np.array([t in _ENDS for t in distinct], dtype=bool)[code]
    starts = np.ones(len(row), dtype=bool)
    starts[1:] = ends[:-1] | (row[1:] != row[:-1])
    clause = np.cumsum(starts) - 1
    before = np.cumsum(is_neg) - is_neg
    negated = (before - before[starts][clause] > 0) & ~is_neg & ~ends
    return _Stream(row, code, distinct, negated, ends)


def _hashed(stream: _Stream, n: int) -> sp.csr_matrix:
    """L2-normalised counts of hashed unigrams and in-clause bigrams (negated words are distinct features)."""
    from sklearn.preprocessing import normalize
    from sklearn.utils import murmurhash3_32

    base = np.array([murmurhash3_32(t, positive=True) for t in stream.distinct], dtype=np.uint64)
    key = base[stream.code] | np.where(stream.negated, _NEGATED_BIT, _U64(0))
    silent = np.array([t in _SILENT_ENDS for t in stream.distinct], dtype=bool)[stream.code]
    pair = np.flatnonzero(~stream.ends[:-1] & ~stream.ends[1:] & (stream.row[:-1] == stream.row[1:]))
    unigram = _mix(key[~silent])
    bigram = _mix(_mix(key[pair]) + key[pair + 1])
    cols = (np.concatenate([unigram, bigram]) % _U64(N_FEATURES)).astype(np.int64)
    rows = np.concatenate([stream.row[~silent], stream.row[pair]])
    counts = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(n, N_FEATURES))
    counts.sum_duplicates()
    return normalize(counts)


def _lexical(stream: _Stream, n: int, lexicon: dict[str, float]) -> np.ndarray:
    """Summed valence (negated words flipped and damped), positive/negative word counts, compound, ``!`` count."""
    value = np.array([lexicon.get(t, 0.0) for t in stream.distinct], dtype=np.float64)[stream.code]
    value = np.where(stream.negated, value * NEGATION_SCALE, value)
    total = np.bincount(stream.row, value, minlength=n)
    positive = np.bincount(stream.row, value > 0, minlength=n)
    negative = np.bincount(stream.row, value < 0, minlength=n)
    bang = np.array([t == "!" for t in stream.distinct], dtype=bool)[stream.code]
    compound = total / np.sqrt(total * total + 15.0)
    exclamations = np.bincount(stream.row, bang, minlength=n)
    return np.column_stack([total / 4.0, positive, negative, compound, exclamations]).astype(np.float32)


def features(texts: Sequence[str], lexicon: dict[str, float]) -> sp.csr_matrix:
    """The model's input: hashed n-grams, then the lexicon features, computed for the whole batch at once."""
    n = len(texts)
    stream = _stream(texts)
    return sp.hstack([_hashed(stream, n), sp.csr_matrix(_lexical(stream, n, lexicon))], format="csr")


@dataclass(frozen=True)
class SentimentModel:
    """A linear model over :func:`features`: weights, intercept and the lexicon it was trained with."""

    weights: np.ndarray
    intercept: float
    lexicon: dict[str, float]

    def decision(self, texts: Sequence[str]) -> np.ndarray:
        """Log-odds of positive for each text."""
        if not len(texts):
            return np.zeros(0)
        return features(texts, self.lexicon) @ self.weights + self.intercept

    def score(self, texts: Sequence[str]) -> np.ndarray:
        """Sentiment in -1..1: ``2 * P(positive) - 1``."""
        return np.tanh(self.decision(texts) / 2.0)

    def save(self, path: Any) -> None:
        """Store as a compressed ``.npz`` of plain arrays (no pickle): only non-zero weights."""
        nonzero = np.flatnonzero(self.weights).astype(np.int32)
        words = sorted(self.lexicon)
        np.savez_compressed(
            path,
            index=nonzero,
            value=self.weights[nonzero].astype(np.float32),
            size=np.int64(len(self.weights)),
            intercept=np.float64(self.intercept),
            lexicon_words=np.array(words, dtype=str),
            lexicon_values=np.array([self.lexicon[w] for w in words], dtype=np.float32),
        )

    @classmethod
    def load(cls, path: Any) -> SentimentModel:
        """Read what :meth:`save` wrote, without pickle."""
        with np.load(path, allow_pickle=False) as data:
            weights = np.zeros(int(data["size"]), dtype=np.float32)
            weights[data["index"]] = data["value"]
            lexicon = dict(
                zip(data["lexicon_words"].tolist(), data["lexicon_values"].astype(float).tolist(), strict=True)
            )
            return cls(weights, float(data["intercept"]), lexicon)


def train(
    texts: Sequence[str],
    labels: Sequence[int],
    lexicon: dict[str, float],
    *,
    c: float = 4.0,
    lexicon_weight: float = 0.3,
    min_valence: float = 1.0,
) -> SentimentModel:
    """Fit the default model: labelled sentences plus each strong lexicon word as a one-word example.

    ``lexicon_weight`` is the sample weight of a lexicon word (a sentence has 1).
    """
    from sklearn.linear_model import LogisticRegression

    strong = [w for w, v in lexicon.items() if abs(v) >= min_valence and _TOKEN.fullmatch(w)]
    all_texts = [*texts, *strong]
    y = np.array([*labels, *(int(lexicon[w] > 0) for w in strong)])
    weight = np.array([1.0] * len(texts) + [lexicon_weight] * len(strong))
    clf = LogisticRegression(C=c, max_iter=2000)
    clf.fit(features(all_texts, lexicon), y, sample_weight=weight)
    return SentimentModel(clf.coef_[0].astype(np.float32), float(clf.intercept_[0]), lexicon)


@cache
def default_model() -> SentimentModel:
    """The model shipped in the package."""
    with resources.as_file(resources.files(__package__) / MODEL_FILE) as path:
        return SentimentModel.load(path)


def label(scores: np.ndarray) -> np.ndarray:
    """``positive`` / ``negative`` / ``neutral`` (within :data:`NEUTRAL_BAND` of 0)."""
    return np.where(scores >= NEUTRAL_BAND, "positive", np.where(scores <= -NEUTRAL_BAND, "negative", "neutral"))


def transformers_scores(texts: Sequence[str], model: str, batch_size: int = 32) -> np.ndarray:
    """Sentiment in -1..1 from a locally installed transformers classifier (``local_files_only``: no download)."""
    from codex_jupyter.errors import ConfigError

    try:
        from transformers import pipeline
    except ImportError:
        raise ConfigError(f"model={model!r} needs transformers installed (pip install transformers)") from None
    try:
        clf = pipeline("text-classification", model=model, model_kwargs={"local_files_only": True}, top_k=None)
    except OSError as exc:
        raise ConfigError(
            f"no local transformers model {model!r} ({str(exc).splitlines()[0]}) -- install it first, "
            "or leave model unset for the built-in model"
        ) from None
    out = []
    for result in clf(list(texts), batch_size=batch_size, truncation=True):
        probs = {r["label"].lower(): r["score"] for r in result}
        pos = probs.get("positive", probs.get("label_1", probs.get("pos", 0.0)))
        neg = probs.get("negative", probs.get("label_0", probs.get("neg", 0.0)))
        out.append(pos - neg)
    return np.asarray(out, dtype=float)
