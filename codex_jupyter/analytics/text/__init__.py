"""Text insights: sentiment, entities, keywords, topics and summaries (pure computation, no network)."""
