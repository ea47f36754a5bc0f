"""The shipped sentiment model: loads without pickle, reads negation, stays in -1..1 and is reproducible."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from codex_jupyter.analytics.text import sentiment


def test_the_shipped_model_is_small_and_loads_without_pickle() -> None:
    path = resources.files("codex_jupyter.analytics.text") / sentiment.MODEL_FILE
    assert path.is_file() and len(path.read_bytes()) < 3_000_000
    with np.load(str(path), allow_pickle=False) as data:
        assert all(data[k].dtype != object for k in data.files)
    model = sentiment.default_model()
    assert model.weights.shape == (sentiment.N_FEATURES + len(sentiment.LEXICON_FEATURES),)
    assert len(model.lexicon) > 7000


@pytest.mark.parametrize(
    ("text", "sign"),
    [
        ("The staff were wonderful and fixed my card issue in minutes.", 1),
        ("Terrible: my card was charged twice and support never called back.", -1),
        ("The app is not good at all.", -1),
        ("I can't complain, it's not bad.", 1),
        ("Waited 40 minutes and the ATM was out of cash again.", -1),
    ],
)
def test_scores_have_the_right_sign(text: str, sign: int) -> None:
    assert np.sign(sentiment.default_model().score([text])[0]) == sign


def test_negation_lasts_to_the_end_of_its_clause() -> None:
    stream = sentiment._stream(["not very good. good", "isn\u2019t great!"])
    negated = [stream.distinct[c] for c, n in zip(stream.code, stream.negated, strict=True) if n]
    assert negated == ["very", "good", "great"]


def test_a_batch_scores_each_text_as_it_scores_alone() -> None:
    texts = ["Not good at all.", "", "Great service :)", "12345", "never again!! awful"]
    model = sentiment.default_model()
    alone = np.concatenate([model.score([t]) for t in texts])
    np.testing.assert_allclose(model.score(texts), alone, atol=1e-6)


def test_texts_without_known_words_are_neutral() -> None:
    scores = sentiment.default_model().score(["", "12345", "Der Kundendienst antwortet schnell"])
    assert (sentiment.label(scores) == "neutral").all() and np.all(np.abs(scores) <= 1)


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    lexicon = {"good": 1.9, "bad": -2.5}
    model = sentiment.train(["good stuff", "bad stuff", "really good", "really bad"], [1, 0, 1, 0], lexicon)
    model.save(tmp_path / "m.npz")
    again = sentiment.SentimentModel.load(tmp_path / "m.npz")
    texts = ["good", "bad stuff", "unknown"]
    np.testing.assert_allclose(again.score(texts), model.score(texts), atol=1e-5)


def test_a_missing_local_transformers_model_is_one_line() -> None:
    from codex_jupyter.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        sentiment.transformers_scores(["fine"], "no-such/model-here")
    assert "\n" not in str(err.value) and "no-such/model-here" in str(err.value)
