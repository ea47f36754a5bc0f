"""``holidays=``: known days off are left out of anomaly detection, on daily business data."""

from __future__ import annotations

import datetime as dt
import warnings

import holidays
import numpy as np
import pandas as pd
import pytest

from codex_jupyter import StreamingDetector, detect_anomalies
from codex_jupyter.analytics.anomaly import AnomalyInputError

FAULT = pd.Timestamp("2025-09-17")  # an ordinary Wednesday


def daily_sales(seed: int = 3, country: str = "US") -> pd.DataFrame:
    """Three years of a shop's daily sales: a weekly pattern, closed on its country's holidays, and one real fault."""
    rng = np.random.default_rng(seed)
    days = pd.date_range("2023-01-01", "2025-12-31", freq="D")
    weekly = np.array([1.0, 1.02, 1.04, 1.06, 1.18, 0.82, 0.45])[days.dayofweek]
    sales = 1000 * weekly * rng.lognormal(0, 0.05, len(days))
    calendar = holidays.country_holidays(country)
    closed = np.array([day in calendar for day in days.date])
    sales[closed] = 0.0
    sales[days == FAULT] *= 0.35
    return pd.DataFrame({"day": days, "sales": sales})


def test_holidays_neither_alert_nor_hide_a_real_drop() -> None:
    frame = daily_sales()
    at = frame.day == FAULT
    judged = detect_anomalies(frame, time="day", value="sales")
    assert judged.is_anomaly[judged.sales == 0].any(), "judged, the first holiday closure alerts"
    assert not judged.is_anomaly[at].any(), "and the closures teach the detector that a 100 % drop is ordinary"

    off = detect_anomalies(frame, time="day", value="sales", holidays="US")
    alerts = off.day[off.is_anomaly].tolist()
    assert alerts == [FAULT], alerts  # the weekly cycle stays aligned after a Monday holiday: no echo alerts
    closed = off.sales == 0
    assert off.anomaly_score[closed].isna().all() and off.surprise[closed].isna().all()
    assert (off.reason[closed] == "").all()
    assert off.surprise[at].iloc[0] > judged.surprise[at].iloc[0] + 5  # P ~ 1e-14 against 1e-2


def test_a_list_of_dates_is_a_shops_own_calendar() -> None:
    frame = daily_sales()
    us = holidays.country_holidays("US", years=[2023, 2024, 2025])
    own = [day.isoformat() for day in us]  # text dates, as read from a file
    by_list = detect_anomalies(frame, time="day", value="sales", holidays=own)
    by_code = detect_anomalies(frame, time="day", value="sales", holidays="US")
    by_calendar = detect_anomalies(frame, time="day", value="sales", holidays=us)
    assert by_code.surprise.isna().sum() > 13 + 30  # the warm-up, and three years of US holidays
    pd.testing.assert_frame_equal(by_list, by_code)
    pd.testing.assert_frame_equal(by_calendar, by_code)


def test_a_holiday_is_a_whole_local_day_of_hourly_readings() -> None:
    hours = pd.date_range("2025-12-20", "2025-12-30", freq="h", tz="America/Chicago")
    frame = pd.DataFrame({"ts": hours, "load": 50 + 10 * np.sin(np.arange(len(hours)) / 24 * 2 * np.pi)})
    out = detect_anomalies(frame, time="ts", value="load", holidays="US")
    christmas = frame.ts.dt.date == dt.date(2025, 12, 25)  # local days, not UTC ones
    assert christmas.sum() == 24
    assert out.surprise[christmas].isna().all()
    assert out.surprise[~christmas].iloc[24 * 3 :].notna().all()


def test_streaming_with_holidays_gives_the_batch_result_however_split() -> None:
    frame = daily_sales().assign(shop="a")
    whole = detect_anomalies(frame, time="day", value="sales", by="shop", holidays="US")
    detector = StreamingDetector("sales", by="shop", time="day", holidays="US")
    parts = [detector.update(frame.iloc[i : i + 37]) for i in range(0, len(frame), 37)]
    streamed = pd.concat(parts)
    assert whole.surprise.isna().sum() > 13 + 30
    for column in ["anomaly_score", "surprise", "is_anomaly", "episode_id", "reason"]:
        pd.testing.assert_series_equal(streamed[column], whole[column], check_names=False)


