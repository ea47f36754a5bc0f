"""A stream's series scored by worker processes: the scores one detector gives, its errors, no process left behind."""

from __future__ import annotations

import os
import signal
from contextlib import closing

import numpy as np
import pandas as pd
import pytest

from codex_jupyter.analytics.anomaly import AnomalyInputError, StreamingDetector
from codex_jupyter.analytics.anomaly.parallel import ParallelDetector, ScoringWorkerError


def _readings(series: int = 24, per: int = 500, seed: int = 1) -> pd.DataFrame:
    """Two metrics of ``series`` devices every 5 minutes, with spikes, a level shift and a dropout."""
    rng = np.random.default_rng(seed)
    ts = np.repeat(pd.date_range("2025-03-01", periods=per, freq="5min", tz="UTC"), series)
    device = np.tile([f"dev-{i:02d}" for i in range(series)], per)
    a = rng.normal(10, 0.5, len(ts))
    a[rng.integers(series * 100, len(ts), 40)] += 8  # spikes
    a[(device == "dev-03") & (np.arange(len(ts)) > len(ts) // 2)] += 4  # a level shift that stays
    b = rng.normal(0, 1, len(ts))
    b[(device == "dev-07") & (np.arange(len(ts)) // series % 97 < 6)] = np.nan  # dropouts
    return pd.DataFrame(
        {"ts": ts, "site": np.where(device < "dev-12", "north", "south"), "device": device, "a": a, "b": b}
    )


def _batches(frame: pd.DataFrame, size: int) -> list[pd.DataFrame]:
    return [frame.iloc[i : i + size] for i in range(0, len(frame), size)]


def _sorted(closed: pd.DataFrame) -> pd.DataFrame:
    return closed.sort_values(list(closed.columns)).reset_index(drop=True)


@pytest.mark.parametrize(("by", "share"), [(["device"], 0.0), (["site", "device"], 0.0), (["device"], 1.0)])
def test_workers_score_every_reading_as_one_detector_does(by: list[str], share: float) -> None:
    batches = _batches(_readings(), 2000)
    one = StreamingDetector(["a", "b"], by=by, time="ts")
    expected, expected_closed = [], []
    for batch in batches:
        expected.append(one.update(batch))
        expected_closed.append(_sorted(one.closed_episodes))
    # The workers take over a detector that has scored the first batches (its series, windows, episodes so far).
    local = StreamingDetector(["a", "b"], by=by, time="ts")
    got = [local.update(batch) for batch in batches[:3]]
    with closing(ParallelDetector(2, share=share)) as workers:
        workers.take_over(local)
        for batch, closed in zip(batches[3:], expected_closed[3:], strict=True):
            workers.submit(batch)
            got.append(workers.collect())
            pd.testing.assert_frame_equal(_sorted(workers.closed_episodes), closed)
    expected_frame = pd.concat(expected)
    pd.testing.assert_frame_equal(pd.concat(got), expected_frame)
    assert expected_frame.is_anomaly.sum() >= 20  # the spikes, the shift and the dropouts alert


@pytest.mark.parametrize("share", [0.0, 1.0])
def test_a_batch_the_detector_refuses_raises_its_error_and_the_workers_go_on(share: float) -> None:
    frame = _readings(series=6, per=200)
    local = StreamingDetector(["a", "b"], by="device", time="ts")
    local.update(frame.iloc[:600])
    with closing(ParallelDetector(2, share=share)) as workers:
        workers.take_over(local)
        naive = frame.iloc[600:900].assign(ts=frame.ts.iloc[600:900].dt.tz_localize(None))
        with pytest.raises(AnomalyInputError, match="naive timestamps"):
            workers.update(naive)
        assert len(workers.update(frame.iloc[600:900])) == 300


def test_a_worker_that_dies_is_named_and_closing_leaves_no_process() -> None:
    frame = _readings(series=6, per=200)
    local = StreamingDetector(["a", "b"], by="device", time="ts")
    local.update(frame.iloc[:600])
    workers = ParallelDetector(2)
    workers.take_over(local)
    procs = list(workers._procs)
    os.kill(procs[1].pid, signal.SIGKILL)
    with pytest.raises(ScoringWorkerError, match=r"scoring worker 2 of 2 \(pid \d+\) stopped \(exit code -9\)"):
        workers.update(frame.iloc[600:900])
    workers.close()
    assert all(proc.poll() is not None for proc in procs)


def test_workers_still_starting_are_stopped_by_close() -> None:
    workers = ParallelDetector(2)
    procs = list(workers._procs)
    workers.close()
    assert all(proc.poll() is not None for proc in procs)


def test_a_single_series_is_not_split() -> None:
    with closing(ParallelDetector(1)) as workers, pytest.raises(ValueError, match="one series"):
        workers.take_over(StreamingDetector("a"))


def test_a_detector_is_taken_over_once_its_cycle_is_settled() -> None:
    frame = _readings(series=24, per=120)
    local = StreamingDetector(["a", "b"], by="device", time="ts")
    local.update(frame.iloc[: 24 * 5])  # five readings of each series: its cycle is not known yet
    assert not local.cycle_settled and local.period is None
    with closing(ParallelDetector(1)) as workers:
        with pytest.raises(ValueError, match="cycle is not settled yet"):
            workers.take_over(local)
        local.update(frame.iloc[24 * 5 : 24 * 12])
        assert local.cycle_settled and local.period == 288  # a day of 5-minute readings
        workers.take_over(local)
        assert len(workers.update(frame.iloc[24 * 12 :])) == 24 * 108
    assert StreamingDetector("a", by="device").cycle_settled  # no time column: no cycle to wait for
