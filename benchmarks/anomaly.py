"""Anomaly detection quality and speed on labelled data.

Quality: precision, recall and F1 at the point level (a device-hour is flagged
when any of its metrics is), at the event level (a labelled fault episode is
caught when any reading in it is flagged; a flagged episode is false when it
touches no labelled fault) and an early-detection score (mean over episodes
of 1 / (1 + readings until the first flag), 0 when missed). Data: the Demo
Bank IoT telemetry with its labelled faults (spike, shift, stuck, dropout)
and the labelled card fraud. Every method runs against a plain rolling
z-score baseline (mean/SD of the previous 48 readings, |z| > 3).

Speed: the streaming detector on 1,000,000 points in batches of 10,000 over
100 series, on one core, and its memory per series.

    python benchmarks/anomaly.py           # full
    python benchmarks/anomaly.py --quick   # a month of telemetry, 100,000 points: proves it runs
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np
import pandas as pd

os.environ.setdefault("CODEX_JUPYTER_CACHE_DIR", tempfile.mkdtemp(prefix="codex-bench-cache-"))

from codex_jupyter import StreamingDetector, connect, detect_anomalies, location_fraud

METRICS = ["temperature", "vibration", "humidity"]


def rolling_zscore_baseline(long: pd.DataFrame) -> np.ndarray:
    """The plain baseline: |x - mean| > 3 SD of the previous 48 readings of the same series."""
    grouped = long.groupby(["device_id", "metric"], sort=False).value
    mean = grouped.transform(lambda v: v.shift(1).rolling(48, min_periods=12).mean())
    sd = grouped.transform(lambda v: v.shift(1).rolling(48, min_periods=12).std())
    return ((long.value - mean).abs() > 3 * sd).to_numpy() | long.value.isna().to_numpy()


def episodes(flags: np.ndarray, device: np.ndarray) -> list[tuple[int, int]]:
    """Contiguous runs of True per device, as (start, end) row positions (rows sorted by device, time)."""
    edges = np.diff(np.r_[0, flags.astype(np.int8), 0])
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    out = []
    for s, e in zip(starts, ends, strict=True):
        # split runs that cross a device boundary
        cut = np.flatnonzero(device[s + 1 : e + 1] != device[s:e]) + s
        bounds = [s, *(c + 1 for c in cut)], [*cut, e]
        out.extend(zip(*bounds, strict=True))
    return out


def score(flags: np.ndarray, labels: np.ndarray, device: np.ndarray) -> dict[str, float]:
    tp = int((flags & labels).sum())
    p = tp / max(int(flags.sum()), 1)
    r = tp / max(int(labels.sum()), 1)
    events = episodes(labels, device)
    caught, early = 0, 0.0
    for s, e in events:
        hits = np.flatnonzero(flags[s : e + 1])
        if len(hits):
            caught += 1
            early += 1 / (1 + hits[0])
    flagged = episodes(flags, device)
    false_eps = sum(1 for s, e in flagged if not labels[s : e + 1].any())
    ep_p = (len(flagged) - false_eps) / max(len(flagged), 1)
    ep_r = caught / max(len(events), 1)
    return {
        "P": p,
        "R": r,
        "F1": 2 * p * r / max(p + r, 1e-12),
        "event P": ep_p,
        "event R": ep_r,
        "event F1": 2 * ep_p * ep_r / max(ep_p + ep_r, 1e-12),
        "early": early / max(len(events), 1),
    }


def telemetry_quality(quick: bool) -> pd.DataFrame:
    sql = "select * from iot_telemetry" + (" where ts < '2025-10-01'" if quick else "")
    wide = connect().query(sql + " order by device_id, ts").df()
    long = wide.melt(id_vars=["ts", "device_id", "is_fault"], value_vars=METRICS, var_name="metric")
    long = long.sort_values(["device_id", "metric", "ts"], kind="stable").reset_index(drop=True)
    labels = wide.is_fault.to_numpy()
    device = wide.device_id.to_numpy()

    def per_row(long_flags: np.ndarray) -> np.ndarray:
        frame = long[["device_id", "ts"]].assign(f=long_flags)
        any_flag = frame.groupby(["device_id", "ts"], sort=True).f.any()
        return any_flag.reindex(pd.MultiIndex.from_arrays([wide.device_id, wide.ts])).to_numpy()

    rows = {"rolling z-score baseline": per_row(rolling_zscore_baseline(long))}
    for method in ["zscore", "seasonal", "level_shift", "stuck", "auto"]:
        out = detect_anomalies(long, time="ts", value="value", by=["device_id", "metric"], method=method)
        rows[method] = per_row(out.is_anomaly.to_numpy())
    rows["iforest (rows, 3 metrics, top 1 %)"] = detect_anomalies(
        wide, value=METRICS, method="iforest", threshold=0.99
    ).is_anomaly.to_numpy()
    return pd.DataFrame({name: score(flags, labels, device) for name, flags in rows.items()}).T


def fraud_quality() -> pd.DataFrame:
    wh = connect()
    tx = wh.query("select * from transactions").df()
    customers = wh.query("select * from customers").df()
    located = location_fraud(tx, customers).assign(log_amount=lambda t: np.log10(t.amount))
    amount = detect_anomalies(located, time="ts", value="log_amount", by="customer_id", method="zscore")
    baseline = located.groupby("customer_id").log_amount.transform(
        lambda v: (
            (v - v.shift(1).rolling(48, min_periods=12).mean()).abs() > 3 * v.shift(1).rolling(48, min_periods=12).std()
        )
    )
    rows = {}
    for name, flags, labels in [
        ("location_fraud vs location fraud", located.is_location_fraud, tx.fraud_type == "location"),
        ("zscore on log amount vs amount fraud", amount.is_anomaly, tx.fraud_type == "amount"),
        ("rolling z baseline vs amount fraud", baseline, tx.fraud_type == "amount"),
        ("either rule vs any fraud", located.is_location_fraud | amount.is_anomaly, tx.is_fraud),
    ]:
        f, lab = np.asarray(flags, bool), np.asarray(labels, bool)
        tp = (f & lab).sum()
        p, r = tp / max(f.sum(), 1), tp / max(lab.sum(), 1)
        rows[name] = {"P": p, "R": r, "F1": 2 * p * r / max(p + r, 1e-12)}
    return pd.DataFrame(rows).T


def throughput(points: int) -> None:
    rng = np.random.default_rng(0)
    n_series, batch = 100, 10_000
    frame = pd.DataFrame(
        {
            "ts": np.repeat(pd.date_range("2025-01-01", periods=points // n_series, freq="min"), n_series),
            "device": np.tile([f"d{i}" for i in range(n_series)], points // n_series),
            "value": rng.normal(size=points),
        }
    )
    for method in ["zscore", "auto"]:
        det = StreamingDetector("value", by="device", time="ts", method=method)
        start = time.perf_counter()
        for i in range(0, len(frame), batch):
            det.update(frame.iloc[i : i + batch])
        elapsed = time.perf_counter() - start
        print(
            f"  {method:8} {len(frame) / elapsed:12,.0f} points/s   state {det.memory_bytes() / n_series:,.0f} "
            f"bytes per series (same after 10x more points: bounded by the window)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    pd.set_option("display.width", 160)
    pd.set_option("display.float_format", "{:.3f}".format)
    print("IoT telemetry (demo data, labelled faults); point, event and early-detection scores")
    print(telemetry_quality(args.quick).to_string())
    if not args.quick:
        print("\nCard fraud (demo data, labelled)")
        print(fraud_quality().to_string())
    print("\nStreaming detector throughput (one core, batches of 10,000, 100 series)")
    throughput(100_000 if args.quick else 1_000_000)


if __name__ == "__main__":
    main()