@pytest.mark.parametrize("spec", ["DE-BY", "nyse", "GB-SCT"])
def test_subdivisions_and_exchanges_are_calendars(spec: str) -> None:
    out = detect_anomalies(daily_sales(), time="day", value="sales", holidays=spec)
    judged = detect_anomalies(daily_sales(), time="day", value="sales")
    assert out.surprise.isna().sum() > judged.surprise.isna().sum() + 10  # some days were left out


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"holidays": "XX"}, "unknown holiday calendar 'XX'"),
        ({"holidays": "US-ZZ"}, "unknown holiday calendar 'US-ZZ'"),
        ({"holidays": ["2025-12-25", "not a day"]}, "not a date"),
        ({"holidays": 2025}, "holidays= got int"),
        ({"holidays": "US", "method": "iforest"}, "not iforest"),
    ],
)
def test_a_bad_calendar_says_what_to_pass(kwargs: dict, message: str) -> None:
    with pytest.raises(AnomalyInputError, match=message):
        detect_anomalies(daily_sales(), time="day", value="sales", **kwargs)


def test_holidays_need_the_time_column() -> None:
    with pytest.raises(AnomalyInputError, match="holidays= needs time="):
        detect_anomalies(daily_sales(), value="sales", holidays="US")


def steady(start: str, days: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"day": pd.date_range(start, periods=days, freq="D"), "a": 100 + rng.normal(0, 3, days)})


def test_a_flatline_over_christmas_is_reported_as_it_starts() -> None:
    frame = steady("2024-10-01", 120).round(2)
    frame.loc[frame.day.between("2024-12-23", "2025-01-24"), "a"] = 101.5
    plain = detect_anomalies(frame, time="day", value="a")
    off = detect_anomalies(frame, time="day", value="a", holidays=["2024-12-25", "2025-01-01"])
    assert off.day[off.is_anomaly].tolist() == plain.day[plain.is_anomaly].tolist() == [pd.Timestamp("2024-12-27")]
    assert "flatline at 101.5" in off.reason[off.is_anomaly].iloc[0]


def test_a_feed_that_stops_across_a_holiday_is_one_run_of_missing_readings() -> None:
    frame = steady("2024-05-01", 120)
    frame.loc[frame.day.between("2024-07-03", "2024-08-10"), "a"] = np.nan
    out = detect_anomalies(frame, time="day", value="a", holidays="US")
    alerts = out[out.is_anomaly]
    # 3, 5 and 6 July missed: the holiday between them is not a missing reading, nor does it restart the count
    assert alerts.day.tolist() == [pd.Timestamp("2024-07-07")]
    assert alerts.reason.iloc[0].startswith("4 missing readings in a row")


def test_a_dropout_across_a_holiday_is_one_episode_that_ends_when_readings_return() -> None:
    """An episode of missing readings closes on the first reading back; a holiday inside the dropout is no reading
    back (it closed there, and the days still missing after it alerted again)."""
    frame = steady("2024-05-01", 120)
    frame.loc[frame.day.between("2024-06-27", "2024-07-09"), "a"] = np.nan
    out = detect_anomalies(frame, time="day", value="a", holidays="US")
    assert out.is_anomaly.sum() == 1
    ends = out[out.episode_end.notna()]
    assert ends.day.tolist() == [pd.Timestamp("2024-07-10")]


def test_a_series_that_starts_on_a_holiday_has_not_begun_before_its_first_reading() -> None:
    frame = steady("2024-01-01", 200).assign(b=50.0)
    frame.loc[:59, "b"] = np.nan  # this metric's column starts two months later
    out = detect_anomalies(frame, time="day", value=["a", "b"], holidays=["2024-01-01"])
    assert not out.is_anomaly.any(), out.reason[out.is_anomaly].tolist()


def test_times_across_a_daylight_saving_change_are_dated_locally() -> None:
    stamps = pd.date_range("2024-03-05", "2024-03-20", freq="h", tz="America/New_York")
    text = [t.isoformat() for t in stamps]  # offsets -05:00, then -04:00
    frame = pd.DataFrame({"ts": text, "load": 50 + 10 * np.sin(np.arange(len(stamps)) / 24 * 2 * np.pi)})
    out = detect_anomalies(frame, time="ts", value="load", holidays=["2024-03-12"])
    assert out.surprise[stamps.date == dt.date(2024, 3, 12)].isna().all()


def test_bad_times_say_so_with_a_calendar_too() -> None:
    frame = steady("2024-01-01", 30).assign(day=lambda f: f.day.astype(object))
    frame.loc[5, "day"] = None
    with pytest.raises(AnomalyInputError, match="missing timestamps"):
        StreamingDetector("a", time="day", holidays="US").update(frame)


def shops_in_two_countries() -> pd.DataFrame:
    return pd.concat(
        [daily_sales(3, "US").assign(shop="new-york"), daily_sales(4, "GB").assign(shop="london")], ignore_index=True
    )


