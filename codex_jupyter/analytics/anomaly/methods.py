"""The detectors' names and default threshold, light enough for a magic's ``--help`` to import.

Kept apart from :mod:`.detectors` (numpy, scipy, bottleneck) so ``%load_ext``
and argument parsing stay fast.
"""

from __future__ import annotations

#: Score at which an episode's first reading raises an alert: a calibrated tail probability of 1e-7 against the
#: series' own past. The strictest at which the simulated fleet still catches 95 % of its faults: on the real series
#: of benchmarks/anomaly.py event F1 is flat from 1e-6 to 1e-9 while alerts halve, but sensors lose their later
#: faults (``--only thresholds`` prints the trade); 0.99999 (1e-5) alerts more, earlier.
DEFAULT_THRESHOLD = 0.9999999
#: Every method ``detect_anomalies`` accepts.
METHODS = ("auto", "zscore", "seasonal", "level_shift", "stuck", "iforest")
#: The causal methods, which ``StreamingDetector`` (and a live tail) can run; ``iforest`` is batch only.
STREAMING_METHODS = tuple(m for m in METHODS if m != "iforest")
