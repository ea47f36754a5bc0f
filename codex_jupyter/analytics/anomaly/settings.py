"""The detectors' settings and their input error: shared by the batch and streaming paths and by the tail engine."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from codex_jupyter.analytics.anomaly.calibration import CalibrationSettings, log10_from_score, score_from_log10
from codex_jupyter.analytics.anomaly.methods import DEFAULT_THRESHOLD, STREAMING_METHODS
from codex_jupyter.errors import InputError

#: Between the values of several ``by`` columns in a series' key (a character no id holds).
KEY_SEPARATOR = "\x1f"


class AnomalyInputError(InputError):
    """Input the detectors cannot use, with what to change."""


@dataclass(frozen=True)
class DetectorSettings:
    """Knobs shared by the streaming and batch paths (defaults suit most series)."""

    method: str = "auto"
    window: int = 48
    min_history: int = 12
    shift_window: int = 6
    period: int | str | None = "auto"
    threshold: float = DEFAULT_THRESHOLD
    flag_missing: bool = True
    pick_lag: int = 24  # readings: a model is chosen on its error this long ago
    clear: float = 2.5  # calibrated -log10 P at which a reading still counts as part of an episode
    quiet: int = 12  # readings below ``clear`` that close an episode
    calibration: CalibrationSettings = field(default_factory=CalibrationSettings)

    def __post_init__(self) -> None:
        if self.method not in STREAMING_METHODS:
            allowed = ", ".join(STREAMING_METHODS)
            raise AnomalyInputError(f"unknown streaming method {self.method!r}; use one of {allowed}")
        if self.window < 4 or self.min_history < 3 or self.min_history > self.window:
            raise AnomalyInputError("need window >= 4 and 3 <= min_history <= window")
        if not 2 <= self.shift_window < self.window:
            raise AnomalyInputError("need 2 <= shift_window < window")
        if not 0 < self.threshold < 1:
            raise AnomalyInputError(
                f"threshold is a score between 0 and 1 (default {DEFAULT_THRESHOLD}); "
                "threshold_for(1e-7) gives the score for a tail probability"
            )
        if not 0 < self.clear <= log10_from_score(self.threshold) or self.quiet < 1:
            raise AnomalyInputError("need 0 < clear <= the threshold's -log10 P, and quiet >= 1 reading")
        if not (self.period in (None, "auto") or (isinstance(self.period, int) and self.period >= 2)):
            raise AnomalyInputError("period is 'auto', None or a whole number of readings >= 2")


def threshold_for(p: float) -> float:
    """The ``threshold`` that alerts at a calibrated tail probability of ``p``: ``threshold_for(1e-7)`` is 0.9999999.

    Why: beyond P = 1e-9 the score rises slowly so that it never reaches 1.0, and the threshold for 1e-12 is
    0.99999999975, not twelve nines; written by hand it is easy to get wrong (twelve nines means P = 1e-1000).
    """
    if not 0 < p < 1:
        raise AnomalyInputError(f"p is a tail probability between 0 and 1, such as 1e-7; got {p!r}")
    return float(score_from_log10(np.asarray(-math.log10(p))))
