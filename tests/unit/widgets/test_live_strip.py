"""The live strip starts nothing until its button is pressed, and a second press replaces the first tail."""

from __future__ import annotations

from codex_jupyter.pipelines.tail import tail
from codex_jupyter.widgets.live_strip import LiveStrip
from codex_jupyter.widgets.stream import LiveTailView


def test_the_strip_starts_a_tail_only_when_asked_and_restarts_cleanly() -> None:
    started = []

    def start():
        started.append(tail("sim://fleet?devices=3&rate=500&seed=1", duration=30))
        return started[-1]

    strip = LiveStrip(start, label="Watch live")
    assert not started and strip.view.children == ()
    strip.button.click()
    first = strip.handle
    assert started == [first] and first.running
    assert isinstance(strip.view.children[0], LiveTailView)
    strip.button.click()
    try:
        assert len(started) == 2 and strip.handle is started[1]
        first.wait(10)
        assert not first.running  # the earlier tail was stopped, not left running beside the new one
    finally:
        strip.handle.stop()
        strip.handle.wait(10)


def test_a_tail_that_cannot_start_is_told_on_the_strip_not_swallowed() -> None:
    def start():
        raise ValueError("kafka://nowhere:9092/t is unreachable <check the broker>")

    strip = LiveStrip(start)
    strip.button.click()
    assert strip.handle is None and strip.view.children == ()
    assert "could not start" in strip.note.value and "&lt;check the broker&gt;" in strip.note.value
