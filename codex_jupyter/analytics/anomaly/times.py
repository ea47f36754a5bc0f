"""Reading a time column once, the same way for the detectors' clock and for the holiday calendar's dates."""

from __future__ import annotations

import warnings

import pandas as pd


def read_times(column: pd.Series, utc: bool = False) -> pd.Series | None:
    """``column`` as timestamps (in UTC when ``utc``), or None when its text holds UTC offsets that differ.

    Why a helper: text written across a daylight-saving change (-05:00, then -04:00) has no single time zone, and
    pandas either returns objects for it (with a FutureWarning) or raises, depending on the version. The detectors
    then read it in UTC; the holiday calendar dates each reading by its own local day.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*mixed time zones", category=FutureWarning)
        try:
            parsed = pd.to_datetime(column, utc=utc or None)
        except ValueError:  # newer pandas raises for mixed offsets
            return None
    return parsed if pd.api.types.is_datetime64_any_dtype(parsed) else None
