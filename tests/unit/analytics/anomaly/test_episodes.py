"""``episode_recall``: a labelled stretch counts as caught when any of its readings raised an alert."""

from __future__ import annotations

import pandas as pd
import pytest

from codex_jupyter.analytics.anomaly.episodes import episode_recall
from codex_jupyter.errors import InputError


def test_recall_counts_episodes_not_readings() -> None:
    scored = pd.DataFrame(
        {
            "device": ["a", "a", "a", "a", "b", "b", "b", "c", "c", "c", "c"],
            "fault_type": [None, "spike", "spike", None, None, "spike", "spike", None, "stuck", "stuck", None],
            "is_anomaly": [False, True, False, True, False, False, False, False, False, False, False],
        }
    )
    recall = episode_recall(scored, series="device")
    # device a's spike is caught by one reading of two; b's spike and c's stuck run are missed;
    # the unlabelled alert of device a does not count.
    assert recall.loc["spike"].tolist() == [2, 1, 0.5, 0]
    assert recall.loc["stuck"].tolist() == [1, 0, 0.0, 0]
    assert recall.loc["all", "episodes"] == 3 and recall.loc["all", "caught"] == 1
    assert recall.loc["all", "recall"] == pytest.approx(1 / 3)


def test_missing_column_names_the_fix() -> None:
    with pytest.raises(InputError, match=r"no column 'device_id'.*series="):
        episode_recall(pd.DataFrame({"device": [], "fault_type": [], "is_anomaly": []}), series="device_id")


def test_two_faults_of_one_kind_on_one_device_are_two_episodes() -> None:
    # Device a has two spikes apart (only the first alerted); its rows arrive interleaved with device b's and out of
    # time order, as a live tail's buffer holds them.
    scored = pd.DataFrame(
        {
            "ts": [3, 1, 1, 2, 4, 5, 2, 0, 0],
            "device": ["a", "a", "b", "a", "a", "a", "b", "a", "b"],
            "fault_type": [None, "spike", "spike", "spike", "spike", None, "spike", None, None],
            "is_anomaly": [False, True, False, False, False, False, True, False, False],
        }
    )
    recall = episode_recall(scored, series="device", time="ts")
    # a: readings 1-2 (caught) and 4 (missed) are two episodes; b: readings 1-2, one episode, caught.
    assert recall.loc["spike"].tolist() == [3, 2, pytest.approx(2 / 3), 0]
    # Without time, each device's rows count in the order they came: a's 1, 2 and 4 are then one run (rows 1, 3, 4),
    # and b's first row (reading 1) is one of its fault's: that fault is under way, not judged.
    untimed = episode_recall(scored, series="device")
    assert recall.loc["all", "episodes"] == 3 and untimed.loc["all"].tolist() == [1, 1, 1.0, 1]


def test_a_fault_under_way_at_the_first_reading_is_not_judged() -> None:
    """A review that starts on a given day, or a live view's last rows per device, begins in the middle of some
    faults: their onset is not in the data, so no detector could have alerted there, and counted as missed they
    put the IoT dashboard's recall under its real figure. They are counted apart, whether or not a later reading of
    theirs alerted."""
    scored = pd.DataFrame(
        {
            "device": ["a", "a", "a", "a", "b", "b", "b", "c", "c"],
            "fault_type": ["shift", "shift", None, "shift", "stuck", "stuck", None, "shift", None],
            "is_anomaly": [False, False, False, True, False, True, False, False, False],
        }
    )
    recall = episode_recall(scored, series="device")
    # a: a shift under way at its first row, then one caught; b's stuck run and c's shift were under way too.
    assert recall.loc["shift"].tolist() == [1, 1, 1.0, 2]
    assert recall.loc["stuck"].tolist() == [0, 0, 0.0, 1]
    assert recall.loc["all"].tolist() == [1, 1, 1.0, 3]