def test_each_series_takes_its_own_countrys_calendar() -> None:
    frame = shops_in_two_countries()
    calendars = {"new-york": "US", "london": "GB"}
    out = detect_anomalies(frame, time="day", value="sales", by="shop", holidays=calendars)
    for shop in calendars:
        alerts = out[out.is_anomaly & (out.shop == shop)].day.tolist()
        assert alerts == [FAULT], (shop, alerts)
    # One calendar for both: London's closures on Good Friday or Boxing Day are judged, alert, and teach its
    # detector that a full closure is ordinary.
    shared = detect_anomalies(frame, time="day", value="sales", by="shop", holidays="US")
    london = shared[shared.is_anomaly & (shared.shop == "london")]
    assert (london.sales == 0).any() and FAULT not in london.day.tolist(), london.day.tolist()


def test_a_series_the_mapping_does_not_name_is_judged_every_day() -> None:
    frame = shops_in_two_countries()
    out = detect_anomalies(frame, time="day", value="sales", by="shop", holidays={"new-york": "US"})
    london = out[out.shop == "london"]
    assert london.surprise.iloc[30:].notna().all()
    assert london.is_anomaly[london.sales == 0].any()


def test_a_stream_with_a_calendar_per_series_gives_the_batch_result_however_split() -> None:
    frame = shops_in_two_countries().sort_values("day", kind="stable").reset_index(drop=True)
    calendars = {"new-york": "US", "london": holidays.country_holidays("GB")}
    whole = detect_anomalies(frame, time="day", value="sales", by="shop", holidays=calendars)
    detector = StreamingDetector("sales", by="shop", time="day", holidays=calendars)
    streamed = pd.concat([detector.update(frame.iloc[i : i + 53]) for i in range(0, len(frame), 53)])
    for column in ["surprise", "is_anomaly", "episode_id", "reason"]:
        pd.testing.assert_series_equal(streamed[column], whole[column], check_names=False)


def test_series_named_by_two_columns_are_keyed_by_tuples() -> None:
    frame = shops_in_two_countries().assign(chain="acme")
    out = detect_anomalies(
        frame,
        time="day",
        value="sales",
        by=["chain", "shop"],
        holidays={("acme", "new-york"): "US", ("acme", "london"): "GB"},
    )
    assert out.day[out.is_anomaly].tolist() == [FAULT, FAULT]


@pytest.mark.parametrize("named", [{dt.date(2024, 12, 25): "Christmas Day"}, {"2024-12-25": "Christmas Day"}])
def test_a_mapping_of_dates_to_names_is_a_list_of_days(named: dict) -> None:
    frame = steady("2024-11-01", 90)
    frame.loc[frame.day == "2024-12-25", "a"] = 0.0
    assert detect_anomalies(frame, time="day", value="a").is_anomaly[frame.day == "2024-12-25"].all()
    out = detect_anomalies(frame, time="day", value="a", holidays=named)
    assert not out.is_anomaly.any()
    assert out.surprise[frame.day == "2024-12-25"].isna().all()


def test_shop_numbers_match_an_id_column_that_turned_float() -> None:
    frame = shops_in_two_countries().assign(shop=lambda f: f.shop.map({"new-york": 1, "london": 2}).astype(float))
    frame.loc[len(frame)] = {"day": pd.Timestamp("2026-01-02"), "sales": 900.0, "shop": np.nan}  # one unknown shop
    out = detect_anomalies(frame, time="day", value="sales", by="shop", holidays={1: "US", 2: "GB"})
    assert out.day[out.is_anomaly].tolist() == [FAULT, FAULT]


def test_a_stream_whose_mapping_names_none_of_its_series_warns_once() -> None:
    frame = shops_in_two_countries().sort_values("day", kind="stable")
    detector = StreamingDetector("sales", by="shop", time="day", holidays={"NYC": "US", "LDN": "GB"})
    said = "names none of the 2 series seen so far .it names 'NYC', the data has"
    with pytest.warns(UserWarning, match=said) as caught:
        detector.update(frame.iloc[:10])
    assert caught[0].filename == __file__  # the user's line, not the library's
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        detector.update(frame.iloc[10:20])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"holidays": {"new-york": "US"}}, "needs by="),
        (
            {"by": "shop", "holidays": {"paris": "FR"}},
            "names no series of the data .it names 'paris', the data has 'new-york'",
        ),
        ({"by": "shop", "holidays": {7: "US", "7": "GB"}}, "names one series twice, as 7 and '7'"),
        ({"by": "shop", "holidays": {"london": "UK-XX"}}, "for series 'london': unknown holiday calendar 'UK-XX'"),
        ({"by": "shop", "holidays": {"london": {"a": "GB"}}}, "for series 'london' is a mapping again"),
    ],
)
def test_a_bad_calendar_per_series_says_what_to_pass(kwargs: dict, message: str) -> None:
    with pytest.raises(AnomalyInputError, match=message):
        detect_anomalies(shops_in_two_countries(), time="day", value="sales", **kwargs)
