"""The text insights view: sentiment trend, top topics with example texts, entities by branch.

Display only: it draws the frames it is given -- the output of
:func:`codex_jupyter.analytics.text.analyze_text` (with a time column and a
group column such as ``branch_id``) -- as one plotly figure of three panels
and a reader table of topics with two example texts each.
"""

from __future__ import annotations

from collections import Counter

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from codex_jupyter.errors import require_columns
from codex_jupyter.widgets.table import reader_html

_POSITIVE, _NEGATIVE, _LINE = "#2e8b57", "#c0392b", "#1f5fbf"


def sentiment_trend(df: pd.DataFrame, time: str, freq: str = "MS") -> pd.DataFrame:
    """Mean sentiment and share of negative texts per period."""
    period = pd.to_datetime(df[time]).dt.to_period(freq.rstrip("S") or "M").dt.start_time
    grouped = df.assign(period=period).groupby("period")
    return grouped.agg(
        sentiment=("sentiment", "mean"), negative=("sentiment_label", lambda s: (s == "negative").mean())
    ).reset_index()


def entities_by(df: pd.DataFrame, by: str, label: str = "GPE", top: int = 10) -> pd.DataFrame:
    """The ``top`` most mentioned entities of ``label`` and their counts per group."""
    rows = [(g, text) for g, found in zip(df[by], df["entities"], strict=True) for text, lab in found if lab == label]
    counts = Counter(rows)
    frame = pd.DataFrame([(g, t, n) for (g, t), n in counts.items()], columns=[by, "entity", "mentions"])
    return frame.sort_values("mentions", ascending=False, ignore_index=True).head(top)


def text_figure(df: pd.DataFrame, time: str, by: str, label: str = "PRODUCT") -> go.Figure:
    """Sentiment trend, texts per topic (coloured by mean sentiment) and top entities by group."""
    require_columns(df, [time, by, "sentiment", "sentiment_label", "topic_name", "entities"], "text view")
    fig = make_subplots(
        rows=1, cols=3, subplot_titles=("Sentiment over time", "Top topics", f"{label} mentions by {by}")
    )
    trend = sentiment_trend(df, time)
    fig.add_trace(go.Scatter(x=trend.period, y=trend.sentiment, name="mean sentiment", line={"color": _LINE}), 1, 1)
    fig.add_trace(
        go.Bar(x=trend.period, y=trend.negative, name="share negative", marker_color=_NEGATIVE, opacity=0.4), 1, 1
    )
    topics = df.groupby("topic_name").agg(texts=("topic_name", "size"), sentiment=("sentiment", "mean"))
    topics = topics.sort_values("texts").tail(8)
    colours = [_POSITIVE if s >= 0 else _NEGATIVE for s in topics.sentiment]
    fig.add_trace(go.Bar(x=topics.texts, y=topics.index, orientation="h", marker_color=colours, name="texts"), 1, 2)
    ents = entities_by(df, by, label)
    fig.add_trace(go.Bar(x=ents[by].astype(str) + " · " + ents.entity, y=ents.mentions, name="mentions"), 1, 3)
    fig.update_layout(height=420, showlegend=False, margin={"t": 40, "l": 10, "r": 10, "b": 10})
    return fig


def topics_table(topics: dict[int, dict]) -> str:
    """HTML: each topic's name, terms and example texts (from ``analyze_text(...).attrs["topics"]``).

    A reader table (see :func:`.table.reader_html`), so its text reads from the left and a phone shows a card per
    topic: as a bare table, Voila's page rules right-aligned it and a phone squeezed the examples into a column
    three words wide. Each example is quoted, so two of them in one cell read as two.
    """
    frame = pd.DataFrame(
        {
            "topic": [t["name"] for t in topics.values()],
            "terms": [", ".join(t["terms"][:6]) for t in topics.values()],
            "examples": [" ".join(f"“{x}”" for x in t["examples"]) for t in topics.values()],
        }
    )
    return reader_html(frame, max_rows=len(frame))
