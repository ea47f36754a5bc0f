"""Turn a long data frame into checked, regular series grouped into equal-grid blocks.

Forecasters below work on matrices (one row per series), so the panel is cut
into *blocks*: series that share the same first timestamp and length, hence the
same time grid. A typical panel (every branch over the same dates) is one
block and every model runs on it in a few vectorised calls.

Bad input is refused here, before any model sees it, with one-line
``ValueError``s that say what is wrong and how to fix it: forecasting through a
silent gap or a duplicated timestamp gives confident nonsense.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from codex_jupyter.errors import InputError, require_columns

#: Shortest history a series may have beyond its horizon: one backtest window needs something to fit.
MIN_TRAIN = 8


@dataclass
class Block:
    """Series sharing one time grid: ``values`` has one row per series, one column per timestamp."""

    keys: list[Hashable]
    index: pd.DatetimeIndex
    values: np.ndarray


@dataclass
class Panel:
    """The checked input: blocks of series, the frequency and its seasonal periods."""

    blocks: list[Block]
    freq: pd.DateOffset
    periods: tuple[int, ...]


def _parse_time(col: pd.Series, time: str) -> pd.Series:
    """Timestamps in one time zone (or none); mixed zones are refused rather than guessed."""
    if isinstance(col.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(col.dtype):
        return col
    zones = {str(v.tzinfo) for v in col.dropna().head(100_000) if isinstance(v, datetime)}
    mixed = f"column {time!r} mixes time zones; convert to one zone first, e.g. pd.to_datetime(df[time], utc=True)"
    if len(zones) > 1:
        raise InputError(mixed)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # pandas warns, then returns objects, on mixed offsets
            parsed = pd.to_datetime(col)
    except (ValueError, TypeError) as exc:
        raise InputError(f"column {time!r} could not be read as timestamps ({exc})") from None
    if not pd.api.types.is_datetime64_any_dtype(parsed):
        raise InputError(mixed)
    return parsed


def seasonal_periods(freq: pd.DateOffset) -> tuple[int, ...]:
    """The cycles worth modelling at this frequency: hours get daily and weekly, days weekly and yearly."""
    name = freq.name.split("-")[0]
    named = {"W": (52,), "MS": (12,), "ME": (12,), "M": (12,), "SMS": (24,), "QS": (4,), "QE": (4,), "Q": (4,)}
    if name in named:
        return named[name]
    if name in {"B", "C"}:
        return (5,)
    try:
        step = pd.Timedelta(freq)
    except ValueError:
        return ()
    out = []
    for span in (pd.Timedelta(days=1), pd.Timedelta(days=7), pd.Timedelta(days=365)):
        m = span / step
        if m >= 2 and float(m).is_integer() and (span != pd.Timedelta(days=365) or step == pd.Timedelta(days=1)):
            out.append(int(m))
    return tuple(out)


def _infer_freq(ts: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> pd.DateOffset:
    """The frequency of the longest series; the most common step if that series has gaps."""
    longest = int(np.argmax(counts))
    idx = pd.DatetimeIndex(ts[starts[longest] : starts[longest] + counts[longest]])
    if len(idx) >= 3:
        guess = pd.infer_freq(idx[: min(len(idx), 2000)])
        if guess is not None:
            return to_offset(guess)
    steps = np.diff(ts.astype("datetime64[ns]").astype(np.int64))
    same_series = np.ones(len(steps), dtype=bool)
    same_series[(starts[1:] - 1)] = False
    steps = steps[same_series]
    if len(steps) == 0 or (mode := pd.Series(steps).mode()).empty or mode.iloc[0] <= 0:
        raise InputError("could not infer the frequency of the series; pass freq=, e.g. freq='D' or freq='h'")
    return to_offset(pd.Timedelta(int(mode.iloc[0]), unit="ns"))


def _describe_gap(key: Hashable, idx: pd.DatetimeIndex, freq: pd.DateOffset) -> str:
    grid = pd.date_range(idx[0], idx[-1], freq=freq)
    missing = grid.difference(idx)
    off_grid = idx.difference(grid)
    label = "" if key is None else f"series {key!r}: "
    if len(off_grid):
        return (
            f"{label}timestamp {off_grid[0]} is not on the regular {freq.freqstr!r} grid; "
            f"resample first (df.resample({freq.freqstr!r}, on=time).sum()) or pass the right freq="
        )
    return (
        f"{label}{len(missing)} missing timestamp(s) at frequency {freq.freqstr!r} (first: {missing[0]}); "
        "fill the gaps first, e.g. .set_index(time).asfreq(freq) then .interpolate() or .fillna(0)"
    )


def prepare(
    data: pd.DataFrame,
    time: str,
    value: str,
    horizon: int,
    by: str | Sequence[str] | None = None,
    freq: str | pd.DateOffset | None = None,
) -> Panel:
    """Check the input and cut it into equal-grid blocks (see the module docstring for the rules)."""
    if not isinstance(data, pd.DataFrame):
        raise InputError(f"data must be a pandas DataFrame, not {type(data).__name__}")
    if isinstance(horizon, bool) or not isinstance(horizon, int | np.integer) or horizon <= 0:
        raise InputError(f"horizon must be a positive whole number of steps, got {horizon!r}")
    by_cols = [] if by is None else [by] if isinstance(by, str) else list(by)
    require_columns(data.columns, [time, value, *by_cols], "the data")
    if len(data) == 0:
        raise InputError("data has no rows")
    if not pd.api.types.is_numeric_dtype(data[value]) or pd.api.types.is_bool_dtype(data[value]):
        raise InputError(f"column {value!r} must be numeric, got {data[value].dtype}")

    frame = pd.DataFrame({"__t": _parse_time(data[time], time), "__y": data[value].astype("float64")})
    if frame["__t"].isna().any():
        raise InputError(f"column {time!r} has {int(frame['__t'].isna().sum())} missing timestamp(s); drop those rows")
    keys: list[Hashable]
    if by_cols:
        if data[by_cols].isna().any().any():
            raise InputError(f"the by column(s) {by_cols} have missing values; drop or fill those rows")
        grouping = [data[c] for c in by_cols]
        if len(by_cols) == 1:
            codes, uniques = pd.factorize(data[by_cols[0]], sort=True)
            frame["__g"], keys = codes, list(uniques)
        else:
            codes, uniques = pd.MultiIndex.from_arrays(grouping).factorize(sort=True)
            frame["__g"], keys = codes, list(uniques)
    else:
        frame["__g"], keys = 0, [None]

    frame = frame.sort_values(["__g", "__t"], kind="stable")
    dup = frame.duplicated(["__g", "__t"])
    if dup.any():
        row = frame[dup].iloc[0]
        label = "" if by is None else f" in series {keys[int(row['__g'])]!r}"
        raise InputError(
            f"{int(dup.sum())} duplicated timestamp(s){label} (first: {row['__t']}); "
            f"aggregate first, e.g. df.groupby([*by, time])[value].sum()"
        )
    if frame["__y"].isna().any() or not np.isfinite(frame["__y"].to_numpy()).all():
        bad = frame[~np.isfinite(frame["__y"].to_numpy())].iloc[0]
        label = "" if by is None else f" (first in series {keys[int(bad['__g'])]!r} at {bad['__t']})"
        raise InputError(
            f"column {value!r} has {int((~np.isfinite(frame['__y'].to_numpy())).sum())} missing or infinite "
            f"value(s){label}; fill them first, e.g. .interpolate() or .fillna(0)"
        )

    codes = frame["__g"].to_numpy()
    counts = np.bincount(codes, minlength=len(keys))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    tz = frame["__t"].dt.tz
    ts = (frame["__t"].dt.tz_convert(None) if tz is not None else frame["__t"]).to_numpy()
    offset = to_offset(freq) if freq is not None else _infer_freq(ts, starts, counts)

    short = np.flatnonzero(counts < horizon + MIN_TRAIN)
    if len(short):
        k = short[0]
        label = "the series" if by is None else f"series {keys[k]!r}"
        raise InputError(
            f"{label} has {counts[k]} points; a horizon of {horizon} needs at least {horizon + MIN_TRAIN} "
            "(shorten the horizon or supply more history)"
        )

    y = frame["__y"].to_numpy()
    first = pd.DatetimeIndex(ts[starts])
    if tz is not None:
        first = first.tz_localize("UTC").tz_convert(tz)
    blocks = []
    grid_of = pd.DataFrame({"first": first, "n": counts}).groupby(["first", "n"], sort=True).indices
    for (start, n), members in grid_of.items():
        index = pd.date_range(start, periods=n, freq=offset)
        rows = starts[members][:, None] + np.arange(n)[None, :]
        got = ts[rows]
        ok = (got == (index.tz_convert(None) if tz is not None else index).to_numpy()).all(axis=1)
        if not ok.all():
            k = members[np.flatnonzero(~ok)[0]]
            idx = pd.DatetimeIndex(ts[starts[k] : starts[k] + counts[k]])
            raise InputError(_describe_gap(keys[k], idx.tz_localize("UTC").tz_convert(tz) if tz else idx, offset))
        blocks.append(Block(keys=[keys[k] for k in members], index=index, values=y[rows]))
    return Panel(blocks=blocks, freq=offset, periods=seasonal_periods(offset))
