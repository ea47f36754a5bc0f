"""analyze_text: every row kept in order, awkward inputs get a result or a text_error, numbers masked."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import codex_jupyter
from codex_jupyter.analytics.text import analyze_text, sentiment_by, summarize_topics, topics_over_time
from codex_jupyter.analytics.text.entities import extract_entities
from codex_jupyter.analytics.text.keywords import keywords
from codex_jupyter.errors import InputError

AWKWARD = [
    None,
    np.nan,
    42,
    "",
    "   ",
    "<p>Great &amp; fast <b>service</b></p>",
    "x" * 20_000,
    "😡😡 worst bank ever",
    "El servicio fue excelente",
    "My card 4111 1111 1111 1111 was charged £25 on 3 March in London, IBAN GB29 NWBK 6016 1331 9268 19",
]
ERRORS = ["missing", "missing", "not text (int)", "empty", "empty", None, "truncated", None, None, None]


@pytest.fixture(scope="module")
def awkward() -> pd.DataFrame:
    frame = pd.DataFrame({"id": range(len(AWKWARD)), "text": AWKWARD}, index=[f"r{i}" for i in range(len(AWKWARD))])
    return analyze_text(frame.iloc[::-1], "text")


def test_rows_are_kept_in_order_with_a_per_row_error(awkward: pd.DataFrame) -> None:
    assert awkward.id.tolist() == list(range(len(AWKWARD)))[::-1]
    assert awkward.text_error.tolist() == ERRORS[::-1]
    assert awkward.sentiment.between(-1, 1).sum() == ERRORS.count(None) + 1  # the truncated text is scored too
    assert awkward.loc[["r0", "r2", "r3"], "sentiment"].isna().all()


def test_html_emoji_and_other_languages_get_documented_results(awkward: pd.DataFrame) -> None:
    assert awkward.loc["r5", "sentiment_label"] == "positive" and "<" not in " ".join(awkward.loc["r5", "keywords"])
    assert awkward.loc["r7", "sentiment_label"] == "negative"
    assert awkward.loc["r8", "sentiment_label"] == "neutral"


def test_card_and_account_numbers_never_leave_in_the_clear(awkward: pd.DataFrame) -> None:
    row = awkward.loc["r9"]
    assert ("**** 1111", "CARD") in row.entities and ("**** 6819", "ACCOUNT") in row.entities
    assert {("£25", "MONEY"), ("3 March", "DATE"), ("London", "GPE")} <= set(row.entities)
    shown = " ".join([*row.keywords, *(t for t, _ in row.entities), str(awkward.topic_name.tolist())])
    assert "4111" not in shown and "NWBK" not in shown and "1331" not in shown


def test_branch_cities_and_products_are_found() -> None:
    found = extract_entities(["The staff at Springfield fixed my credit card"], places=["Springfield"])[0]
    assert ("Springfield", "GPE") in found and ("credit card", "PRODUCT") in found


def test_keywords_by_both_methods() -> None:
    texts = ["The ATM at the branch was out of cash", "Transfers in the app are instant"]
    assert "ATM" in keywords(texts, "yake")[0]
    assert keywords(texts, "tfidf")[1][0] in {"app", "instant", "transfers", "app instant"}


def test_tfidf_keywords_skip_stop_words_and_pair_only_neighbours() -> None:
    found = keywords(["card was charged twice", "card charged", "new card"], "tfidf", top=10)
    assert set(found[0]) == {"card", "charged", "twice", "charged twice"}
    assert "card charged" in found[1] and found[2] == ["new", "new card", "card"]


def test_tfidf_keywords_weigh_terms_over_the_whole_batch_even_with_a_progress_bar(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from codex_jupyter.analytics.text import analyze

    texts = [f"fee {i} card" if i % 3 else f"slow queue {i}" for i in range(12)]
    monkeypatch.setattr(analyze, "PROGRESS_FROM", 2)
    monkeypatch.setattr(analyze, "_CHUNK", 4)
    out = analyze_text(
        pd.Series(texts, name="t"), sentiment=False, entities=False, topics=False, keyword_method="tfidf"
    )
    assert out["keywords"].tolist() == keywords(texts, "tfidf")


def test_a_series_works_and_only_asked_parts_run() -> None:
    out = codex_jupyter.analyze_text(
        pd.Series(["good", "bad"], name="note"), sentiment=True, entities=False, keywords=False, topics=False
    )
    assert list(out.columns) == ["note", "sentiment", "sentiment_label", "text_error"]
    with pytest.raises(InputError, match="name the text column"):
        analyze_text(pd.DataFrame({"a": ["x"], "b": ["y"]}))


def feedback() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    good = ["Great app, transfers are instant.", "The staff were wonderful and quick."]
    bad = ["The ATM was out of cash again.", "My card was charged twice, terrible support."]
    texts = [(good if i % 3 else bad)[int(rng.integers(0, 2))] + f" Visit {i}." for i in range(120)]
    return pd.DataFrame(
        {"text": texts, "branch": ["A", "B"] * 60, "ts": pd.date_range("2025-01-01", periods=120, freq="D")}
    )


@pytest.mark.filterwarnings("error::RuntimeWarning")  # a notebook shows them: "invalid value encountered in sqrt"
def test_topics_are_named_and_summarised() -> None:
    out = analyze_text(feedback(), "text", entities=False, keywords=False, topic_range=(2, 5))
    assert out.topic.notna().all() and out.topic_name.notna().all()
    topics = out.attrs["topics"]
    assert 2 <= len(topics) <= 5 and all(len(t["examples"]) == 2 for t in topics.values())
    summary = summarize_topics(out)
    assert summary.texts.sum() == 120 and summary.summary.str.len().gt(0).all()


def test_aggregates_for_the_view() -> None:
    by = sentiment_by(feedback(), "text", "branch")
    assert by.branch.tolist() == ["A", "B"] and by.texts.sum() == 120
    assert by.positive.between(0, 1).all()
    over = topics_over_time(feedback(), "text", "ts")
    assert over.texts.sum() == 120 and over.period.nunique() == 4


def test_long_batches_show_progress_for_every_part_topics_included(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from codex_jupyter.analytics.text import analyze

    monkeypatch.setattr(analyze, "PROGRESS_FROM", 10)
    analyze_text(feedback(), "text", entities=False, keywords=False, topic_range=(2, 4))
    shown = capsys.readouterr().err
    assert "sentiment: 100%" in shown and "topics: 100%" in shown and "3/3" in shown


def test_auto_keywords_use_yake_on_small_batches_and_tfidf_on_large_ones_or_without_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from codex_jupyter import extras
    from codex_jupyter.analytics.text import keywords as kw

    assert kw.resolve("auto", 10) == "yake" and kw.resolve("auto", kw.YAKE_LIMIT + 1) == "tfidf"
    assert kw.resolve("yake", kw.YAKE_LIMIT + 1) == "yake"  # asked for by name: never overridden
    frame = pd.DataFrame({"text": ["The branch staff were friendly and quick.", "Card fees are far too high."]})
    out = analyze_text(frame, "text", sentiment=False, entities=False, topics=False)
    assert out.attrs["keyword_method"] == "yake" and all(out.keywords)
    monkeypatch.setattr(extras, "installed", lambda extra: extra != "text")
    out = analyze_text(frame, "text", sentiment=False, entities=False, topics=False)
    assert out.attrs["keyword_method"] == "tfidf" and all(out.keywords)
