"""Anomaly detection: batch and streaming detectors (:mod:`.detectors`) judging each reading against baselines
(:mod:`.baselines`) and runs of repeats or gaps (:mod:`.runs`), calibrated per series (:mod:`.calibration`),
alerting once per episode (:mod:`.episodes`), over vectorised rolling statistics (:mod:`.rolling`), leaving out
known days off (:mod:`.holiday_calendar`); a stream's series split between worker processes (:mod:`.parallel`).
Pure computation, usable from a plain script.

The detectors load on first use (PEP 562), so importing the method names in
:mod:`.methods` (as the ``%iot_tail`` magic does) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from codex_jupyter.analytics.anomaly.methods import DEFAULT_THRESHOLD, METHODS, STREAMING_METHODS

if TYPE_CHECKING:
    from codex_jupyter.analytics.anomaly.detectors import (
        StreamingDetector,
        detect_anomalies,
        infer_period,
        isolation_forest,
    )
    from codex_jupyter.analytics.anomaly.reasons import reason_metrics
    from codex_jupyter.analytics.anomaly.settings import AnomalyInputError, DetectorSettings, threshold_for

__all__ = [
    "DEFAULT_THRESHOLD",
    "METHODS",
    "STREAMING_METHODS",
    "AnomalyInputError",
    "DetectorSettings",
    "StreamingDetector",
    "detect_anomalies",
    "infer_period",
    "isolation_forest",
    "reason_metrics",
    "threshold_for",
]


_HOME = {
    "AnomalyInputError": "settings",
    "DetectorSettings": "settings",
    "reason_metrics": "reasons",
    "threshold_for": "settings",
}


def __getattr__(name: str) -> Any:
    if name in __all__:  # the names not imported above live in the settings, reasons or detectors module
        module = _HOME.get(name, "detectors")
        return getattr(importlib.import_module(f"codex_jupyter.analytics.anomaly.{module}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
