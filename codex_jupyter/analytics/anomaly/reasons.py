"""How a reason is worded: its numbers, and how a row's reason names its metrics (plain strings: cheap to import).

With several metrics a row raises one alert, and its reason names every metric whose episode opens there:
"a, b: why; c: another why". The detector writes it (:func:`metrics_reason`); charts read which metrics an alert
concerns (:func:`reason_metrics`).
"""

from __future__ import annotations

import math
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


def reason_number(value: float, digits: int = 4, sign: bool = False) -> str:
    """``value`` as a reader says it: ``digits`` significant digits, thousands separated, no exponent.

    Why: ``f"{x:.4g}"`` wrote a level of 58,690 battle deaths as "5.869e+04". An exponent is kept only for
    magnitudes beyond 1e15 or below 1e-4, where the plain digits would be longer than the number is useful.
    """
    plus = "+" if sign else ""
    if value == 0 or not math.isfinite(value):
        return f"{value:{plus}g}"
    magnitude = math.floor(math.log10(abs(value)))
    if not -4 <= magnitude < 15:
        return f"{value:{plus}.{digits}g}"
    decimals = max(digits - 1 - magnitude, 0)
    text = f"{round(value, decimals):{plus},.{decimals}f}"
    return text.rstrip("0").rstrip(".") if decimals else text
