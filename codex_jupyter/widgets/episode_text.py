"""An alert's episode in words for a reader: "open", or when it ended and how long it lasted.

Shared by the live alert table (:mod:`.stream`) and the fault review (:mod:`.reviews`), so both say it alike.
"""

from __future__ import annotations

from typing import Any

import pandas as pd


def episode_status(start: Any, end: Any, new_normal: Any = False) -> str:
    """ "open", or when the series was last unusual and for how long (one alert stands for its whole episode).

    An episode that closed with its series at a new level (``new_normal``: the detector learnt the shift, see
    ``episode_new_normal`` of :func:`~codex_jupyter.detect_anomalies`) reads "new normal from ...": "ended" told an
    operator that a vibration shift was over when it went on at its new level.
    """
    if end is None or pd.isna(end):
        return "open"
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    learnt = new_normal is not None and not pd.isna(new_normal) and bool(new_normal)  # NaN: an alert frame's gap
    said = "new normal from" if learnt else "ended"
    return f"{said} {_end_time(start, end)} ({duration_text(end - start)})"


def _end_time(start: pd.Timestamp, end: pd.Timestamp) -> str:
    """The end to the second on the onset's day, else its day and month ("26 Dec 02:00"), its year only when the
    episode crossed into a new one: an ISO date made the review's episode cells wrap to three lines."""
    if end.date() == start.date():
        return f"{end:%H:%M:%S}"
    if end.year == start.year:
        return f"{end.day} {end:%b %H:%M}"
    return f"{end:%Y-%m-%d %H:%M}"


def duration_text(span: pd.Timedelta) -> str:
    """How long an episode was unusual, as a reader says it: "one reading", "40 s", "21 min", "1 h 02 min", "3 d 4 h".

    Why not the Timedelta itself: "0 days 00:21:00" in an operator's alert table reads as noise.
    """
    seconds = int(span.total_seconds())
    if seconds <= 0:
        return "one reading"
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"
