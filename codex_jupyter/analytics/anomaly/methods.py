"""The detectors' names and default threshold, light enough for a magic's ``--help`` to import.

Kept apart from :mod:`.detectors` (numpy, scipy, bottleneck) so ``%load_ext``
and argument parsing stay fast.
"""

from __future__ import annotations

#: Score above which a reading is flagged: |z| of about 4.4 for a normal series, about one false alarm per
#: 100,000 normal readings per detector -- the threshold Numenta's detector uses on its anomaly likelihood
#: in the NAB benchmark, and what a fleet producing millions of readings a day can afford.
DEFAULT_THRESHOLD = 0.99999
#: Every method ``detect_anomalies`` accepts.
METHODS = ("auto", "zscore", "seasonal", "level_shift", "stuck", "iforest")
#: The causal methods, which ``StreamingDetector`` (and a live tail) can run; ``iforest`` is batch only.
STREAMING_METHODS = tuple(m for m in METHODS if m != "iforest")
