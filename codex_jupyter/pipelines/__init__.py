"""Long-running work that joins sources and analytics (knows no widgets: views subscribe)."""
