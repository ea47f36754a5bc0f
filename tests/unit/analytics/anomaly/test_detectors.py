"""Anomaly detectors: what a user sees on series with known, injected problems."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pandas as pd
import pytest

from codex_jupyter import StreamingDetector, detect_anomalies
from codex_jupyter.analytics.anomaly import AnomalyInputError, detectors, infer_period, reason_metrics, threshold_for
from codex_jupyter.analytics.anomaly.reasons import reason_number
from codex_jupyter.errors import InputError


def hourly(values: np.ndarray, start: str = "2025-01-01", **columns: object) -> pd.DataFrame:
    return pd.DataFrame({"ts": pd.date_range(start, periods=len(values), freq="h"), "value": values, **columns})


def daily_cycle(n: int, seed: int = 0, noise: float = 0.3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 20 + 3 * np.sin(2 * np.pi * np.arange(n) / 24) + rng.normal(0, noise, n)


def test_a_spike_is_flagged_with_a_reason_and_little_else() -> None:
    values = daily_cycle(24 * 30)
    values[500] += 6
    out = detect_anomalies(hourly(values), time="ts", value="value")
    assert out.is_anomaly.iloc[500]
    assert "MADs above the usual" in out.reason.iloc[500] and "24-reading cycle" in out.reason.iloc[500]
    assert out.is_anomaly.sum() <= 4


def test_a_count_that_bursts_after_quiet_hours_alerts_on_its_first_burst_only() -> None:
    """A move off a window of identical readings has no spread to be judged by (its z is astronomical): the series'
    own share of such moves decides, so a count of rare events does not alert on every burst after a quiet night."""
    rng = np.random.default_rng(3)
    values: list[float] = []
    bursts = []
    for _ in range(40):
        values += [0.0] * 60
        bursts.append(len(values))
        values += rng.integers(1, 6, 3).astype(float).tolist()
    out = detect_anomalies(hourly(np.array(values)), time="ts", value="value")
    assert out.is_anomaly.iloc[bursts[0]]  # the first burst is news, and ranks far above everything else
    assert out.surprise.iloc[bursts[0]] > 1_000
    assert out.is_anomaly.sum() == 1  # the other 39 were 39 alerts, their surprise rising to 1e16
    assert (out.surprise.iloc[bursts[5:]] < 3).all()


def test_a_sparse_count_whose_activity_resumes_is_no_level_shift() -> None:
    """A count of rare events (an account's posts per hour, active on some days) mostly sits at 0: its level is
    judged in the usual size of its moves, as its single readings are, not against the tiny spread of a quiet
    window (activity resuming after a quiet day was a "level shift up" ten times a year)."""
    rng = np.random.default_rng(11)
    hour = np.arange(24 * 365) % 24
    active = (rng.random(365) < 0.5).repeat(24)
    values = rng.poisson(np.where((hour >= 8) & (hour <= 22) & active, 0.6, 0.02)).astype(float)
    out = detect_anomalies(hourly(values), time="ts", value="value")
    assert not out.reason[out.is_anomaly].str.startswith("level shift").any()
    assert out.is_anomaly.sum() <= 1  # the first post after a quiet start


def test_scores_are_calibrated_across_very_different_series() -> None:
    """One default threshold gives similar, low false-alarm rates on unlike series."""
    rng = np.random.default_rng(7)
    n = 20_000
    series = {
        "temperature": 21 + rng.normal(0, 0.4, n),
        "requests": rng.poisson(900, n).astype(float),
        "price": 100 * np.exp(np.cumsum(rng.normal(0, 0.002, n))),
        "sparse_counts": rng.poisson(0.7, n).astype(float),
    }
    frame = pd.concat([pd.DataFrame({"series": k, "value": v}) for k, v in series.items()], ignore_index=True)
    out = detect_anomalies(frame, value="value", by="series")
    rates = out.groupby("series").is_anomaly.mean()
    assert (rates.drop("sparse_counts") < 0.002).all(), rates.to_dict()
    # Counts of rare events (mean < 1) are far from normal: documented to alarm more often.
    assert rates["sparse_counts"] < 0.01
    scores = out.dropna(subset=["anomaly_score"]).groupby("series").anomaly_score.median()
    assert scores.between(0.2, 0.8).all(), scores.to_dict()  # mid-range for normal readings everywhere


def test_a_level_shift_raises_one_alert_at_its_onset_and_becomes_the_new_normal() -> None:
    rng = np.random.default_rng(1)
    values = rng.normal(10, 0.5, 400)
    values[250:] += 2.5
    out = detect_anomalies(pd.Series(values, name="load"), method="auto")
    onsets = out.index[out.is_anomaly]
    assert len(onsets) == 1 and 250 <= onsets[0] <= 256 and "shift up" in out.reason.iloc[onsets[0]]
    episode = out[out.episode_id == out.episode_id.iloc[onsets[0]]]
    assert episode.episode_start.eq(onsets[0]).all()
    # The new level is the baseline once the rolling median has moved (window / 2 = 24 readings): the episode
    # closes `quiet` (12) readings after its last unusual reading, and nothing more is flagged.
    closed = out.index[out.episode_end.notna()]
    assert len(closed) == 1 and closed[0] <= 250 + 24 + 12
    assert not out.is_anomaly.iloc[onsets[0] + 1 :].any()


def test_a_shift_that_ends_after_it_was_learnt_raises_no_second_alert() -> None:
    """The fault's end is no new problem: back at the level it had before the alert, the series is judged against
    that level too (the old detector alerted at the step back, as a level shift down)."""
    rng = np.random.default_rng(1)
    values = rng.normal(10, 0.5, 500)
    values[250:340] += 2.5  # 90 readings: learnt as the new normal long before it ends
    out = detect_anomalies(pd.Series(values, name="load"), method="auto")
    onsets = out.index[out.is_anomaly].tolist()
    assert len(onsets) == 1 and 250 <= onsets[0] <= 256
    assert out.surprise.iloc[340:360].max() < 3  # the step back scores as what it is: the usual level


def test_an_episode_says_whether_it_closed_at_a_new_normal_or_back_to_normal() -> None:
    """A shift that lasts is learnt: its episode closes while the series is still shifted, and an alert table that
    said "ended" told an operator the fault was over. The closing reading says which it was; a spike's episode
    closes back to normal."""
    rng = np.random.default_rng(1)
    values = rng.normal(10, 0.5, 700)
    values[250:400] += 2.5  # learnt as the new normal long before it ends
    values[500:503] += 8  # a fault of three readings: back to normal
    frame = pd.DataFrame({"ts": pd.date_range("2025-01-01", periods=700, freq="min"), "load": values})
    out = detect_anomalies(frame, time="ts", value="load")
    closed = out[out.episode_end.notna()]
    onsets = out.episode_start[out.is_anomaly].tolist()
    assert len(onsets) == 2 and closed.episode_start.tolist() == onsets
    assert closed.episode_new_normal.tolist() == [True, False]
    assert closed.ts.iloc[0] < frame.ts[400]  # it closed while the shift went on
    assert not out.episode_new_normal[out.episode_end.isna()].any()  # said on closing readings only
    detector = StreamingDetector("load", time="ts")
    streamed = pd.concat([detector.update(frame.iloc[i : i + 9]) for i in range(0, len(frame), 9)])
    pd.testing.assert_frame_equal(streamed, out.drop(columns=["ts", "load"]))
    detector = StreamingDetector("load", time="ts")
    detector.update(frame.iloc[:320])
    assert detector.closed_episodes.episode_new_normal.tolist() == [True]


def test_the_level_statistic_lagging_on_the_way_back_raises_no_second_alert() -> None:
    """Two readings after the step back the median of the last 6 still sits between the shifted level and the old
    one: judged so, it alerted (a level shift down) at the end of 3 of these 6 shifts, as on the simulated fleet."""
    for seed in range(6):
        values = np.random.default_rng(seed).normal(0.4, 0.05, 600)
        values[250:350] += 0.6
        out = detect_anomalies(pd.Series(values, name="vibration"))
        assert out.index[out.is_anomaly].tolist() == [250]


def test_a_return_is_only_to_the_level_before_the_alert() -> None:
    """A move to some other level after a learnt shift, or one long after it, is news as before."""
    rng = np.random.default_rng(1)
    values = rng.normal(10, 0.5, 800)
    values[250:340] += 4
    values[340:] -= 4  # from the shifted level to 6: past the level before, so not a return
    out = detect_anomalies(pd.Series(values, name="load"), method="auto")
    assert out.is_anomaly.iloc[250:256].any() and out.is_anomaly.iloc[340:350].any()
    late = rng.normal(10, 0.5, 900)
    late[250:700] += 4  # 450 readings: back after more than five windows, no longer recognised as a return
    out = detect_anomalies(pd.Series(late, name="load"), method="auto")
    assert out.is_anomaly.iloc[250:256].any() and out.surprise.iloc[700:712].max() > 5
    soon = late.copy()
    soon[340:700] -= 4  # the same step back after 90 readings is the fault's end
    out = detect_anomalies(pd.Series(soon, name="load"), method="auto")
    assert out.is_anomaly.iloc[250:256].any() and not out.is_anomaly.iloc[256:].any()
    assert out.surprise.iloc[340:352].max() < 3


def test_a_problem_in_one_metric_is_not_hidden_by_an_episode_open_in_another() -> None:
    temperature, humidity = daily_cycle(24 * 20, seed=1), daily_cycle(24 * 20, seed=2)
    temperature[300:] += 10  # a level shift: its episode stays open for a day or so...
    humidity[310] += 8  # ...while humidity spikes
    data = hourly(temperature, temperature=temperature, humidity=humidity).drop(columns="value")
    out = detect_anomalies(data, time="ts", value=["temperature", "humidity"])
    alerts = out[out.is_anomaly]
    assert alerts.index.tolist() == [300, 310]
    assert alerts.reason.str.split(":").str[0].tolist() == ["temperature", "humidity"]
    # Two episodes, each closed on a reading that carries its own id, so a live view can close each alert.
    assert alerts.episode_id.nunique() == 2
    assert sorted(out.episode_id[out.episode_end.notna()]) == sorted(alerts.episode_id)


def test_a_row_that_opens_episodes_in_several_metrics_names_them_all() -> None:
    temperature, humidity, vibration = (daily_cycle(24 * 20, seed=s) for s in (1, 2, 3))
    for column in (temperature, humidity, vibration):
        column[200:203] = np.nan  # the device drops out: every metric misses the same readings
    temperature[300] += 12  # and later two metrics spike at once, by different amounts
    humidity[300] += 6
    data = hourly(temperature, temperature=temperature, humidity=humidity, vibration=vibration).drop(columns="value")
    out = detect_anomalies(data, time="ts", value=["temperature", "humidity", "vibration"])
    alerts = out[out.is_anomaly]
    assert len(alerts) == 2 and 200 <= alerts.index[0] <= 202 and alerts.index[1] == 300  # one per row, not metric
    assert alerts.reason.iloc[0].startswith("temperature, humidity, vibration: ")
    assert "missing readings in a row" in alerts.reason.iloc[0]
    spike = alerts.reason[300].split("; ")
    assert [part.split(":")[0] for part in spike] == ["temperature", "humidity"]  # the most surprising first
    assert all("MADs above the usual" in part for part in spike)
    metrics = ["temperature", "humidity", "vibration"]
    assert reason_metrics(alerts.reason.iloc[0], metrics) == metrics
    assert reason_metrics(alerts.reason[300], metrics) == ["temperature", "humidity"]
    assert reason_metrics("level shift up: last 6 readings at 1.53, before 0.62", ["value"]) == ["value"]
    assert reason_metrics("", metrics) == []


def test_a_stuck_sensor_raises_one_alert_but_repeating_counts_do_not() -> None:
    values = daily_cycle(24 * 20, seed=3)
    values[300:312] = values[300]
    out = detect_anomalies(hourly(values), time="ts", value="value")
    onsets = np.flatnonzero(out.is_anomaly)
    assert len(onsets) == 1 and 301 <= onsets[0] <= 305
    assert out.reason.iloc[onsets[0]].startswith("flatline at")
    assert out.episode_start.iloc[onsets[0]] == out.ts.iloc[onsets[0]]
    counts = np.random.default_rng(2).poisson(0.3, 2000).astype(float)  # mostly zeros, runs are normal
    assert not detect_anomalies(pd.Series(counts, name="c"), method="stuck").is_anomaly.any()


def test_a_series_that_sits_at_its_cap_for_days_is_no_stuck_sensor_each_time() -> None:
    """Hourly visibility sits at its cap (10 miles) for days between foggy spells. Judged with the foggy window
    before it, every clear spell was a flatline alert within hours; the series' own long runs now teach it."""
    rng = np.random.default_rng(5)
    values: list[float] = []
    for _ in range(12):
        values += [10.0] * int(rng.integers(100, 200))
        values += np.clip(rng.normal(5, 2.5, 60), 0.2, 10).round(1).tolist()
    out = detect_anomalies(hourly(np.array(values)), time="ts", value="value")
    flatlines = out.reason[out.is_anomaly & out.reason.str.startswith("flatline")]
    assert len(flatlines) <= 5  # was 11 of the 12 clear spells, each within 9 hours
    assert all(int(re.search(r"\((\d+) readings\)", why).group(1)) >= 36 for why in flatlines)  # a day and a half


def shop(days: int, seed: int = 2) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """A shop's customers every 5 minutes: open 8:00-20:00 Monday to Saturday, 0 at night and on Sundays."""
    ts = pd.date_range("2025-03-03", periods=288 * days, freq="5min")
    open_hours = (ts.hour >= 8) & (ts.hour < 20) & (ts.dayofweek < 6)
    return ts, np.where(open_hours, np.random.default_rng(seed).poisson(4, len(ts)), 0).astype(float)


def test_a_shops_quiet_nights_are_no_flatline_but_a_day_it_stays_closed_is() -> None:
    """At night the count is 0, what the series reads at that point of its daily cycle: those repeats do not add
    to a run's surprise, nor teach it how long runs last (a flatline alert came on 27 of 60 nights before, on 52
    before runs' lengths were learnt). Zeros where the cycle expects customers do: a Thursday it stays closed is
    reported by 11:00, 2.5 hours after opening time, and so is each Sunday (a daily cycle does not know the week)."""
    ts, values = shop(60)
    closed = ts.normalize() == pd.Timestamp("2025-04-10")  # a Thursday
    values[closed] = 0
    out = detect_anomalies(pd.DataFrame({"ts": ts, "value": values}), time="ts", value="value")
    alerts = ts[out.is_anomaly.to_numpy()]
    later = alerts[alerts >= pd.Timestamp("2025-03-05")]
    assert ((later.hour >= 8) & (later.hour < 12)).all()  # none at night: each in a morning the shop stayed shut
    assert set(later.dayofweek) <= {3, 6}  # Sundays, and the closed Thursday
    assert pd.Timestamp("2025-04-10 08:00") < alerts[alerts.normalize() == pd.Timestamp("2025-04-10")][0]


def test_a_counter_frozen_in_opening_hours_is_reported() -> None:
    """A count that stops changing while the shop is open: the nights' runs of zeros must not make it look usual
    (learnt from, they hid a counter frozen for a whole day)."""
    ts, values = shop(30, seed=0)
    at = int(np.flatnonzero(ts == pd.Timestamp("2025-03-26 11:00"))[0])  # a Wednesday
    values[at : at + 60] = 5.0
    out = detect_anomalies(pd.DataFrame({"ts": ts, "value": values}), time="ts", value="value")
    onsets = np.flatnonzero(out.is_anomaly.to_numpy())
    assert any(at < i < at + 60 for i in onsets)
    assert out.reason.iloc[next(i for i in onsets if i > at)].startswith("flatline at 5")


def test_a_sensors_later_stuck_faults_are_still_caught() -> None:
    """Learning how long a series' runs last must not teach a sensor that its own faults are usual."""
    values = daily_cycle(24 * 200, seed=3)
    faults = (300, 1500, 3000, 4500)
    for at in faults:
        values[at : at + 40] = values[at]
    out = detect_anomalies(hourly(values), time="ts", value="value")
    onsets = np.flatnonzero(out.is_anomaly)
    assert len(onsets) == len(faults)
    assert all(at < onset <= at + 15 for at, onset in zip(faults, onsets, strict=True))  # the 4th on its 14th reading


@pytest.mark.parametrize("seed", range(4))
def test_a_spike_soon_after_a_dropout_is_judged_as_without_the_dropout(seed: int) -> None:
    """A gap leaves fewer readings in the window, not a young series: a sensor's spike 4 readings after it dropped
    out for 8 scored P = 1e-3.2 where the same spike scored 1e-4.4 without the gap (judged by a Student-t tail,
    which is for a scale estimated from a handful of readings)."""
    values = np.random.default_rng(seed).normal(size=1500)
    values[[300, 700, 1000, 1200]] += 12  # earlier spikes have taught the calibrator that big moves happen
    gap = values.copy()
    gap[1188:1196] = np.nan
    plain = detect_anomalies(pd.Series(values, name="t")).surprise.iloc[1200]
    after_gap = detect_anomalies(pd.Series(gap, name="t")).surprise.iloc[1200]
    assert after_gap > 0.85 * plain


@pytest.mark.parametrize("seed", [1, 5])
def test_a_spike_on_a_random_walk_is_flagged_when_the_walk_steps_straight_back(seed: int) -> None:
    # Each step of a 6.5-SD spike on a walk is only as unusual as the walk's big steps; the pair is far rarer.
    walk = np.cumsum(np.random.default_rng(seed).normal(size=600))
    walk[500] += 6.5
    out = detect_anomalies(pd.Series(walk, name="price"))
    assert list(np.flatnonzero(out.is_anomaly)) == [501]
    # Both steps are said as how far they were off the walk's expected step: out, then back.
    assert "a jump of +" in out.reason.iloc[501] and "straight back (-" in out.reason.iloc[501]


def test_a_step_on_a_walk_says_the_change_and_the_usual_change_apart() -> None:
    walk = np.cumsum(np.random.default_rng(3).normal(size=600))
    walk[500:] += 15
    out = detect_anomalies(pd.Series(walk, name="price"))
    assert out.is_anomaly.iloc[500]
    reason = out.reason.iloc[500]
    assert reason.startswith("a change of +1") and "from the previous reading" in reason
    assert "above the usual change (" in reason


def test_reasons_write_large_and_small_numbers_as_a_reader_does() -> None:
    deaths = 58_688.0 + np.random.default_rng(0).normal(0, 100, 200)
    deaths[150] += 5_000
    out = detect_anomalies(pd.Series(deaths, name="deaths"))
    assert list(np.flatnonzero(out.is_anomaly)) == [150]
    assert re.search(r"MADs above the usual 58,[67]\d\d of the last", out.reason.iloc[150])  # not "5.869e+04"
    said = [reason_number(v) for v in (58_688.0, 0.000539, 16.3149, 2.5e-7)]
    assert said == ["58,688", "0.000539", "16.31", "2.5e-07"]
    assert reason_number(-0.0036, sign=True) == "-0.0036" and reason_number(1.59, sign=True) == "+1.59"


def test_a_season_that_slips_on_a_wandering_trend_is_flagged() -> None:
    rng = np.random.default_rng(0)
    n = 24 * 30
    values = np.cumsum(rng.normal(0, 0.3, n)) + 3 * np.sin(2 * np.pi * np.arange(n) / 24)
    values[600:624] = values[588:612] - values[599] + values[587]  # half a cycle late from here on
    out = detect_anomalies(hourly(values), time="ts", value="value")
    assert list(np.flatnonzero(out.is_anomaly)) == [600]
    assert "cycle's usual change" in out.reason.iloc[600]


def test_the_first_readings_of_a_short_history_are_judged_with_their_uncertainty() -> None:
    # A spread from 30 readings is rough: 10 MADs is a normal 1e-23 event but a plausible Student-t one; 20 still alarm.
    base = np.random.default_rng(4).normal(size=30)
    mad = 1.4826 * np.median(np.abs(base - np.median(base)))
    for jump, alarms in [(10, False), (20, True)]:
        values = np.r_[base, np.median(base) + jump * mad, np.zeros(5)]
        out = detect_anomalies(pd.Series(values, name="v"), method="zscore")
        assert out.is_anomaly.iloc[30] == alarms


def test_missing_readings_before_a_series_begins_are_not_an_alert() -> None:
    values = np.r_[np.full(30, np.nan), daily_cycle(200)]
    out = detect_anomalies(hourly(values), time="ts", value="value")
    assert not out.is_anomaly.any()
    values[150:154] = np.nan  # once it has begun, a burst still is
    out = detect_anomalies(hourly(values), time="ts", value="value")
    assert list(np.flatnonzero(out.is_anomaly)) in ([150], [151], [152])


def test_a_burst_of_missing_readings_is_one_alert_unless_turned_off() -> None:
    values = daily_cycle(200)
    values[120:124] = np.nan
    out = detect_anomalies(hourly(values), time="ts", value="value")
    onsets = np.flatnonzero(out.is_anomaly)
    assert len(onsets) == 1 and 120 <= onsets[0] <= 122
    assert "missing readings in a row" in out.reason.iloc[onsets[0]]
    off = detect_anomalies(hourly(values), time="ts", value="value", flag_missing=False)
    assert not off.is_anomaly.iloc[120:124].any()


def test_a_feed_that_misses_readings_in_long_gaps_is_not_flagged_for_each_gap() -> None:
    """A feed that misses 1 reading in 9, in gaps of 8: judged as independent misses every gap alerted (83 of
    them). Its gaps' usual length now counts: after the first ones only a day-long outage alerts, and its reason
    says how the feed usually misses."""
    values = daily_cycle(24 * 250)
    starts = np.arange(30, len(values) - 60, 72)
    for at in starts:
        values[at : at + 8] = np.nan
    outage = starts[-10]
    values[outage : outage + 24] = np.nan
    out = detect_anomalies(hourly(values), time="ts", value="value")
    onsets = np.flatnonzero(out.is_anomaly)
    assert 1 <= len(onsets[onsets < len(values) // 2]) <= 15  # its first gaps, while it is learning them
    late = onsets[onsets >= len(values) // 2]
    assert len(late) == 1 and outage + 8 <= late[0] < outage + 24
    assert re.fullmatch(
        r"\d+ missing readings in a row \(usually 1 in 9, in gaps averaging 8\)", out.reason.iloc[late[0]]
    )


def test_a_device_that_drops_out_for_hours_still_alerts_on_each_dropout_a_little_later() -> None:
    """A minute feed offline for 150 minutes four times: every outage alerts, later ones after more missing
    readings (its own outages taught it that its gaps go on), and the reason writes the usual gap as a reader
    does ("150", not "1.5e+02")."""
    values = daily_cycle(6000, noise=0.3)
    for at in (1000, 2500, 4000, 5500):
        values[at : at + 150] = np.nan
    frame = pd.DataFrame({"ts": pd.date_range("2025-01-01", periods=len(values), freq="min"), "value": values})
    out = detect_anomalies(frame, time="ts", value="value")
    onsets = np.flatnonzero(out.is_anomaly)
    assert [at for at in (1000, 2500, 4000, 5500) if any(at <= i < at + 150 for i in onsets)] == [
        1000,
        2500,
        4000,
        5500,
    ]
    delays = [int(onsets[(onsets >= at) & (onsets < at + 150)][0] - at) for at in (1000, 2500, 4000, 5500)]
    assert delays[0] < delays[-1] < 30
    assert out.reason.iloc[onsets[-1]].endswith("in gaps averaging 150)")


def test_a_dropout_ends_when_readings_return_and_a_spike_after_it_is_its_own_alert() -> None:
    """A sensor back from a dropout that spikes 4 readings later: the spike was part of the dropout's episode (it
    closed 12 quiet readings after the last missing one), so it went unreported (9 of the 36 faults the simulated
    fleet missed started inside another episode)."""
    values = daily_cycle(24 * 25, seed=4)
    values[400:408] = np.nan
    values[412] += 15
    out = detect_anomalies(hourly(values), time="ts", value="value")
    assert np.flatnonzero(out.is_anomaly).tolist() == [402, 412]
    assert "missing readings in a row" in out.reason.iloc[402] and "above" in out.reason.iloc[412]
    # The dropout's episode closes on the first reading back, ending at its last missing reading.
    closing = out.episode_end.notna() & (out.episode_id == out.episode_id.iloc[402])
    assert np.flatnonzero(closing).tolist() == [408]
    assert out.episode_end.iloc[408] == out.ts.iloc[407]


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_an_infinite_reading_alerts_and_does_not_blind_the_series() -> None:
    """A sensor's overflow (an inf, which Python's json reads from "Infinity") made its window's spread infinite:
    the series scored 0 for the next 48 readings and a 20-sigma spike among them went unreported, with numpy
    warnings printed in the notebook."""
    values = daily_cycle(24 * 25, seed=5)
    values[[380, 420]] = [np.inf, -np.inf]
    values[440] += 15
    frame = hourly(values)
    out = detect_anomalies(frame, time="ts", value="value")
    assert np.flatnonzero(out.is_anomaly).tolist() == [380, 420, 440]
    assert out.reason.iloc[380] == "an infinite reading (+inf), left out of the statistics"
    assert out.reason.iloc[420] == "an infinite reading (-inf), left out of the statistics"
    assert out.surprise.iloc[380] == np.inf and out.anomaly_score.iloc[380] == 1.0
    assert "above" in out.reason.iloc[440]
    # Left out as a holiday is, so a stream read a few rows at a time scores it the same.
    detector = StreamingDetector("value", time="ts")
    streamed = pd.concat([detector.update(frame.iloc[i : i + 5]) for i in range(0, len(frame), 5)])
    pd.testing.assert_frame_equal(streamed, out.drop(columns=["ts", "value"]))


def test_one_gross_reading_does_not_blind_the_series_for_a_window() -> None:
    """A sensor's -999 among readings of 10 +- 1 made the window's mean absolute deviation over 20 times too large,
    so the next 48 readings could not alert: a 10-sigma spike 20 readings later went unreported (P = 1e-0.15). It
    is caught about as surely as without the -999."""
    rng = np.random.default_rng(0)
    spiked = 10 + rng.normal(0, 1, 300)
    spiked[120] = 20.0
    clean = detect_anomalies(pd.DataFrame({"value": spiked}), value="value")
    spiked[100] = -999.0
    frame = pd.DataFrame({"value": spiked})
    out = detect_anomalies(frame, value="value")
    assert np.flatnonzero(out.is_anomaly).tolist() == [100, 120]
    assert "above the usual" in out.reason.iloc[120]
    assert out.surprise.iloc[120] > 0.9 * clean.surprise.iloc[120]
    # The window's spread is a function of its readings alone: a stream read a few rows at a time scores the same.
    detector = StreamingDetector("value")
    streamed = pd.concat([detector.update(frame.iloc[i : i + 7]) for i in range(0, len(frame), 7)])
    pd.testing.assert_frame_equal(streamed, out.drop(columns=["value"]))


def test_a_gross_reading_on_a_random_walk_does_not_blind_it() -> None:
    """Judged step by step, one -999 is two gross steps (down and back): a 10-sigma spike 20 readings later scored
    P = 1e-0.07. Both steps are left out of the spread, and it scores as it does without the -999."""
    rng = np.random.default_rng(3)
    walk = 100 + np.cumsum(rng.normal(0, 1, 400))
    walk[250] += 10
    clean = detect_anomalies(pd.DataFrame({"value": walk}), value="value")
    walk[[230, 300, 320]] = [-999.0, 9999.0, -999.0]  # and two in one window
    frame = pd.DataFrame({"value": walk})
    out = detect_anomalies(frame, value="value")
    assert np.flatnonzero(out.is_anomaly).tolist() == [230, 250, 300, 320]
    assert out.surprise.iloc[250] > 0.9 * clean.surprise.iloc[250]
    detector = StreamingDetector("value")
    streamed = pd.concat([detector.update(frame.iloc[i : i + 3]) for i in range(0, len(frame), 3)])
    pd.testing.assert_frame_equal(streamed, out.drop(columns=["value"]))


def test_a_fault_of_several_readings_does_not_hide_the_next_one() -> None:
    """A sensor reading 9 degrees low for three minutes tripled the recent median's spread for a window: three
    readings equally gross, none 20 times the mean of the rest with the other two in it, so all three stayed in.
    From pick_lag readings on the series was judged step by step, where the same fault again is one unusual step
    down and one up two readings apart, and scored P = 1e-3.9 (the IoT dashboard showed such a dip without an
    alert). Judged against the recent median with the fault left out of its spread, it alerts."""
    rng = np.random.default_rng(0)
    n = 600
    temperature = 20 + np.cumsum(rng.normal(0, 0.01, n)) + rng.normal(0, 0.3, n)
    for at, drop in [(150, 9.0), (400, 9.0), (432, 11.0)]:  # the first is learnt, as a device's earlier faults are
        temperature[at : at + 3] -= drop
    frame = pd.DataFrame({"ts": pd.date_range("2025-01-01", periods=n, freq="min"), "temperature": temperature})
    out = detect_anomalies(frame, time="ts", value="temperature")
    assert out.is_anomaly.iloc[432]
    assert "MADs below the usual" in out.reason.iloc[432] and "of the last 48 readings" in out.reason.iloc[432]
    assert out.surprise.iloc[432] > out.surprise.iloc[400]  # the larger fault no longer scores as the smaller
    detector = StreamingDetector("temperature", time="ts")
    streamed = pd.concat([detector.update(frame.iloc[i : i + 7]) for i in range(0, len(frame), 7)])
    pd.testing.assert_frame_equal(streamed, out.drop(columns=["ts", "temperature"]))


def test_every_metric_whose_episode_closes_is_listed_though_a_row_shows_one() -> None:
    """A vibration shift that ends while the device is down, then the device is back: both its episode and the
    dropout's close on the same row, which can show only one."""
    rng = np.random.default_rng(0)
    n = 400
    frame = hourly(20 + rng.normal(0, 0.3, n), device="d1").rename(columns={"value": "temperature"})
    frame = frame.assign(vibration=0.4 + rng.normal(0, 0.05, n), humidity=45 + rng.normal(0, 1, n))
    frame.loc[300:302, "vibration"] += 1.0
    frame.loc[303:309, ["temperature", "vibration", "humidity"]] = np.nan
    detector = StreamingDetector(["temperature", "vibration", "humidity"], by="device", time="ts")
    out = detector.update(frame)
    onsets = set(out.episode_start[out.is_anomaly])
    assert len(onsets) == 2 and len(set(out.episode_start[out.episode_end.notna()])) == 1
    closed = detector.closed_episodes
    assert set(closed.episode_start) == onsets and set(closed.device) == {"d1"}
    assert (closed.episode_end == frame.ts[309]).all()


def test_episode_times_are_in_the_time_columns_zone() -> None:
    """Times are UTC inside; an episode that opened at 10:00 in Berlin read as a naive 09:00 next to its own reading's
    time, which pandas refuses to compare with it."""
    values = daily_cycle(24 * 14, seed=2)
    values[250] += 12
    frame = hourly(values).assign(ts=lambda f: f.ts.dt.tz_localize("Europe/Berlin"))
    out = detect_anomalies(frame.iloc[::-1], time="ts", value="value")  # rows out of time order, too
    alert = out[out.is_anomaly]
    assert str(out.episode_start.dtype) == str(out.episode_end.dtype) == "datetime64[ns, Europe/Berlin]"
    assert alert.index.tolist() == [250] and (alert.episode_start == alert.ts).all()
    closing = out[out.episode_end.notna()]
    assert (closing.episode_end >= closing.episode_start).all() and (closing.episode_end < closing.ts).all()
    naive = detect_anomalies(frame.assign(ts=frame.ts.dt.tz_localize(None)), time="ts", value="value")
    assert str(naive.episode_start.dtype) == "datetime64[ns]"
    # Text with offsets is read in UTC, and so are its episodes.
    text = detect_anomalies(frame.assign(ts=frame.ts.map(pd.Timestamp.isoformat)), time="ts", value="value")
    assert str(text.episode_start.dtype) == "datetime64[ns, UTC]" and text.episode_start[250] == frame.ts[250]
    # A stream's parts concatenate with one type, an empty batch's too; naive times after aware ones are refused.
    detector = StreamingDetector("value", time="ts")
    parts = [detector.update(frame.iloc[a:b]) for a, b in ((0, 200), (200, 200), (200, len(frame)))]
    assert {str(p.episode_start.dtype) for p in parts} == {"datetime64[ns, Europe/Berlin]"}
    with pytest.raises(AnomalyInputError, match="naive timestamps, but earlier batches had aware ones"):
        detector.update(hourly(values[:5], start="2025-02-01"))


def test_the_score_ranks_and_does_not_saturate() -> None:
    """Ever larger spikes get ever larger scores, all below 1.0, with no ties."""
    frames = []
    for i, size in enumerate([6, 10, 20, 50, 200, 1000, 1e5]):
        values = np.random.default_rng(4).normal(0, 1, 300)  # the same history: only the spike differs
        values[299] = size
        frames.append(pd.DataFrame({"series": f"s{i}", "value": values}))
    out = detect_anomalies(pd.concat(frames, ignore_index=True), value="value", by="series")
    last = out.groupby("series").tail(1)
    assert last.anomaly_score.is_monotonic_increasing and last.anomaly_score.nunique() == len(last)
    assert (last.anomaly_score < 1.0).all() and last.surprise.is_monotonic_increasing
    assert last.is_anomaly.iloc[1:].all()  # 10 SDs and more alarm; 6 SDs scores high but does not


def test_threshold_for_a_tail_probability_alerts_exactly_there() -> None:
    """A threshold written as a probability means it, also beyond 1e-9 where the score rises slowly."""
    assert threshold_for(1e-7) == pytest.approx(0.9999999, abs=1e-15)
    values = np.random.default_rng(4).normal(0, 1, 300)
    values[299] = 20  # surprise 15.4: a 1-in-10^15 reading for this series
    frame = pd.DataFrame({"series": "s", "value": values})
    surprise = detect_anomalies(frame, value="value", by="series").surprise.iloc[-1]
    for p, alerts in [(10 ** -(surprise - 0.1), True), (10 ** -(surprise + 0.1), False)]:
        out = detect_anomalies(frame, value="value", by="series", threshold=threshold_for(p))
        assert out.is_anomaly.iloc[-1] == alerts
    with pytest.raises(AnomalyInputError, match="tail probability between 0 and 1"):
        threshold_for(0.0)


def test_memory_stays_bounded_over_a_long_stream_with_episodes() -> None:
    detector = StreamingDetector("value", by="device")
    rng = np.random.default_rng(3)
    sizes, alerts = [], 0
    for _ in range(30):
        values = rng.standard_t(3, 600)
        values[::97] += 400  # anomalies far beyond the t(3) noise's own heavy tail keep opening episodes
        out = detector.update(pd.DataFrame({"device": np.tile(["a", "b", "c"], 200), "value": values}))
        sizes.append(detector.memory_bytes())
        alerts += int(out.is_anomaly.sum()) if "episode_id" in out else 0
    assert alerts > 10  # episodes kept opening
    assert sizes[-1] == sizes[5]


def test_streaming_in_any_batches_equals_the_batch_path() -> None:
    rng = np.random.default_rng(5)
    frames = []
    for device in range(6):
        values = daily_cycle(24 * 12, seed=device)
        values[rng.integers(80, 250)] += 8
        values[150:160] = values[150] if device == 2 else values[150:160]
        # A setpoint changes every 10 readings: judged on the size and rate of its changes.
        setpoint = np.repeat(rng.normal(20, 1, len(values) // 10 + 1), 10)[: len(values)]
        # `other` is far from 0, so rounding shows.
        frames.append(hourly(values, device=f"d{device}", other=values * 2 + 1e6, setpoint=setpoint))
    data = pd.concat(frames).sort_values(["ts", "device"], kind="stable").reset_index(drop=True)
    metrics = ["value", "other", "setpoint"]
    batch = detect_anomalies(data, time="ts", value=metrics, by="device")
    detector = StreamingDetector(metrics, by="device", time="ts")
    cuts = [0, 1, 2, *sorted(rng.choice(np.arange(3, len(data)), 40, replace=False)), len(data)]
    streamed = pd.concat([detector.update(data.iloc[a:b]) for a, b in itertools.pairwise(cuts)])
    assert batch.is_anomaly.sum() > 0
    for column in ("is_anomaly", "reason", "episode_id", "episode_start", "episode_end"):
        np.testing.assert_array_equal(streamed[column].to_numpy(), batch[column].to_numpy())
    assert batch.episode_end.notna().sum() > 0
    # Exactly: a rounding difference could flip a calibration count and grow from there on a long stream.
    np.testing.assert_array_equal(streamed.anomaly_score.to_numpy(), batch.anomaly_score.to_numpy())
    np.testing.assert_array_equal(streamed.surprise.to_numpy(), batch.surprise.to_numpy())


def test_runs_counts_and_capped_series_stream_as_they_batch() -> None:
    """Splits down to single rows give the same output on the series that exercise runs and flat windows: a count
    that bursts after quiet stretches, a reading that sits at its cap, stuck runs on a daily cycle, gaps, a short
    outage (the series is not young after it), one longer than the history a stream keeps (it is), and a feed
    that misses readings in gaps of several."""
    rng = np.random.default_rng(8)
    n = 900
    sparse = np.zeros(n)
    for at in range(60, n - 5, 70):
        sparse[at : at + 3] = rng.integers(1, 6, 3)
    capped = np.where((np.arange(n) // 50) % 3 == 2, rng.normal(5, 2, n).round(1), 10.0)
    stuck = daily_cycle(n, seed=8)
    for at in range(100, n - 40, 190):
        stuck[at : at + 30] = stuck[at]
    outage = daily_cycle(n, seed=9)
    outage[300:330] = outage[500:700] = np.nan
    outage[[356, 704, 760]] += 12
    gappy = daily_cycle(n, seed=10)  # misses in gaps of 3 to 9: their counts go on across splits
    for at in range(20, n - 10, 45):
        gappy[at : at + int(rng.integers(3, 10))] = np.nan
    series = (("sparse", sparse), ("capped", capped), ("stuck", stuck), ("outage", outage), ("gappy", gappy))
    frames = [hourly(v, device=name) for name, v in series]
    data = pd.concat(frames).sort_values(["ts", "device"], kind="stable").reset_index(drop=True)
    data.loc[rng.choice(len(data), 40, replace=False), "value"] = np.nan
    batch = detect_anomalies(data, time="ts", value="value", by="device")
    detector = StreamingDetector("value", by="device", time="ts")
    cuts = [0]
    while cuts[-1] < len(data):
        cuts.append(min(len(data), cuts[-1] + int(rng.choice([1, 1, 1, 2, 5, 40]))))
    streamed = pd.concat([detector.update(data.iloc[a:b]) for a, b in itertools.pairwise(cuts)])
    assert batch.is_anomaly.sum() > 0
    for column in ("anomaly_score", "surprise", "is_anomaly", "reason", "episode_id"):
        np.testing.assert_array_equal(streamed[column].to_numpy(), batch[column].to_numpy())


def test_returns_stream_as_they_batch() -> None:
    """Whether a reading is a return depends on the onsets before it, found in the same batch or carried: split
    anywhere (single rows too), devices whose shifts end get the same scores and alerts as in one batch."""
    rng = np.random.default_rng(4)
    frames, onsets, ends = [], [], []
    for device in range(4):
        values = rng.normal(10, 0.5, 1200)
        for at in range(150 + 40 * device, 1100, 260):
            length = int(rng.integers(60, 110))
            values[at : at + length] += rng.choice([-3.0, 3.0])
            onsets.append((f"d{device}", at))
            ends.append((f"d{device}", at + length))
        values[rng.integers(150, 1100, 3)] += 6
        other = np.random.default_rng(40 + device).normal(50, 2, 1200)  # a second metric, its own shifts
        other[400 + 30 * device : 480 + 30 * device] += 15
        frames.append(hourly(values, device=f"d{device}", other=other))
    data = pd.concat(frames).sort_values(["ts", "device"], kind="stable").reset_index(drop=True)
    batch = detect_anomalies(data, time="ts", value=["value", "other"], by="device")
    reading = data.groupby("device").cumcount()
    alerted = set(zip(data.device[batch.is_anomaly], reading[batch.is_anomaly], strict=True))
    first = [(d, at) for d, at in onsets if at < 300]
    assert all(any((d, at + k) in alerted for k in range(6)) for d, at in first)  # each device's first shift
    assert not any((d, end + k) in alerted for d, end in ends for k in range(15))  # and no end of one (3 did)
    detector = StreamingDetector(["value", "other"], by="device", time="ts")
    cuts = [0]
    while cuts[-1] < len(data):
        cuts.append(min(len(data), cuts[-1] + int(rng.choice([1, 1, 3, 50, 700]))))
    streamed = pd.concat([detector.update(data.iloc[a:b]) for a, b in itertools.pairwise(cuts)])
    for column in ("anomaly_score", "surprise", "is_anomaly", "reason", "episode_id", "episode_end"):
        np.testing.assert_array_equal(streamed[column].to_numpy(), batch[column].to_numpy())


def test_a_stream_read_a_few_readings_at_a_time_finds_its_daily_cycle() -> None:
    """A slow tail polls one or two records at a time: the cycle must come all the same, at the same reading."""
    frames = []
    for device in range(3):
        values = daily_cycle(24 * 6, seed=device)
        values[100 + device] += 6
        frames.append(hourly(values, device=f"d{device}"))
    data = pd.concat(frames).sort_values(["ts", "device"], kind="stable").reset_index(drop=True)
    batch = detect_anomalies(data, time="ts", value="value", by="device")
    detector = StreamingDetector("value", by="device", time="ts")
    cuts = [*range(0, 60), *range(60, len(data), 2), len(data)]
    streamed = pd.concat([detector.update(data.iloc[a:b]) for a, b in itertools.pairwise(cuts)])
    assert detector.period == 24
    assert batch.reason[batch.is_anomaly].str.contains("24-reading cycle").all()
    for column in ("surprise", "is_anomaly", "reason", "episode_id"):
        np.testing.assert_array_equal(streamed[column].to_numpy(), batch[column].to_numpy())


def test_a_few_misleading_early_steps_do_not_set_the_cycle() -> None:
    """Devices that send a burst when they boot, or one fast device among hourly ones: the cycle stays daily."""
    start = pd.Timestamp("2025-01-01")
    hours = pd.date_range(start, periods=24 * 5, freq="h")
    boot = [start + pd.Timedelta(minutes=m) for m in range(4)] + list(hours[1:])
    fleet = [pd.DataFrame({"ts": boot, "device": f"b{d}"}) for d in range(20)]
    fleet += [pd.DataFrame({"ts": hours + pd.Timedelta(minutes=d), "device": f"h{d}"}) for d in range(20)]
    fleet.append(pd.DataFrame({"ts": pd.date_range(start, periods=12 * 24 * 5, freq="5min"), "device": "fast"}))
    data = pd.concat(fleet).sort_values("ts", kind="stable").reset_index(drop=True)
    data["value"] = np.random.default_rng(0).normal(size=len(data))
    detector = StreamingDetector("value", by="device", time="ts")
    detector.update(data)
    assert detector.period == 24


def test_a_batch_refused_for_its_values_does_not_count_towards_the_cycle() -> None:
    data = hourly(daily_cycle(48))
    bad = data.astype({"value": object})
    bad.loc[3, "value"] = "n/a"
    detector = StreamingDetector("value", time="ts")
    with pytest.raises(AnomalyInputError, match="non-numeric values such as 'n/a'"):
        detector.update(bad.iloc[:12])
    streamed = pd.concat([detector.update(data.iloc[i : i + 1]) for i in range(len(data))])
    whole = StreamingDetector("value", time="ts").update(data)
    assert detector.period == 24
    np.testing.assert_array_equal(streamed.surprise.to_numpy(), whole.surprise.to_numpy())


def test_scores_are_causal() -> None:
    values = daily_cycle(300)
    early = detect_anomalies(hourly(values[:200]), time="ts", value="value")
    changed = values.copy()
    changed[200:] = 1000  # whatever comes later...
    late = detect_anomalies(hourly(changed), time="ts", value="value")
    pd.testing.assert_frame_equal(early, late.iloc[:200])  # ...never changes an earlier score


def test_memory_per_series_is_bounded() -> None:
    detector = StreamingDetector("value", by="device", time="ts")
    rng = np.random.default_rng(0)
    sizes = []
    for day in range(20):
        start = pd.Timestamp("2025-01-01") + pd.Timedelta(days=day)
        batch = pd.DataFrame(
            {
                "ts": np.repeat(pd.date_range(start, periods=24, freq="h"), 3),
                "device": ["a", "b", "c"] * 24,
                "value": rng.normal(size=72),
            }
        )
        detector.update(batch)
        sizes.append(detector.memory_bytes())
    assert detector.series_count() == 3 and sizes[-1] == sizes[10] and sizes[-1] < 3 * 10_000


def test_a_reading_not_judged_yet_has_no_score_but_a_flatline_is_judged_early() -> None:
    """A young series' baseline needs ``min_history`` readings and the spread around it as many again: until then a
    reading has no score (NaN), not a surprise of 0 that calls a 50-sigma spike usual. Runs of repeats are judged
    once a quarter of a window (12 readings) came before them."""
    values = np.random.default_rng(0).normal(size=60)
    values[16] += 50
    out = detect_anomalies(pd.DataFrame({"value": values}), value="value")
    assert out.surprise.iloc[:24].isna().all() and out.surprise.iloc[24:].notna().all()
    stuck = values.copy()
    stuck[14:40] = 3.0
    out = detect_anomalies(pd.DataFrame({"value": stuck}), value="value")
    alerts = np.flatnonzero(out.is_anomaly)
    assert len(alerts) == 1 and alerts[0] < 24 and out.reason.iloc[alerts[0]].startswith("flatline at 3")


@pytest.mark.parametrize("keys", [["a", "b", None, np.nan], ["a", 2, 2.0, "2.5"]])
def test_series_keys_are_told_apart_as_text_and_a_missing_key_is_a_series_of_its_own(keys: list) -> None:
    """A device 2 and a device 2.0 read as different text, so they are two series; rows without a device (None, or
    NaN from a CSV) are scored as series of their own, neither dropped nor merged into another."""
    rng = np.random.default_rng(4)
    levels = 10.0 * np.arange(len(keys))
    frame = pd.DataFrame({"device": pd.Series(keys * 60, dtype=object), "value": np.tile(levels, 60)})
    frame["value"] += rng.normal(size=len(frame))
    detector = StreamingDetector("value", by="device")
    out = detector.update(frame)
    assert detector.series_count() == len(keys)
    scored = out.surprise.notna().to_numpy().reshape(60, len(keys))  # a row per round of the keys
    assert scored[30:].all() and (scored.sum(axis=0) == scored.sum(axis=0)[0]).all()  # each key warms up on its own
    assert not out.is_anomaly.any()  # merged, the levels 10 apart would have made the series alert


def test_rows_keep_their_order_and_index_when_time_is_unsorted() -> None:
    data = hourly(daily_cycle(100)).sample(frac=1, random_state=1)
    data.index = [f"r{i}" for i in range(len(data))]
    data.loc[data.ts == data.ts.iloc[0], "value"] += 0  # untouched copy semantics
    out = detect_anomalies(data, time="ts", value="value")
    assert list(out.index) == list(data.index) and list(out.columns[:2]) == ["ts", "value"]
    again = detect_anomalies(data.sort_values("ts"), time="ts", value="value")
    pd.testing.assert_frame_equal(out.sort_values("ts"), again)


def test_period_is_inferred_from_the_time_step() -> None:
    assert infer_period(3600) == 24 and infer_period(86_400) == 7 and infer_period(900) == 96
    assert infer_period(7 * 86_400) is None and infer_period(float("nan")) is None


@pytest.mark.parametrize(
    ("frame", "kwargs", "message"),
    [
        (pd.DataFrame({"v": ["1", "x"]}), {"value": "v"}, "non-numeric values such as 'x'"),
        (pd.DataFrame({"v": [1.0]}), {"value": "nope"}, "no column 'nope' in the data"),
        (pd.DataFrame({"s": ["a"]}), {}, "no numeric column to examine"),
        (pd.DataFrame({"v": [1.0]}), {"method": "magic"}, "unknown method 'magic'"),
        (
            pd.DataFrame({"v": [1.0, 2.0], "t": [pd.Timestamp("2025-01-01"), pd.NaT]}),
            {"time": "t"},
            "missing timestamps",
        ),
        (pd.DataFrame({"v": [1.0], "t": ["2025-01-01"]}), {"time": "t", "window": 2}, "need window >= 4"),
        (
            pd.DataFrame(
                {"v": [1.0, 2.0], "t": [pd.Timestamp("2025-01-01", tz="UTC"), pd.Timestamp("2025-01-01 01:00")]}
            ),
            {"time": "t"},
            "mixes time-zone-aware and naive",
        ),
    ],
)
def test_bad_input_gets_a_clear_message(frame: pd.DataFrame, kwargs: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        detect_anomalies(frame, **kwargs)


def test_big_data_is_scored_in_parts_with_the_same_results(monkeypatch: pytest.MonkeyPatch) -> None:
    """One pass over 3 million readings peaked at 2.5 GB (over a Binder's 2 GB); parts of half a million give the
    same frame, and the episodes that closed in any part are all listed."""
    rng = np.random.default_rng(4)
    n = 24 * 40
    frame = pd.concat(
        [hourly(daily_cycle(n, seed=d), device=f"d{d}", other=rng.normal(size=n)) for d in range(3)], ignore_index=True
    )
    frame.loc[[500, 1400, 2500], "value"] += 8  # a spike in each device
    frame.loc[1700:1705, ["value", "other"]] = np.nan  # and a dropout
    whole = StreamingDetector(["value", "other"], by="device", time="ts")
    expected = whole.update(frame)
    assert expected.is_anomaly.sum() >= 4 and len(whole.closed_episodes) >= 4
    monkeypatch.setattr(detectors, "CHUNK_READINGS", 2 * 300)  # parts of 300 rows (the cycle arrives in the first)
    monkeypatch.setattr(detectors, "_PART_DEPTHS", 0)
    parted = StreamingDetector(["value", "other"], by="device", time="ts")
    # Stopped part way (an interrupted kernel), an update changes nothing: the same batch can be sent again.
    score = StreamingDetector._score
    parts = itertools.count()

    def interrupted(*args: object) -> pd.DataFrame:
        if next(parts) == 4:
            raise KeyboardInterrupt
        return score(*args)

    monkeypatch.setattr(StreamingDetector, "_score", interrupted)
    with pytest.raises(KeyboardInterrupt):
        parted.update(frame)
    monkeypatch.setattr(StreamingDetector, "_score", score)
    pd.testing.assert_frame_equal(parted.update(frame, progress=True), expected)
    assert parted.period == whole.period == 24
    ends = ["device", "episode_start", "episode_end"]
    pd.testing.assert_frame_equal(
        parted.closed_episodes.sort_values(ends, ignore_index=True),
        whole.closed_episodes.sort_values(ends, ignore_index=True),
    )
    pd.testing.assert_frame_equal(
        detect_anomalies(frame, time="ts", value=["value", "other"], by="device", progress=False),
        frame.assign(**{c: expected[c] for c in expected.columns}),
    )


def test_a_refused_batch_changes_nothing() -> None:
    """A batch refused for its second metric had already moved the first metric's windows on, so the same batch
    sent again, mended, scored differently from a stream that never saw it."""
    rng = np.random.default_rng(0)
    good = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    good.loc[150, "a"] += 10  # an episode that closes in the first batch
    bad = good.astype(object)
    bad.loc[299, "b"] = "n/a"
    retried, clean = StreamingDetector(["a", "b"]), StreamingDetector(["a", "b"])
    retried.update(good.iloc[:200])
    clean.update(good.iloc[:200])
    closed = retried.closed_episodes
    assert len(closed) == 1
    with pytest.raises(AnomalyInputError, match="'n/a'"):
        retried.update(bad.iloc[200:])
    pd.testing.assert_frame_equal(retried.closed_episodes, closed)  # still the last update's
    pd.testing.assert_frame_equal(retried.update(good.iloc[200:]), clean.update(good.iloc[200:]))
    # Nor does a refused first batch bind a stream to its kind of timestamps.
    timed = StreamingDetector("v", time="ts")
    hours = pd.date_range("2025-01-01", periods=3, freq="h")
    with pytest.raises(AnomalyInputError, match="'x'"):
        timed.update(pd.DataFrame({"ts": hours.tz_localize("UTC"), "v": ["1", "x", "2"]}))
    assert len(timed.update(pd.DataFrame({"ts": hours, "v": [1.0, 2.0, 3.0]}))) == 3


def test_a_time_that_cannot_be_read_is_named_in_one_line() -> None:
    """pandas' message went on for five lines of advice after naming the value; the first sentence is what helps."""
    times = pd.Series(pd.date_range("2025-01-01", periods=60, freq="h").astype(str))
    times[7] = "yesterday"
    with pytest.raises(InputError) as caught:
        detect_anomalies(pd.DataFrame({"ts": times, "v": np.arange(60.0)}), time="ts", value="v")
    message = str(caught.value)
    assert '"yesterday"' in message and "position 7" in message and "errors='coerce'" in message
    assert "\n" not in message and "You might want to try" not in message


def test_awkward_but_valid_input_has_documented_behaviour() -> None:
    short = detect_anomalies(pd.Series([1.0, 2.0, 3.0], name="v"))
    assert short.anomaly_score.isna().all() and not short.is_anomaly.any()  # too short to judge
    constant = pd.Series([5.0] * 60 + [5.5], name="v")
    assert detect_anomalies(constant, method="zscore").is_anomaly.iloc[-1]  # the first change of a constant series
    dup = hourly(daily_cycle(100))
    dup = pd.concat([dup, dup.iloc[[50]]]).reset_index(drop=True)  # a duplicated timestamp
    assert len(detect_anomalies(dup, time="ts", value="value")) == 101
    aware = hourly(daily_cycle(100)).assign(ts=lambda d: d.ts.dt.tz_localize("Europe/Paris"))
    assert len(detect_anomalies(aware, time="ts", value="value")) == 100


def test_isolation_forest_names_the_unusual_columns() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"temperature": rng.normal(20, 1, 2000), "vibration": rng.normal(0.5, 0.05, 2000)})
    frame.loc[1234, ["temperature", "vibration"]] = [27.0, 0.9]
    out = detect_anomalies(frame, method="iforest", threshold=0.999)
    assert out.is_anomaly.iloc[1234] and out.is_anomaly.sum() <= 3
    assert "unusual combination" in out.reason.iloc[1234] and "vibration high" in out.reason.iloc[1234]


def test_a_price_set_once_a_year_alerts_on_an_outsized_change_only() -> None:
    # Most readings repeat the last one (the MAD is 0), so an ordinary yearly change is judged against the usual
    # size of the changes and how often they come, not against the mean deviation that the repeats shrink.
    frames = []
    for seed in range(20):
        steps = np.zeros(600)
        steps[::12] = np.random.default_rng(seed).normal(0, 0.03, 50)
        steps[396] = 0.5
        frames.append(pd.DataFrame({"series": seed, "value": 1.5 + np.cumsum(steps)}))
    frame = pd.concat(frames, ignore_index=True)
    out = detect_anomalies(frame, value="value", by="series", period=None)
    position = frame.groupby("series").cumcount()
    alerts = position[out.is_anomaly]
    assert (alerts != 396).sum() <= 2  # the previous scale raised 32 alerts at ordinary yearly changes
    assert (alerts == 396).sum() >= 18
    assert "times its usual move above" in out.reason[out.is_anomaly & (position == 396)].iloc[0]
