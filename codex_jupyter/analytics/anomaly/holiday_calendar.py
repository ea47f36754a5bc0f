"""Public holidays and other known days off, whose readings the detectors leave out (``holidays=``).

Why: on daily business data -- sales, ridership, births -- a public holiday is often the series' most extreme day,
and it comes back every year. Judged like any other day, Christmas alerted every year (the demo's daily branch
sales: every one of its alerts fell on 25 December), and worse, the calibrator learnt from those days that a
20-MAD drop is ordinary for the series, so a real fault later in the year looked usual. A holiday is known in
advance, so it is not an anomaly to report nor evidence about the series' normal days: its readings are not
judged (no score, never an alert) and teach the detector nothing (they enter neither the rolling windows nor the
calibration). The calendars come from the ``holidays`` package (countries, their subdivisions, and exchanges).
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Container, Iterable
from typing import Any

import numpy as np
import pandas as pd

from codex_jupyter.analytics.anomaly.settings import AnomalyInputError

_HELP = "a country code such as 'US' or 'DE-BY', an exchange such as 'NYSE', a holidays calendar, or a list of dates"


class HolidayCalendar:
    """The days whose readings are not judged, asked one calendar day at a time."""

    def __init__(self, days: Container[dt.date], label: str) -> None:
        self._days = days
        self.label = label

    def __repr__(self) -> str:
        return f"HolidayCalendar({self.label})"

    def on(self, times: pd.Series) -> np.ndarray:
        """For each timestamp, whether it falls on one of the calendar's days (its local date when time-zone-aware).

        Each distinct day is looked up once: a year of hourly readings asks about 365 days, not 8,760 readings.
        """
        if not pd.api.types.is_datetime64_any_dtype(times):  # text or datetime objects: read once, together
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*mixed time zones", category=FutureWarning)
                try:
                    times = pd.to_datetime(times)
                except ValueError:  # newer pandas raises for mixed offsets instead of returning objects
                    times = times.astype(object)
        if pd.api.types.is_datetime64_any_dtype(times):
            stamps = times.dt.tz_localize(None) if times.dt.tz is not None else times  # wall-clock dates
            days = stamps.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
        else:  # offsets that differ (written across a daylight-saving change): each reading its own local date
            days = np.array([np.datetime64(pd.Timestamp(t).date(), "D") for t in times], dtype="datetime64[D]")
        unique, where = np.unique(days, return_inverse=True)
        off = np.fromiter((day.item() in self._days for day in unique), dtype=bool, count=len(unique))
        return off[where.ravel()]


def holiday_calendar(spec: Any) -> HolidayCalendar:
    """The calendar for ``holidays=``: a country code ("US"), a country and subdivision ("DE-BY", "US-CA"), an
    exchange ("NYSE"), a calendar built with the ``holidays`` package, or an iterable of dates (a shop's own
    closing days)."""
    import holidays

    if isinstance(spec, holidays.HolidayBase):
        return HolidayCalendar(spec, type(spec).__name__)
    if isinstance(spec, str):
        code, _, subdivision = spec.strip().partition("-")
        code = code.upper()
        if not subdivision and code in holidays.list_supported_financial():
            return HolidayCalendar(holidays.financial_holidays(code), code)
        error = None
        for subdiv in dict.fromkeys([subdivision or None, subdivision.upper() or None]):  # "BE-Flemish", "us-ca"
            try:
                return HolidayCalendar(holidays.country_holidays(code, subdiv=subdiv), spec.strip())
            except NotImplementedError as exc:
                error = error or exc
        raise AnomalyInputError(f"unknown holiday calendar {spec!r} ({error}); pass {_HELP}")
    if isinstance(spec, Iterable) and not isinstance(spec, bytes | bytearray):
        return HolidayCalendar(frozenset(_day(item) for item in spec), "dates")
    raise AnomalyInputError(f"holidays= got {type(spec).__name__}; pass {_HELP}")


def _day(item: Any) -> dt.date:
    """One entry of a list of dates: a date, a timestamp or text such as "2025-12-25" (not a number of days)."""
    if isinstance(item, str | dt.date | np.datetime64 | pd.Timestamp):
        try:
            day = pd.Timestamp(item)
        except (ValueError, TypeError):
            day = pd.NaT
        if day is not pd.NaT:
            return day.date()
    raise AnomalyInputError(f"holidays= has an entry that is not a date: {item!r}; pass {_HELP}")
