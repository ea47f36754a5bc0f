"""Views: they render data they are given and never open a connection."""
