"""``episode_recall``: a labelled stretch counts as caught when any of its readings raised an alert."""

from __future__ import annotations

import pandas as pd
import pytest

from codex_jupyter.analytics.anomaly.episodes import episode_recall
from codex_jupyter.errors import InputError


def test_recall_counts_episodes_not_readings() -> None:
    scored = pd.DataFrame(
        {
            "device": ["a", "a", "a", "b", "b", "c", "c", "c"],
            "fault_type": ["spike", "spike", None, "spike", "spike", "stuck", "stuck", None],
            "is_anomaly": [True, False, True, False, False, False, False, False],
        }
    )
    recall = episode_recall(scored, series="device")
    # device a's spike is caught by one reading of two; b's spike and c's stuck run are missed;
    # the unlabelled alert of device a does not count.
    assert recall.loc["spike"].tolist() == [2, 1, 0.5]
    assert recall.loc["stuck"].tolist() == [1, 0, 0.0]
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
            "ts": [3, 1, 1, 2, 4, 5, 2],
            "device": ["a", "a", "b", "a", "a", "a", "b"],
            "fault_type": [None, "spike", "spike", "spike", "spike", None, "spike"],
            "is_anomaly": [False, True, False, False, False, False, True],
        }
    )
    recall = episode_recall(scored, series="device", time="ts")
    # a: readings 1-2 (caught) and 4 (missed) are two episodes; b: readings 1-2, one episode, caught.
    assert recall.loc["spike"].tolist() == [3, 2, pytest.approx(2 / 3)]
    # Without time, each device's rows count in the order they came: a's 1, 2 and 4 are then one run (rows 1, 3, 4).
    assert recall.loc["all", "episodes"] == 3 and episode_recall(scored, series="device").loc["all", "episodes"] == 2
