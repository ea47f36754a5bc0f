"""Runs of identical and of missing readings, each judged against how often that series repeated or missed before.

Why apart from the calibrated statistics: a run's probability follows from the series' own rate of repeats (or of
gaps) directly, so integer counts that often repeat, or a feed that often skips a reading, are not flagged for it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import codex_jupyter.analytics.anomaly.rolling as rl
from codex_jupyter.analytics.anomaly.calibration import exclusive_cumsum
from codex_jupyter.analytics.anomaly.reasons import reason_number
from codex_jupyter.analytics.anomaly.settings import DetectorSettings
from codex_jupyter.analytics.anomaly.state import MetricState

_NS_PER_S = 1_000_000_000
#: Repeats' worth of belief that a series' repeats come independently, before its own runs of them count (see
#: :func:`_p_stay`). Measured on the simulated fleet at the default threshold, when every repeat taught it: 50 cost
#: 2.7 points of its faults caught, 200 none; with unexpected repeats only, 200 costs 0.3 (0.7 to 2.7 at 1e-8 to
#: 1e-12: a later stuck fault needs a longer run to get there).
_STAY_PRIOR = 200.0
#: Missed readings' worth of belief that a series misses readings independently, before its own gaps' lengths count
#: (see :func:`missing`). Chosen on the tuning half of the sub-daily series and the simulated fleet (seed 7) of
#: benchmarks/anomaly.py: 200 cut the half's false alarms from 2.51 to 1.73 per 10,000 readings but missed 6 % of
#: the fleet's later dropouts (a device's earlier dropouts taught it that its gaps go on); 500 and 1,000 gave 1.85
#: and missed 1.9 % and 1.2 %; 2,000 gives 1.91 and misses none of them there (one on each of seeds 11 and 23).
_GAP_STAY_PRIOR = 2000.0
_SHARE_CHUNK = 4096  # run starts whose readings before them are compared at once (bounds the memory used)


def stuck(
    lay: rl.Layout,
    state: MetricState,
    rows: np.ndarray,
    s: DetectorSettings,
    has_time: bool,
    as_usual: np.ndarray | None = None,
) -> tuple[np.ndarray, Callable[[int], str]]:
    """Score runs of identical readings against the series' usual rate of repeats (and word a run's reason).

    A run with ``r`` unexpected repeats has probability ``p * p_stay ** (r - 1)``: ``p`` is how often the series
    repeated a reading just before the run began (or how often it took the run's value), ``p_stay`` at least that
    and at least how often its unexpected repeats were followed by another, over its whole past (:func:`_p_stay`).
    A repeat is expected where it is what the series usually reads at this point of its cycle (``as_usual``, one
    flag per new reading): a shop's count is 0 every night, and such repeats neither add to a run's surprise nor
    teach it how long runs last (a shop that counted customers every 5 minutes raised a flatline alert on 27 of
    60 nights). A run goes on across them, so a shop that stays shut in the morning is reported from opening time.

    A holiday (:data:`.rolling.HOLIDAY`) does not break a run, nor does it count in the series' rate of repeats: a
    reading after it is compared with the last one before it, so a flatline over Christmas is reported as it would
    be without the holiday. Inside a run the holiday counts as one of its readings (its value is not known; a
    stuck sensor would have repeated it).
    """
    x = lay.values
    pos = lay.new_pos
    holiday = rl.is_holiday(x)
    seen = rl.past_holidays(x, lay) if holiday.any() else x
    prev = rl.lag(seen, 1)
    eq_all = (seen == prev).astype(float)
    eq_all[np.isnan(seen) | np.isnan(prev) | holiday] = np.nan
    window = s.window
    rate = rl.lag(rl.move_mean(eq_all, window, min_count=max(3, window // 4)), 1)
    eq = seen[pos] == prev[pos]
    seg = lay.seg_of_new
    block_start = ~eq | lay.first_new
    first_of_block = np.flatnonzero(block_start)[np.cumsum(block_start) - 1]
    offset = np.arange(len(pos)) - first_of_block
    # A run that began before this batch continues from the stored state.
    carried = lay.first_new[first_of_block] & eq[first_of_block]
    # Its repeats so far that the cycle did not expect (as_usual: what the series reads at this point of its cycle).
    unexpected = eq & (True if as_usual is None else ~as_usual)
    so_far = np.cumsum(unexpected)
    surprising = so_far - so_far[first_of_block] + unexpected[first_of_block]
    surprising = np.where(carried, state.run_unexpected[rows][seg] + surprising, surprising)
    run_state = state.run_len[rows].astype(float)
    start_state = state.run_start[rows]
    p_state = state.run_p_repeat[rows]
    run = np.where(carried, run_state[seg] + 1 + offset, offset)
    start_time = np.where(carried, start_state[seg], lay.times[pos[first_of_block]])
    # How often the series repeated a value in the window just before this run began.
    rate_at_start = rate[np.minimum(pos[first_of_block] + 1, len(rate) - 1)]
    just_started = carried & (run_state[seg] == 0)  # the run's first reading closed the last batch
    p = np.where(carried, np.where(just_started, rate[pos[first_of_block]], p_state[seg]), rate_at_start)
    # A value the series takes often (zero, for counts of rare events; a visibility at its cap) repeats more often
    # than the average value: use the larger of the two rates. Its share is taken over up to four windows before the
    # run, not one, which a busy or a foggy day may have filled with other values.
    run_first = np.where(just_started, pos[first_of_block] - 1, pos[first_of_block])
    needs = (run > 0) & (~carried | just_started)
    if needs.any():
        firsts, inverse = np.unique(run_first[needs], return_inverse=True)
        p[needs] = np.fmax(p[needs], _share_before(x, firsts, min(state.values.shape[1] - 1, 4 * window))[inverse])
    p = _rate(p, window)
    learnt = _p_stay(eq_all, pos, seg, first_of_block, ~just_started, run > 0, as_usual, state, rows, window)
    p_stay = np.fmax(p, learnt)
    p_stay = np.where(carried & ~just_started, state.run_p_stay[rows][seg], p_stay)
    with np.errstate(invalid="ignore", divide="ignore"):
        # The run's -ln P: its first unexpected repeat has probability p, each further one p_stay.
        surprise = np.where(
            run > 0,
            np.where(surprising > 0, -np.log(p) - (surprising - 1) * np.log(p_stay), 0.0),
            np.where(np.isnan(rate[pos]), np.nan, 0.0),
        )
    # Carry the run into the next batch.
    last = np.flatnonzero(lay.last_new)
    state.run_len[rows[seg[last]]] = run[last]
    state.run_start[rows[seg[last]]] = start_time[last]
    state.run_p_repeat[rows[seg[last]]] = p[last]
    state.run_p_stay[rows[seg[last]]] = p_stay[last]
    state.run_unexpected[rows[seg[last]]] = surprising[last]

    def reason(i: int) -> str:
        span = _duration(int(lay.times[pos[i]] - start_time[i])) if has_time else ""
        at = reason_number(x[pos[i]], digits=6)
        return f"flatline at {at}" + (f" for {span}" if span else "") + f" ({int(run[i]) + 1} readings)"

    return surprise, reason


def _share_before(x: np.ndarray, at: np.ndarray, span: int) -> np.ndarray:
    """For each position in ``at``, the share of the ``span`` readings before it (NaN ignored) equal to the reading
    there. ``span`` is at most the readings any new reading's series has before it in the layout, so no reading
    of another series is counted. In chunks: a batch of counts can hold a run at every other reading."""
    windows = np.lib.stride_tricks.sliding_window_view(x, span)
    out = np.empty(len(at))
    for lo in range(0, len(at), _SHARE_CHUNK):
        chunk = at[lo : lo + _SHARE_CHUNK]
        before = windows[chunk - span]
        with np.errstate(invalid="ignore"):
            out[lo : lo + _SHARE_CHUNK] = (before == x[chunk][:, None]).sum(axis=1) / (~np.isnan(before)).sum(axis=1)
    return out


def _p_stay(
    eq_all: np.ndarray,
    pos: np.ndarray,
    seg: np.ndarray,
    first_of_block: np.ndarray,
    base_here: np.ndarray,
    in_run: np.ndarray,
    expected: np.ndarray | None,
    state: MetricState,
    rows: np.ndarray,
    window: int,
) -> np.ndarray:
    """How likely a run of repeats goes on, judged where each run began, from the series' whole past: how often an
    unexpected repeat (one the cycle did not predict, see ``expected``) was followed by another, from a prior of
    independent repeats (its rate of unexpected repeats) worth ``_STAY_PRIOR`` of them. Updates the series' counts
    (exact integers: the same however a stream is split); they are those up to and including the run's base
    reading, which is ``first_of_block`` where ``base_here``, else the last reading of the previous batch.

    Why: a series that sits on one value for long stretches (a visibility at its cap for days) is no stuck sensor
    each time, yet a run of them had probability ``p ** r``, and after a foggy day ``p`` was low: 84 of the 145
    false alarms on the tuning half of the hourly series of benchmarks/anomaly.py were such flatlines. Repeats the
    cycle expects (a shop's count at 0 every night) teach nothing: learnt from, they made a counter frozen for a
    whole opening day look usual. The prior is strong so that a device's own stuck fault does not teach it that
    runs are usual: its next one must still be caught.
    """
    free = True if expected is None else ~expected
    judged = ~np.isnan(eq_all[pos]) & free
    repeats = (eq_all[pos] == 1.0) & free  # NaN (not judged) is no repeat
    again = repeats & (eq_all[pos - 1] == 1.0)
    carried = state.repeats[rows]
    counts = (repeats, again, judged)
    state.repeats[rows] += np.stack([np.bincount(seg, weights=c, minlength=len(rows)) for c in counts], axis=1).astype(
        np.int64
    )
    if not in_run.any():  # no reading in a run: nothing is judged with p_stay, nor carried (a run begins anew)
        return np.ones(len(pos))
    before = [
        exclusive_cumsum(c.astype(np.int64), seg, carried[:, j])[first_of_block] + base_here * c[first_of_block]
        for j, c in enumerate(counts)
    ]
    repeats_before, again_before, judged_before = before
    rate = repeats_before / (judged_before + window)
    return _rate(_learnt_stay(again_before, repeats_before, rate, _STAY_PRIOR), window)


def _learnt_stay(went_on: np.ndarray, events: np.ndarray, rate: np.ndarray, prior: float) -> np.ndarray:
    """How often a series' repeats (or missed readings) were followed by another: its own ``went_on`` of ``events``,
    from a prior of independent ones (a share ``rate`` of them go on) worth ``prior`` events. Runs of repeats and
    runs of missing readings are judged on it alike."""
    return (went_on + prior * rate) / (events + prior)


def _rate(p: np.ndarray, window: int) -> np.ndarray:
    """A rate of repeats kept within half a reading of a window from 0 and from 1: a window can show neither."""
    return np.clip(p, 1.0 / (2 * window), 1 - 1.0 / (2 * window))


def missing(
    lay: rl.Layout, state: MetricState, rows: np.ndarray, log10_p: np.ndarray
) -> tuple[np.ndarray, Callable[[int], str] | None]:
    """Score runs of missing readings against how often the series missed a reading before, and how long its gaps
    last.

    A run of ``r`` missing readings in a series that misses a share ``q`` of its readings has probability
    ``q * stay ** (r - 1)``: ``q`` starts from a prior of half a missing reading, and ``stay``, how often a missed
    reading was followed by another, from a prior of independent misses (``stay = q``) worth ``_GAP_STAY_PRIOR``
    missed readings, never below ``q``. So a series that often has gaps is not flagged for them, a burst in one
    that never has is flagged within a few readings, and a feed whose gaps usually last hours is not flagged for
    every such gap. Why the length: the hourly pressure readings at the New York airports miss one reading in 9,
    in gaps of about 2 hours on average and up to 9 to 11; judged as independent misses (``q ** r``) their longer
    gaps raised 22 of the 78 alerts on the sub-daily series of benchmarks/anomaly.py, and 7 now. The price: a
    series' own long outages teach it too, so after a 1,000-minute outage a minute feed's later 30-minute dropouts
    alert on their 16th or 17th missing reading instead of their 6th to 8th.
    A holiday (:data:`.rolling.HOLIDAY`) is neither a missing reading nor a reading: it neither counts nor breaks a
    run, so a feed that stops before Christmas is reported as it would be on other days.
    """
    values = lay.values[lay.new_pos]
    holiday = rl.is_holiday(values)
    present = ~np.isnan(values)
    missing = ~present & ~holiday
    carried = state.missing[rows]
    if not missing.any() and not carried[:, 2].any():
        none = np.zeros(len(missing), dtype=np.int64)
        _count_missing(state, rows, lay, missing, none, present, none)
        return log10_p, None
    seg = lay.seg_of_new
    # A series has not begun before its first reading: missing readings in front of it (a table whose column
    # starts later) are neither judged nor counted.
    present_before = exclusive_cumsum(present.astype(np.int64), seg, carried[:, 0] - carried[:, 1])
    started = (present_before > 0) | present
    judged = missing & started
    counted = started & ~holiday
    readings = exclusive_cumsum(counted.astype(np.int64), seg, carried[:, 0])
    misses = exclusive_cumsum(judged.astype(np.int64), seg, carried[:, 1])
    # Missing readings in the run that is open at each reading (carried across batches; holidays skipped).
    first = lay.first_new
    breaks = present | first
    last_break = np.maximum.accumulate(np.where(breaks, np.arange(len(missing)), 0))
    so_far = np.cumsum(judged)
    open_run = so_far - so_far[last_break] + judged[last_break]
    open_run = np.where(first[last_break] & ~present[last_break], open_run + carried[:, 2][seg], open_run)
    open_run = np.where(present, 0, open_run)
    run = np.where(judged, open_run, 0)
    went_on = judged & (open_run >= 2)  # a missed reading after another
    continued = exclusive_cumsum(went_on.astype(np.int64), seg, carried[:, 3])
    # The share of missed readings, and how often a miss went on, before this run began (the run itself is what
    # is being judged).
    before = np.maximum(run - 1, 0)
    missed_before, went_on_before = misses - before, continued - np.maximum(run - 2, 0)
    rate = (missed_before + 0.5) / (readings - before + 1.0)
    stay = np.fmax(_learnt_stay(went_on_before, missed_before, rate, _GAP_STAY_PRIOR), rate)
    level = -np.log10(rate) - np.maximum(run - 1, 0) * np.log10(stay)
    out = np.where(judged, level, log10_p)
    _count_missing(state, rows, lay, judged, open_run, counted, went_on)

    def reason(i: int) -> str:  # a missing reading is judged on its run alone
        if not judged[i]:
            return ""
        usually = f"usually 1 in {1 / rate[i]:,.0f}"
        gaps = missed_before[i] - went_on_before[i]  # the gaps before this one
        if gaps and (mean := missed_before[i] / gaps) >= 1.5:
            usually += f", in gaps averaging {mean:,.0f}" if mean >= 10 else f", in gaps averaging {mean:.2g}"
        return f"{run[i]} missing readings in a row ({usually})"

    return out, reason


def _count_missing(
    state: MetricState,
    rows: np.ndarray,
    lay: rl.Layout,
    missing: np.ndarray,
    run: np.ndarray,
    counted: np.ndarray,
    went_on: np.ndarray,
) -> None:
    """Add a batch's readings (only those after the series began, holidays not), missed readings and missed readings
    after another to each series' counts, and keep the run still open at its last reading."""
    seg = lay.seg_of_new
    counts = np.bincount(seg, weights=counted, minlength=len(rows)).astype(np.int64)
    misses = np.bincount(seg, weights=missing, minlength=len(rows)).astype(np.int64)
    again = np.bincount(seg, weights=went_on, minlength=len(rows)).astype(np.int64)
    last = np.flatnonzero(lay.last_new)
    state.missing[rows] += np.stack([counts, misses, np.zeros(len(rows), dtype=np.int64), again], axis=1)
    state.missing[rows, 2] = run[last]


def _duration(ns: int) -> str:
    seconds = ns / _NS_PER_S
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172_800:
        return f"{seconds / 3600:.3g} h"
    return f"{seconds / 86_400:.3g} days"
