"""Text insights: sentiment, entities, keywords, topics and summaries (pure computation, no network).

:func:`analyze_text` enriches a text column in one call; :func:`sentiment_by`,
:func:`topics_over_time` and :func:`summarize_topics` aggregate it for a view.
"""

from codex_jupyter.analytics.text.analyze import analyze_text, sentiment_by, summarize_topics, topics_over_time

__all__ = ["analyze_text", "sentiment_by", "summarize_topics", "topics_over_time"]
