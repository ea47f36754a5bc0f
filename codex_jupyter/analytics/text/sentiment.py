"""Sentiment in -1..1 from a small linear model shipped in the package, with lexicon features for robustness.

The default model (``sentiment_model.npz`` beside this file, about 1 MB) is a
logistic regression over hashed word unigrams and bigrams -- words after a
negation ("not", "never", "n't" ...) get their own ``neg_`` features, up to
the next punctuation -- plus a few features from the VADER lexicon (summed
valence with negation flipped, counts of positive and negative words, a
VADER-like compound). The lexicon words themselves are also training examples,
so a word the labelled sentences never used still counts. It is trained by
``scripts/train_sentiment.py`` on the UCI review sentences in
``shared/data/sentiment`` and the lexicon that ships in the ``vaderSentiment``
wheel; it is loaded with ``numpy.load(allow_pickle=False)`` and needs neither
package at run time.

The score is ``2 * P(positive) - 1``; ``sentiment_label`` is ``neutral``
within :data:`NEUTRAL_BAND` of 0 -- which is also where a text with no known
words (another language, only numbers) lands. ``model="name"`` uses a local
transformers text-classification model instead (nothing is downloaded).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
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
_TOKEN = re.compile(r"[a-z0-9][a-z0-9'_-]*|[!?]|[:;=8][-o^']?[()\[\]dpo/\\|]|<3|[\U0001F300-\U0001FAFF\u2600-\u27BF]")
_CLAUSE_END = frozenset(".,;:!?")
_CLAUSE = re.compile(r"[.,;:!?]")
_TAGS = re.compile(r"<[^>]{0,200}>")
#: Lexicon features, in this order (see :func:`lexicon_features`).
LEXICON_FEATURES = ("valence", "positive_words", "negative_words", "compound", "exclamations")


def tokens(text: str) -> list[str]:
    """Lower-cased word, emoticon and ``!``/``?`` tokens; words in a negation's scope get a ``neg_`` prefix."""
    text = _TAGS.sub(" ", text.lower()).replace("n't", " not").replace("\u2019", "'")
    out: list[str] = []
    negated = False
    for clause in _CLAUSE.split(text):
        negated = False
        for tok in _TOKEN.findall(clause):
            if tok in _NEGATORS:
                negated = True
                out.append(tok)
            else:
                out.append("neg_" + tok if negated else tok)
        out.append(".")
    return out


def _ngrams(toks: list[str]) -> list[str]:
    words = [t for t in toks if t != "."]
    return words + [f"{a} {b}" for a, b in itertools.pairwise(toks) if a != "." and b != "."]


def lexicon_features(toks: Sequence[str], lexicon: dict[str, float]) -> tuple[float, ...]:
    """Summed valence (negated words flipped and damped), positive/negative word counts, compound, ``!`` count."""
    total, pos, neg = 0.0, 0, 0
    for tok in toks:
        value = lexicon.get(tok[4:], 0.0) * NEGATION_SCALE if tok.startswith("neg_") else lexicon.get(tok, 0.0)
        total += value
        pos += value > 0
        neg += value < 0
    compound = total / np.sqrt(total * total + 15.0)
    return total / 4.0, float(pos), float(neg), compound, float(toks.count("!"))


def _hasher() -> Any:
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(analyzer=_ngrams, n_features=N_FEATURES, alternate_sign=False, norm="l2", dtype=np.float32)


def features(texts: Iterable[str], lexicon: dict[str, float]) -> sp.csr_matrix:
    """The model's input: hashed n-grams, then the lexicon features."""
    toks = [tokens(t) for t in texts]
    hashed = _hasher().transform(toks)
    lex = np.array([lexicon_features(t, lexicon) for t in toks], dtype=np.float32).reshape(len(toks), -1)
    return sp.hstack([hashed, sp.csr_matrix(lex)], format="csr")


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

    words = [w for w, v in lexicon.items() if abs(v) >= min_valence and _TOKEN.fullmatch(w)]
    all_texts = [*texts, *words]
    y = np.array([*labels, *(int(lexicon[w] > 0) for w in words)])
    weight = np.array([1.0] * len(texts) + [lexicon_weight] * len(words))
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
