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
        stamps = times if pd.api.types.is_datetime64_any_dtype(times) else pd.to_datetime(times)
        if getattr(stamps.dt, "tz", None) is not None:
            stamps = stamps.dt.tz_localize(None)  # the wall-clock date where the readings were taken
        days = stamps.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
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
        code, _, subdivision = spec.strip().upper().partition("-")
        try:
            if not subdivision and code in holidays.list_supported_financial():
                return HolidayCalendar(holidays.financial_holidays(code), code)
            return HolidayCalendar(holidays.country_holidays(code, subdiv=subdivision or None), spec.upper())
        except NotImplementedError as exc:
            raise AnomalyInputError(f"unknown holiday calendar {spec!r} ({exc}); pass {_HELP}") from None
    if isinstance(spec, Iterable):
        items = list(spec)
        try:
            days = frozenset(pd.to_datetime(pd.Series(items, dtype=object)).dt.date)
        except (ValueError, TypeError) as exc:
            raise AnomalyInputError(f"holidays= has an entry that is not a date ({exc}); pass {_HELP}") from None
        return HolidayCalendar(days, f"{len(days)} dates")
    raise AnomalyInputError(f"holidays= got {type(spec).__name__}; pass {_HELP}")
