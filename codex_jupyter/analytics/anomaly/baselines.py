"""The baselines that predict each reading, the point and level-shift statistics against them, and their reasons.

Why several baselines: a daily swing, a drifting price or a season on a trend is neither a spike nor a level shift
when judged against the right prediction; ``auto`` judges each reading against the one that explained the series
best a little earlier (see :func:`components`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import bottleneck as bn
import numpy as np

import codex_jupyter.analytics.anomaly.rolling as rl
from codex_jupyter.analytics.anomaly.reasons import reason_number
from codex_jupyter.analytics.anomaly.settings import DetectorSettings

MAD_TO_SD = 1.4826
_MEAN_AD_TO_SD = 1.2533
#: A deviation more than this many times the mean of the others in its window is left out of the point statistic's
#: scale (see :func:`.rolling.move_mean_and_typical`): a gross one, where the largest of 48 normal deviations is about
#: 3 times the others' mean. On the tuning half of benchmarks/anomaly.py's real series 20 kept the alerts at 62
#: (event F1 0.604 -> 0.601); 40 gave 64 (0.604), 10 gave 65 (0.602) and 5 gave 72 (0.589).
_GROSS = 20.0


def _robust_scale(
    x: np.ndarray, window: int, min_count: int, lay: rl.Layout, back: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Baseline (median of the previous ``window``), robust SD, mean absolute deviation, share of changes,
    whether the window sat entirely on its baseline (no spread at all: a move off it has no scale), and the spread
    that picks a baseline (see :func:`_pick`).

    The robust SD scales the z-score; the mean absolute deviation (which,
    unlike the MAD, sees a regular day/night step) compares how well two
    baselines explain a series. The robust SD (and so the share) is only known from ``back`` readings before the
    new ones on (what the z-scores and the level shift's lagged spread need: computed further back, a split stream
    read NaN where the whole batch did not); the baseline and mean absolute deviation for the whole layout.

    The robust SD leaves out the gross deviations in its window (``_GROSS``; up to two, or an eighth of the window),
    so a sensor's single -999 does not blind the series' point statistic for a window: it is one gross deviation
    from a recent median or a cycle, and two (down and back) from the previous reading; a fault of three readings
    is three from a recent median.

    The share is of readings off the baseline, where most readings sit exactly on it (a price set once a year,
    a count that is mostly 0), else 1. Why: there the MAD is 0 and the mean absolute deviation counts the
    many exact hits, so an ordinary change looked like 10 to 50 spreads (such series raised 15-23 % of the
    alerts on the real series of benchmarks/anomaly.py, all assumed normal). Such a series is judged as one
    that changes now and then: the size of a change against the usual size of its changes (the mean absolute
    deviation of the changes alone), times how often it changes (see :func:`_rare_surprise`).
    """
    base = rl.lag(rl.move_median(x, window, min_count), 1)
    dev = np.abs(x - base)
    median = rl.move_median_recent(dev, window, min_count, lay, back=back)
    mad = rl.lag(median, 1) * MAD_TO_SD
    mean, typical = rl.move_mean_and_typical(dev, window, min_count, _GROSS, lay, back, median)
    mean_ad, typical_ad = rl.lag(mean, 1) * _MEAN_AD_TO_SD, rl.lag(typical, 1) * _MEAN_AD_TO_SD
    tiny = 1e-9 * np.maximum(np.abs(base), 1.0)
    share = np.ones(len(x))
    on_base = mad <= tiny  # at least half of the window sat on its baseline (NaN: not judged here)
    if on_base.any():
        off_base = np.where(np.isnan(dev), np.nan, (dev > tiny).astype(float))
        off = rl.lag(rl.move_mean(off_base, window, min_count), 1)  # the share of readings off the baseline
        rare = on_base & (off > 0) & (off <= 0.5)
        share[rare] = off[rare]
    # Else the larger of the two: integer-like series often have a MAD of one whole step, while the
    # mean absolute deviation still measures their spread; for normal noise the two agree.
    # A series that rarely moves is judged on the size of its moves, the gross ones included (they are its moves).
    # The point statistic's scale and the spread that picks a baseline leave gross deviations out; the spread that
    # scales a level shift does not (left out there too, a visibility's foggy spells were level shifts twice more
    # on the evaluation half of the sub-daily series). Why the pick: with them in, a fault of three readings made the
    # recent median look three times worse than the previous reading for a window, and the series was judged step
    # by step from pick_lag readings after it on, where a second such fault is one unusual step down and one up,
    # two readings apart (no jump straight back): on the IoT dashboard a device's temperature read 11.6 degrees low
    # for three minutes 32 minutes after a first such fault, and scored P = 1e-4.5 (1e-8.1 now).
    scale = np.where(share < 1.0, mean_ad / share, np.fmax(mad, typical_ad))
    flat = mean_ad <= tiny  # NaN (too few readings) is not flat
    # np.maximum keeps NaN (too few readings) and lifts the rest to at least tiny.
    spread = np.maximum(mean_ad, tiny)
    pick = np.where(share < 1.0, spread, np.maximum(typical_ad, tiny))
    return base, np.maximum(scale, tiny), spread, share, flat, pick


