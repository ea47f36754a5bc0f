"""A live strip for a dashboard that may be executed before its reader arrives (preheated, a report, nbval).

A tail started when the notebook runs would have stopped, or be hours old, by
the time a reader opens a preheated page. The strip starts its tail when the
reader asks for it and shows it in the live view. It takes a function that
starts the tail, not a URL, so the view stays below the pipelines that run tails
(``sources -> analytics -> widgets``, front doors on top).
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

import ipywidgets as widgets

from codex_jupyter.widgets.stream import LiveTailView


class LiveStrip(widgets.VBox):
    """``LiveStrip(lambda: codex_jupyter.tail("sim://fleet", duration=60), "Watch live (60 s)")``.

    ``start`` returns a running tail handle (bound it with ``duration`` so it
    stops by itself); pressing the button again stops the last one and
    starts a fresh one, so a reader can watch as long as they like.
    """

    def __init__(self, start: Callable[[], Any], label: str = "Watch live") -> None:
        self.start = start
        self.handle: Any = None
        self.button = widgets.Button(description=label, icon="play", button_style="primary", layout={"width": "auto"})
        self.note = widgets.HTML(
            "<span style='color:#5b6776'>Starts a live feed for this page only; it stops by itself.</span>"
        )
        self.view = widgets.Box()
        self.button.on_click(self._start)
        super().__init__([widgets.HBox([self.button, self.note], layout={"align_items": "center"}), self.view])

    def _start(self, _: Any = None) -> None:
        """Start (or restart) the tail and swap in its live view."""
        if self.handle is not None and self.handle.running:
            self.handle.stop()
        try:
            self.handle = self.start()
        except Exception as exc:  # a button callback's error is otherwise swallowed: the reader must see it
            self.handle = None
            self.note.value = f"<span style='color:#b00'>The live feed could not start: {escape(str(exc))}</span>"
            return
        self.view.children = [LiveTailView(self.handle)]
        self.note.value = "<span style='color:#5b6776'>Live now; it stops by itself.</span>"
