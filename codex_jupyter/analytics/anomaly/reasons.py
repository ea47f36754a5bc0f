"""How a row's reason names its metrics, written and read in one place (plain strings: cheap to import).

With several metrics a row raises one alert, and its reason names every metric whose episode opens there:
"a, b: why; c: another why". The detector writes it (:func:`metrics_reason`); charts read which metrics an alert
concerns (:func:`reason_metrics`).
"""

from __future__ import annotations

from collections.abc import Sequence

_NAMES = ", "  # between metrics that share a reason
_PARTS = "; "  # between different reasons
_HEAD = ": "  # after the metrics' names


def metrics_reason(groups: dict[str, list[str]]) -> str:
    """One reason from ``{why: [metric, ...]}``, in the dict's order (the most surprising metric's first)."""
    return _PARTS.join(f"{_NAMES.join(names)}{_HEAD}{why}" for why, names in groups.items())


def reason_metrics(reason: str, metrics: Sequence[str]) -> list[str]:
    """The metrics among ``metrics`` that an alert's ``reason`` names, in the reason's order.

    With one metric the reason names none and is that metric's. Why: a chart of one metric marks the alerts that
    concern it, a dropout of every metric included.
    """
    if not reason:
        return []
    if len(metrics) == 1:
        return list(metrics)
    named = [name for part in reason.split(_PARTS) for name in part.split(_HEAD, 1)[0].split(_NAMES)]
    return [name for name in named if name in metrics]