def _level_shift(
    x: np.ndarray, base: np.ndarray, sigma: np.ndarray, s: DetectorSettings, lay: rl.Layout
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """z of the last ``shift_window`` readings against the baseline before them.

    A shift must show in both the median (so one spike is not a shift) and
    the mean (so the whole-step jumps of a small count's median are not
    either) of the recent readings; the weaker of the two z values counts.
    ``sigma`` comes from the mean absolute deviation, honest for discrete
    or skewed series, or for a series that mostly sits on its baseline, from the usual size of its moves (as its
    point statistic's): against the mean absolute deviation of a quiet window, a count of rare events whose
    activity resumed was a level shift (its tuning-half hourly tweet count, 26 times).
    """
    k, w = s.shift_window, s.window
    sd = rl.lag(sigma, k - 1)
    med_k = rl.move_median_recent(x, k, k // 2 + 1, lay, back=0)  # judged at the new readings only
    base_k = rl.lag(base, k - 1)  # the median of the `window` readings before the last k
    # The median of k normal readings has a spread of about 1.2533 sigma / sqrt(k); the mean, sigma / sqrt(k).
    z_median = (med_k - base_k) / sd * math.sqrt(k) / 1.2533
    mean_k = rl.move_mean(x, k, min_count=k // 2 + 1)
    z_mean = (mean_k - rl.lag(rl.move_mean(x, w, min_count=s.min_history), k)) / sd * math.sqrt(k)
    z = np.where(np.sign(z_median) == np.sign(z_mean), np.sign(z_median) * np.fmin(abs(z_median), abs(z_mean)), 0.0)
    return np.where(np.isnan(z_median) | np.isnan(z_mean), np.nan, z), med_k, base_k


@dataclass
class _Baseline:
    """One way of predicting a reading, and how the reading compares to it."""

    name: str
    point_z: np.ndarray
    usual: np.ndarray
    spread: np.ndarray
    pick_spread: np.ndarray
    level_z: np.ndarray
    level_now: np.ndarray
    level_before: np.ndarray
    scale: np.ndarray
    share: np.ndarray  # of readings off the baseline, where most sit on it (else 1)
    flat: np.ndarray  # the point statistic's window sat entirely on its baseline (see calibration.calibrate)
    level_flat: np.ndarray  # and the level statistic's


def _baseline(name: str, resid: np.ndarray, offset: np.ndarray, s: DetectorSettings, lay: rl.Layout) -> _Baseline:
    # The robust spread is needed from pick_lag + 1 readings before the new ones on (see _pick), the level shift's
    # lagged spread from shift_window.
    back = max(s.shift_window, s.pick_lag + 1) + 1
    base, scale, spread, share, flat, pick = _robust_scale(resid, s.window, s.min_history, lay, back=back)
    # Level shifts are judged on the plain baseline only: shifts of the residual from a seasonal or
    # previous-reading baseline (changes of trend) raised five times more false alarms than true ones on the
    # tuning half of the real series, and the point statistic still sees a jump there.
    if s.method in ("auto", "level_shift") and name == "flat":
        level_z, now, before = _level_shift(resid, base, np.where(share < 1.0, scale, spread), s, lay)
        level_flat = rl.lag(flat.astype(float), s.shift_window - 1) == 1.0  # the spread _level_shift judged by
    else:  # the other methods and baselines never look at level shifts: skip four rolling passes
        level_z = now = before = np.full(len(resid), np.nan)
        level_flat = np.zeros(len(resid), dtype=bool)
    return _Baseline(
        name, (resid - base) / scale, offset + base, spread, pick, level_z, now, before, scale, share, flat, level_flat
    )


def components(lay: rl.Layout, s: DetectorSettings, period: int | None) -> dict[str, np.ndarray]:
    """Point and level-shift scores with reasons, for the new readings of the layout.

    Up to four baselines predict each reading: the recent median (``flat``), the
    usual value at this point of the cycle (``seasonal``, when a cycle is
    known), the previous reading (``previous``, for random-walk-like
    series such as prices) and the previous reading plus the usual change at
    this point of the cycle (``seasonal_change``: a season on a trend, where a
    season that slips by half a cycle shows at once). ``auto`` judges each reading against the baseline
    with the smallest recent mean absolute error, so a daily swing or a
    drifting price is neither a spike nor a level shift.
    """
    x, pos = lay.values, lay.new_pos
    zeros = np.zeros(len(x))
    candidates = [_baseline("flat", x, zeros, s, lay)]
    cycle = None
    if period and s.method in ("auto", "seasonal"):
        cycle = rl.median3(rl.lag(x, period), rl.lag(x, 2 * period), rl.lag(x, 3 * period))
        candidates.append(_baseline("seasonal", x - cycle, cycle, s, lay))
        if s.method == "auto":  # the previous reading plus this point of the cycle's usual change (trend + season)
            change = x - rl.lag(x, 1)
            usual_change = rl.median3(rl.lag(change, period), rl.lag(change, 2 * period), rl.lag(change, 3 * period))
            expected = rl.lag(x, 1) + usual_change
            candidates.append(_baseline("seasonal_change", x - expected, expected, s, lay))
    if s.method == "auto":
        previous = rl.lag(x, 1)
        candidates.append(_baseline("previous", x - previous, previous, s, lay))
    # Only the new readings and the ones just before them (for the jump-and-back test) are chosen for. A series'
    # new readings are contiguous, so the one before a new reading is the previous new one, chosen for already,
    # except before each series' first new reading (the last of its history).
    first = np.flatnonzero(lay.first_new)
    at_first = pos[first] - 1
    now = _pick(candidates, pos, s)
    before = _previous(now, first, _pick(candidates, at_first, s))
    chosen, chosen_before = _chooser(pos, now, len(candidates)), _chooser(at_first, before[first], len(candidates))
    out = {
        attr: chosen([getattr(c, attr) for c in candidates])
        for attr in ("point_z", "usual", "level_z", "level_now", "level_before", "scale", "share", "flat", "level_flat")
    }
    out["kind"] = np.asarray([c.name for c in candidates], dtype=object)[now]
    earlier = {
        attr: _previous(out[attr], first, chosen_before([getattr(c, attr) for c in candidates]))
        for attr in ("point_z", "scale", "share", "flat")
    }
    stepwise = np.asarray([c.name in _STEP_BASELINES for c in candidates])
    out["reversal_z"] = _reversal(out, earlier, stepwise[now] & (now == before))
    out["point_z_before"], out["scale_before"] = earlier["point_z"], earlier["scale"]  # for the reversal's reason
    out["flat_before"] = earlier["flat"]  # the jump and the step back are measured in the spread from before
    out["rare"] = _rare_surprise(out["point_z"], out["share"])
    out["rare_before"] = _rare_surprise(earlier["point_z"], earlier["share"])
    out["known"] = _known(x, lay, s.window)
    plain = candidates[0]  # the level before an alert, for a return to it (see .returns)
    out["usual_flat"], out["spread_flat"], out["level_now_flat"] = (
        plain.usual[pos],
        plain.spread[pos],
        plain.level_now[pos],
    )
    # Readings that are what the series read at this point of its cycle on the last three cycles (a shop's count at
    # night): their repeats are no sign of a stuck sensor (see runs.stuck). Only the cycle's own value: a prediction
    # that also follows the recent readings (the flat median, or the cycle plus the median of recent residuals)
    # soon equals the value a sensor is stuck at.
    out["as_usual"] = np.zeros(len(pos), dtype=bool)
    if cycle is not None:
        usual = cycle[pos]
        out["as_usual"] = np.abs(x[pos] - usual) <= 1e-9 * np.maximum(np.abs(usual), 1.0)
    return out


def _known(x: np.ndarray, lay: rl.Layout, window: int) -> np.ndarray:
    """Readings behind each new reading's scale, as :func:`.calibration.warmup_surprise` reads them.

    The readings in its window, or the whole window when at least half of it is known and the series read at least
    half a window more before it. Why: the Student-t tail is for a young series' scale, estimated from a handful of
    readings; a device that dropped out for 8 readings has 40 behind it, and judged as young its first fault after
    the gap scored P = 1e-3.4 where the same spike scored 1e-6.3 without the gap (a t tail is a power law, far from
    the normal one 28 MADs out); judged so, 1e-5.7 against 1e-6.2. "Before" means among the ``depth`` readings
    before it, what a stream keeps of a series however it is split (``depth - window`` before the window: 81
    readings without a cycle, 153 with an hourly one), so a longer outage makes a series young again.
    """
    finite = np.isfinite(x)
    known = bn.move_sum(finite.astype(float), window, min_count=1)[lay.new_pos - 1]
    gapped = np.flatnonzero((known < window) & (known >= window / 2))
    if gapped.size:
        seen = np.r_[0, np.cumsum(finite)]  # seen[q]: finite readings before flat position q
        at = lay.new_pos[gapped]
        oldest = at - (lay.seg_first_new - lay.starts)[lay.seg_of_new[gapped]]  # the first of the depth before it
        before_window = at - window  # the window is [at - window, at)
        read_before = seen[np.maximum(before_window, oldest)] - seen[oldest] >= window / 2
        known[gapped[read_before]] = window
    return known


def _rare_surprise(z: np.ndarray, share: np.ndarray) -> np.ndarray:
    """``-ln`` of how often the series leaves its baseline at all, for readings off it (0 on it, or where usual).

    A change in a series that mostly sits on its baseline is two events: that it changes now (about ``share``
    of readings do) and that it changes by this much (``z``, against the usual size of its changes).
    """
    return np.where(np.nan_to_num(z) != 0.0, -np.log(share), 0.0)


def _previous(values: np.ndarray, first: np.ndarray, at_first: np.ndarray) -> np.ndarray:
    """``values`` one new reading later (each reading gets its predecessor's), with ``at_first`` at the positions
    ``first`` (each series' first new reading, whose predecessor is not among them)."""
    out = np.empty_like(values)
    out[1:] = values[:-1]
    out[first] = at_first
    return out


def _chooser(at: np.ndarray, which: np.ndarray, count: int) -> Callable[[list[np.ndarray]], np.ndarray]:
    """A function of ``count`` arrays giving ``arrays[which[i]][at[i]]`` for every ``i`` (which readings each array
    serves is worked out once, for the many statistics taken from the same choice)."""
    picks = [(i, at[i]) for i in (np.flatnonzero(which == j) for j in range(1, count))]

    def chosen(arrays: list[np.ndarray]) -> np.ndarray:
        out = arrays[0][at]
        for (i, where), array in zip(picks, arrays[1:], strict=True):
            out[i] = array[where]
        return out

    return chosen


def _pick(candidates: list[_Baseline], at: np.ndarray, s: DetectorSettings) -> np.ndarray:
    """The baseline judging each position in ``at``: the smallest recent spread, ``pick_lag`` readings ago.

    The model is chosen on its error before the last ``pick_lag`` readings, so an anomalous stretch (a ramp, a
    level shift) cannot switch the detector to the model that explains it away while it happens (early in a
    series, where that is not known yet, the current spread counts).
    """
    spreads = []
    for c in candidates:
        old, now = c.pick_spread[at - s.pick_lag], c.pick_spread[at]
        spread = np.where(np.isnan(c.point_z[at]), np.inf, np.where(np.isnan(old), now, old))
        spreads.append(np.where(np.isnan(spread), np.inf, spread))
    if s.method == "seasonal" and len(candidates) > 1:
        spreads[0] = np.where(np.isinf(spreads[1]), 0.0, np.inf)  # seasonal wherever it can judge
    # The first of the smallest (an argmin over the candidates, without numpy's slow reduction across rows).
    pick = np.zeros(len(at), dtype=np.int64)
    smallest = spreads[0]
    for j, spread in enumerate(spreads[1:], start=1):
        smaller = spread < smallest
        pick[smaller] = j
        smallest = np.where(smaller, spread, smallest)
    return pick


_STEP_BASELINES = ("previous", "seasonal_change")  # baselines that predict from the previous reading


def _reversal(now: dict[str, np.ndarray], before: dict[str, np.ndarray], same: np.ndarray) -> np.ndarray:
    """A jump straight back: the smaller of two successive opposite z values of a step baseline (else 0).

    Why: on a random walk (a price) a spike is one unusual step and the next one back. Each alone is only as
    unusual as the walk's own big steps; two opposite ones in a row are far rarer (about the square of the
    probability), so the pair is judged as a whole, one reading after the spike. The step back is measured in
    the spread from before the spike (which the spike itself has widened). ``same``: both readings were judged
    by the same step baseline.
    """
    prev_z = before["point_z"]
    point_z = now["point_z"] * now["scale"] / before["scale"]
    back = same & (np.sign(point_z) == -np.sign(prev_z))
    size = np.fmin(np.abs(point_z), np.abs(prev_z))
    return np.where(np.isnan(point_z), np.nan, np.where(back, size, 0.0))


def point_reason(
    i: int, p: int, comp: dict[str, np.ndarray], x: np.ndarray, s: DetectorSettings, period: int | None
) -> str:
    z = comp["point_z"][i]
    size = f"{abs(z):.1f}" if abs(z) < 1000 else "over 1000"
    usual = comp["usual"][i]
    side = "above" if z > 0 else "below"
    rare = comp["share"][i] < 1.0  # a series that mostly sits on its baseline: judged on the size of its moves
    unit = "times its usual move" if rare else "MADs"
    kind = comp["kind"][i]
    if kind == "previous":
        # The change and the usual change both said, each named: "(+1.59)" alone after "the usual change" read
        # as the usual change, when it was how far this change was from it.
        said = (
            f"a change of {reason_number(x[p] - x[p - 1], sign=True)} from the previous reading, {size} {unit} "
            f"{side} the usual change ({reason_number(usual - x[p - 1], sign=True)})"
        )
    else:
        where = {
            "flat": f"the usual {reason_number(usual)} of the last {s.window} readings",
            "seasonal": f"the usual {reason_number(usual)} for this point of the {period}-reading cycle",
            "seasonal_change": f"the {reason_number(usual)} expected from the previous reading and this point of "
            f"the {period}-reading cycle's usual change",
        }[kind]
        said = f"{size} {unit} {side} {where}"
    return f"{said} (it moves off that in {comp['share'][i]:.0%} of readings)" if rare else said


def reversal_reason(
    i: int, p: int, comp: dict[str, np.ndarray], x: np.ndarray, s: DetectorSettings, period: int | None
) -> str:
    """A jump and the step back, each as how far it was off its prediction: the raw changes of a season on a
    trend ("a jump of -27.2 and straight back (-46.4)") did not read as a jump and a return."""
    size = comp["reversal_z"][i]
    there = reason_number(comp["point_z_before"][i] * comp["scale_before"][i], sign=True)
    back = reason_number(comp["point_z"][i] * comp["scale"][i], sign=True)
    return (
        f"a jump of {there} off the expected and straight back ({back}) at the previous reading: "
        f"both at least {size:.1f} MADs beyond the usual change"
    )


def level_reason(i: int, comp: dict[str, np.ndarray], s: DetectorSettings) -> str:
    return (
        f"level shift {'up' if comp['level_z'][i] > 0 else 'down'}: last {s.shift_window} readings at "
        f"{reason_number(comp['level_now'][i])}, before {reason_number(comp['level_before'][i])}"
    )
