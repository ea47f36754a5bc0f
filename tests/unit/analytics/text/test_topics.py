"""Topics are named by terms common enough to describe them."""

from __future__ import annotations

import numpy as np

from codex_jupyter.analytics.text import topics


def test_words_in_too_few_texts_never_name_a_topic() -> None:
    rng = np.random.default_rng(0)
    themes = [["atm", "cash", "empty", "machine"], ["app", "transfer", "instant", "login"]]
    texts = [" ".join(rng.choice(themes[i % 2], 3)) for i in range(1_500)]
    texts[0] += " zebra quokka"
    texts[2] += " zebra quokka"  # in 2 of 1,500 texts: below MIN_DOC_SHARE
    found = topics.find_topics(texts, (2, 3))
    terms = {t for words in found.terms.values() for t in words}
    assert {"atm", "app"} <= terms and not {"zebra", "quokka"} & terms
