"""Public holidays and other known days off, whose readings the detectors leave out (``holidays=``).

Why: on daily business data -- sales, ridership, births -- a public holiday is often the series' most extreme day,
and it comes back every year. Judged like any other day, Christmas alerted every year (the demo's daily branch
sales: every one of its alerts fell on 25 December), and worse, the calibrator learnt from those days that a
20-MAD drop is ordinary for the series, so a real fault later in the year looked usual. A holiday is known in
advance, so it is not an anomaly to report nor evidence about the series' normal days: its readings are not
judged (no score, never an alert) and teach the detector nothing (they enter neither the rolling windows nor the
calibration). The calendars come from the ``holidays`` package (countries, their subdivisions, and exchanges).

Series in several countries (branches, stores) each take their own calendar, from a mapping of series keys to
calendars: one calendar for all would leave out the wrong days for most of them (the 4th of July is an ordinary
day in London).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
import warnings
from collections.abc import Container, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from codex_jupyter.analytics.anomaly.settings import KEY_SEPARATOR, AnomalyInputError
from codex_jupyter.analytics.anomaly.times import read_times

_HELP = (
    "a country code such as 'US' or 'DE-BY', an exchange such as 'NYSE', a holidays calendar, a list of dates, "
    "or a dict of series keys (values of by=) to those"
)


class HolidayCalendar:
    """The days whose readings are not judged, asked one calendar day at a time."""

    def __init__(self, days: Container[dt.date], label: str) -> None:
        self._days = days
        self.label = label

    def __repr__(self) -> str:
        return f"HolidayCalendar({self.label})"

    def on(self, times: pd.Series, codes: np.ndarray | None = None, keys: np.ndarray | None = None) -> np.ndarray:
        """For each timestamp, whether it falls on one of the calendar's days (its local date when time-zone-aware).

        Each distinct day is looked up once: a year of hourly readings asks about 365 days, not 8,760 readings.
        ``codes`` and ``keys`` (each row's series, see :meth:`SeriesCalendars.on`) do not matter here: one calendar
        serves every series.
        """
        parsed = times if pd.api.types.is_datetime64_any_dtype(times) else read_times(times)  # all text at once
        if parsed is not None:
            stamps = parsed.dt.tz_localize(None) if parsed.dt.tz is not None else parsed  # wall-clock dates
            days = stamps.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
        else:  # offsets that differ (written across a daylight-saving change): each reading its own local date
            days = np.array([np.datetime64(pd.Timestamp(t).date(), "D") for t in times], dtype="datetime64[D]")
        unique, where = np.unique(days, return_inverse=True)
        off = np.fromiter((day.item() in self._days for day in unique), dtype=bool, count=len(unique))
        return off[where.ravel()]


class SeriesCalendars:
    """A calendar per series (``holidays={"BR-001": "US", "BR-002": "GB"}``); a series not named is judged every day.

    Keys are matched as the detectors match series, as text (a device 7 and a device "7" are one series; with
    several ``by`` columns a key is a tuple of their values), and a little more loosely: a whole number matches
    its float (an id column turns float as soon as it holds one missing value: 7 is "7.0" there), and a
    timestamp its date.
    """

    def __init__(self, calendars: dict[str, HolidayCalendar]) -> None:
        self.calendars = calendars  # by canonical key
        self._of: dict[str, HolidayCalendar | None] = {}  # each series seen -> its calendar (None: every day judged)
        self._matched = self._warned = False

    def __repr__(self) -> str:
        return f"SeriesCalendars({len(self.calendars)} series)"

    def calendar_of(self, key: str) -> HolidayCalendar | None:
        """The calendar of the series with this key (as :func:`.detectors._series_codes` writes it), else None."""
        if key not in self._of:
            self._of[key] = self.calendars.get(canonical_key(key))
            self._matched |= self._of[key] is not None
        return self._of[key]

    def on(self, times: pd.Series, codes: np.ndarray, keys: np.ndarray) -> np.ndarray:
        """Whether each row falls on a day off of its own series' calendar (row ``i`` is series ``keys[codes[i]]``).

        Rows are grouped by calendar, not by series: 5,000 shops in five countries are five lookups.
        """
        distinct: dict[int, tuple[int, HolidayCalendar]] = {}
        group = np.full(len(keys), -1)
        for code, key in enumerate(keys):
            if (calendar := self.calendar_of(key)) is not None:
                group[code] = distinct.setdefault(id(calendar), (len(distinct), calendar))[0]
        self._warn_if_unmatched()
        off = np.zeros(len(times), dtype=bool)
        row_group = group[codes]
        for number, calendar in distinct.values():
            rows = np.flatnonzero(row_group == number)
            off[rows] = calendar.on(times.iloc[rows])
        return off

    def _warn_if_unmatched(self) -> None:
        """Once a stream has shown as many series as the mapping names, and none of them matched, say so (once)."""
        if self._warned or self._matched or len(self._of) < len(self.calendars):
            return
        self._warned = True
        warnings.warn(
            f"holidays= names none of the {len(self._of)} series seen so far ({self.mismatch()}), so every day of "
            "theirs is judged; its keys are values of by=",
            stacklevel=_outside_the_package(),  # the user's line: update() or detect_anomalies()
        )

    def mismatch(self) -> str:
        """An example of each side, for an error: the mapping names one key, the data has another."""
        named = next(iter(self.calendars), "").replace(KEY_SEPARATOR, ", ")
        seen = next(iter(self._of), "").replace(KEY_SEPARATOR, ", ")
        return f"it names {named!r}, the data has {seen!r}"


_PACKAGE = os.path.dirname(os.path.dirname(os.path.dirname(__file__))) + os.sep


def _outside_the_package() -> int:
    """The ``stacklevel`` of the first caller outside codex_jupyter, for a warning raised by the caller of this.

    Why not a fixed number: the warning is raised as deep as a batch's first part or a later one, through
    ``detect_anomalies`` or not, and a fixed level pointed into the library (``warnings.warn``'s
    ``skip_file_prefixes`` does this from Python 3.12 on).
    """
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    return level


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def canonical_key(key: Any) -> str:
    """A series key for matching: text, each ``by`` value's whole numbers and timestamps written one way."""
    text = KEY_SEPARATOR.join(map(str, key)) if isinstance(key, tuple) else str(key)
    return KEY_SEPARATOR.join(_canonical_part(part) for part in text.split(KEY_SEPARATOR))


def _canonical_part(text: str) -> str:
    try:
        number = float(text)
    except ValueError:
        if _ISO_DAY.match(text):
            try:
                return pd.Timestamp(text).isoformat().removesuffix("T00:00:00")
            except ValueError:
                return text
        return text
    return str(int(number)) if number.is_integer() else repr(number)


def _dates_only(spec: Mapping) -> bool:
    """Whether a mapping is ``{day: name}`` (its keys the days off, as in ``holidays``' own calendars)."""
    return all(
        isinstance(key, dt.date | np.datetime64) or (isinstance(key, str) and _ISO_DAY.fullmatch(key.strip()))
        for key in spec
    )


def holiday_calendar(spec: Any) -> HolidayCalendar | SeriesCalendars:
    """The calendar for ``holidays=``: a country code ("US"), a country and subdivision ("DE-BY", "US-CA"), an
    exchange ("NYSE"), a calendar built with the ``holidays`` package, an iterable of dates (a shop's own
    closing days; a ``{day: name}`` dict counts as its days), or a mapping of series keys to any of those (stores
    in several countries)."""
    import holidays

    if isinstance(spec, Mapping) and not isinstance(spec, holidays.HolidayBase):
        if _dates_only(spec):
            return holiday_calendar(list(spec))
        by_code: dict[str, HolidayCalendar] = {}  # one calendar per distinct code: 40 US stores share one
        calendars: dict[str, HolidayCalendar] = {}
        named: dict[str, Any] = {}  # canonical key -> the key as given, for the error on a series named twice
        for key, each in spec.items():
            name = canonical_key(key)
            if name in named:
                raise AnomalyInputError(f"holidays= names one series twice, as {named[name]!r} and {key!r}; keep one")
            named[name] = key
            calendars[name] = _series_calendar(key, each, by_code)
        return SeriesCalendars(calendars)
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


def _series_calendar(key: Any, spec: Any, by_code: dict[str, HolidayCalendar]) -> HolidayCalendar:
    """One series' calendar in a mapping (``by_code`` holds those built for a code so far), its errors named."""
    if isinstance(spec, str) and spec in by_code:
        return by_code[spec]
    try:
        calendar = holiday_calendar(spec)
    except AnomalyInputError as exc:
        raise AnomalyInputError(f"holidays= for series {key!r}: {exc}") from None
    if isinstance(calendar, SeriesCalendars):
        raise AnomalyInputError(f"holidays= for series {key!r} is a mapping again; pass {_HELP}")
    if isinstance(spec, str):
        by_code[spec] = calendar
    return calendar


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
