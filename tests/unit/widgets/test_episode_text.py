"""An alert's episode in words: open, or when it ended and how long it lasted, as a reader says it."""

from __future__ import annotations

import pandas as pd
import pytest

from codex_jupyter.widgets.episode_text import duration_text, episode_status


@pytest.mark.parametrize(
    ("span", "said"),
    [("0s", "one reading"), ("40s", "40 s"), ("21min", "21 min"), ("62min", "1 h 02 min"), ("76h", "3 d 4 h")],
)
def test_an_episode_lasts_as_a_reader_says_it(span: str, said: str) -> None:
    assert duration_text(pd.Timedelta(span)) == said


def test_an_episode_ends_at_a_time_and_on_another_day_with_its_date() -> None:
    assert episode_status(pd.Timestamp("2025-01-01 16:03"), pd.NaT) == "open"
    same_day = episode_status(pd.Timestamp("2025-01-01 16:03"), pd.Timestamp("2025-01-01 16:24"))
    assert same_day == "ended 16:24:00 (21 min)"
    late = episode_status(pd.Timestamp("2025-01-01 22:00"), pd.Timestamp("2025-01-02 01:30"))
    assert late == "ended 2 Jan 01:30 (3 h 30 min)"
    new_year = episode_status(pd.Timestamp("2025-12-31 22:00"), pd.Timestamp("2026-01-01 01:30"))
    assert new_year == "ended 2026-01-01 01:30 (3 h 30 min)"
    # An episode that closed with its series at a new level (the detector learnt it) did not end the fault.
    learnt = episode_status(pd.Timestamp("2025-01-01 16:03"), pd.Timestamp("2025-01-01 16:40"), True)
    assert learnt == "new normal from 16:40:00 (37 min)"
    assert episode_status(pd.Timestamp("2025-01-01 16:03"), pd.Timestamp("2025-01-01 16:40"), float("nan")) == (
        "ended 16:40:00 (37 min)"
    )
