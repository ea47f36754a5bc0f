"""Anomaly detection: batch and streaming detectors (:mod:`.detectors`) over vectorised
rolling statistics (:mod:`.rolling`). Pure computation, usable from a plain script.

The detectors load on first use (PEP 562), so importing the method names in
:mod:`.methods` (as the ``%iot_tail`` magic does) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from codex_jupyter.analytics.anomaly.methods import DEFAULT_THRESHOLD, METHODS, STREAMING_METHODS

if TYPE_CHECKING:
    from codex_jupyter.analytics.anomaly.detectors import (
        AnomalyInputError,
        DetectorSettings,
        StreamingDetector,
        detect_anomalies,
        infer_period,
        isolation_forest,
    )

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
]


def __getattr__(name: str) -> Any:
    if name in __all__:  # the names not imported above live in the detectors module
        return getattr(importlib.import_module("codex_jupyter.analytics.anomaly.detectors"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
