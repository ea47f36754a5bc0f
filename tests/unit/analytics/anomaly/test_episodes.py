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
