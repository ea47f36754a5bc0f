"""The text view draws what analyze_text produced: a trend, topics and entities by group."""

from __future__ import annotations

import pandas as pd
import pytest

from codex_jupyter.errors import ColumnNotFound
from codex_jupyter.widgets.text_view import entities_by, text_figure, topics_table


def analysed() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ts": pd.to_datetime(["2025-01-05", "2025-01-20", "2025-02-03", "2025-02-10"]),
            "branch_id": ["B1", "B1", "B2", "B2"],
            "sentiment": [0.9, -0.8, -0.6, 0.4],
            "sentiment_label": ["positive", "negative", "negative", "positive"],
            "topic_name": ["app / fast", "atm / cash", "atm / cash", "app / fast"],
            "entities": [[("app", "PRODUCT")], [("ATM", "PRODUCT")], [("ATM", "PRODUCT"), ("Leeds", "GPE")], []],
        }
    )


def test_the_figure_has_trend_topics_and_entities() -> None:
    fig = text_figure(analysed(), "ts", "branch_id")
    trend, negative, topics, ents = fig.data
    assert list(trend.y) == pytest.approx([0.05, -0.1]) and list(negative.y) == [0.5, 0.5]
    assert sorted(topics.y) == ["app / fast", "atm / cash"]
    assert dict(zip(ents.x, ents.y, strict=True)) == {"B1 · app": 1, "B1 · ATM": 1, "B2 · ATM": 1}


def test_entities_by_group_and_topics_table_escape_html() -> None:
    assert entities_by(analysed(), "branch_id", "GPE").to_dict("records") == [
        {"branch_id": "B2", "entity": "Leeds", "mentions": 1}
    ]
    html = topics_table({0: {"name": "<b>x", "terms": ["a"], "examples": ["<script>", "ok"]}})
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_topics_read_as_a_reader_table_with_each_example_quoted() -> None:
    examples = ["The staff at Valencia were wonderful and fixed my card issue in minutes.", "Quick and friendly."]
    html = topics_table({0: {"name": "fixed / issue", "terms": ["fixed", "issue", "staff"], "examples": examples}})
    assert "codex-reader-table" in html and "<th>Topic</th>" in html  # text from the left, cards on a phone
    assert "data-label='Examples'>“The staff at Valencia" in html and "minutes.” “Quick" in html


def test_missing_columns_are_named() -> None:
    with pytest.raises(ColumnNotFound, match="topic_name"):
        text_figure(analysed().drop(columns="topic_name"), "ts", "branch_id")
