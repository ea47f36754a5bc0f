"""A live strip for a dashboard that may be executed before its reader arrives (preheated, a report, nbval).

A tail started when the notebook runs would have stopped, or be hours old, by
the time a reader opens a preheated page. The strip starts its tail when the
reader asks for it, for a bounded time, and shows it in the live view.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets


class LiveStrip(widgets.VBox):
    """``LiveStrip("sim://fleet?devices=40", seconds=60)``: a button that starts a bounded live tail and shows it.

    ``options`` go to :func:`codex_jupyter.tail` (``window``, ``detector``,
    ``fields`` ...). The tail stops by itself after ``seconds``; pressing the
    button again starts a fresh one, so a reader can watch as long as they like.
    """

    def __init__(self, url: str, seconds: float = 60, *, label: str = "Watch live", **options: Any) -> None:
        self.url = url
        self.seconds = seconds
        self.options = options
        self.handle: Any = None
        self.button = widgets.Button(
            description=f"{label} ({seconds:g} s)", icon="play", button_style="primary", layout={"width": "auto"}
        )
        self.note = widgets.HTML(
            "<span style='color:#5b6776'>Starts a live feed for this page only; it stops by itself.</span>"
        )
        self.view = widgets.Box()
        self.button.on_click(self._start)
        super().__init__([widgets.HBox([self.button, self.note], layout={"align_items": "center"}), self.view])

    def _start(self, _: Any = None) -> None:
        """Start (or restart) the tail and swap in its live view."""
        from codex_jupyter.pipelines.tail import tail
        from codex_jupyter.widgets.stream import LiveTailView

        if self.handle is not None and self.handle.running:
            self.handle.stop()
        self.handle = tail(self.url, duration=self.seconds, **self.options)
        self.view.children = [LiveTailView(self.handle)]
        self.note.value = f"<span style='color:#5b6776'>Live for {self.seconds:g} s from now.</span>"
