"""The whole pipeline on real brokers: ``%iot_publish`` fills a broker from the simulator, ``tail`` reads it back."""

from __future__ import annotations

import time

import pytest
from IPython.core.interactiveshell import InteractiveShell
from stream_brokers import KafkaBroker, Mosquitto

from codex_jupyter import tail


@pytest.fixture(scope="module")
def ip() -> InteractiveShell:
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "codex_jupyter")
    return shell


def test_publish_from_the_simulator_then_tail_kafka_with_the_detector(kafka: KafkaBroker, ip: InteractiveShell) -> None:
    kafka.create_topic("fleet-e2e", partitions=3)
    url = f"kafka://{kafka.bootstrap}/fleet-e2e"
    report = ip.run_line_magic("iot_publish", f"sim://fleet?devices=12&rate=0&seed=5 {url} --max-records 3000")
    assert report.sent == 3000 and report.failed == 0
    handle = tail(f"{url}?group=e2e&from=earliest", max_records=3000, duration=60)
    assert handle.wait(90)
    stats = handle.stats()
    assert stats["records"] == 3000 and stats["bad_records"] == 0, stats
    seen = handle.df()
    assert seen.device.nunique() == 12 and {"temperature", "vibration", "humidity", "anomaly_score"} <= set(seen)
    assert set(stats["lag"]) == {"fleet-e2e:0", "fleet-e2e:1", "fleet-e2e:2"} and sum(stats["lag"].values()) == 0


def test_mqtt_tail_keeps_bad_payloads_with_reasons(mosquitto: Mosquitto, ip: InteractiveShell) -> None:
    from codex_jupyter.sources.streams.publish import publish

    url = f"mqtt://127.0.0.1:{mosquitto.port}/branches/e2e?qos=1&client_id=e2e-tail"
    handle = tail(url, max_records=40, duration=30, detector="none")
    deadline = time.monotonic() + 20
    while handle.stats()["state"] != "running" and time.monotonic() < deadline:  # subscribed (SUBACK) first
        time.sleep(0.05)
    good = [{"ts": 1_735_689_600_000 + i * 60_000, "deviceId": "atm-1", "temperature": 20.0 + i % 4} for i in range(36)]
    bad = [b"{oops", b"[1, 2]", b'{"ts": 1, "deviceId": "atm-1", "temperature": "hot"}', b"\xff\xfe"]
    publish(good, f"mqtt://127.0.0.1:{mosquitto.port}/branches/e2e?qos=1")
    publish(bad, f"mqtt://127.0.0.1:{mosquitto.port}/branches/e2e?qos=1")
    assert handle.wait(40)
    assert handle.stats()["records"] == 40 and len(handle.df()) == 36
    reasons = handle.bad_records().reason.tolist()
    assert len(reasons) == 4 and "no numeric field (temperature='hot')" in reasons
    assert "not a JSON object (list)" in reasons and sum(r.startswith("not JSON") for r in reasons) == 2
    assert handle.stats()["elapsed_s"] < 20, handle.stats()  # ended by --max-records, not by --duration


def test_a_tail_survives_a_broker_restart_shows_reconnecting_and_loses_nothing(kafka: KafkaBroker) -> None:
    """Stop the broker in the middle of a tail and start it again: every produced record is seen."""
    from codex_jupyter.sources.streams.publish import publish

    kafka.create_topic("fleet-restart", partitions=3)
    url = f"kafka://{kafka.bootstrap}/fleet-restart"
    first = [{"ts": 1_735_689_600_000 + i * 1000, "deviceId": f"d{i % 4}", "v": float(i % 9)} for i in range(400)]
    second = [{"ts": 1_735_690_000_000 + i * 1000, "deviceId": f"d{i % 4}", "v": float(i % 9)} for i in range(400)]
    states: list[str] = []
    handle = tail(f"{url}?group=restart&from=earliest", max_records=800, duration=120, detector="none")
    handle.subscribe(lambda event: states.append(event.state))
    assert publish(first, url).sent == 400
    deadline = time.monotonic() + 30
    while handle.stats()["records"] < 400 and time.monotonic() < deadline:
        time.sleep(0.1)
    kafka.stop()
    try:
        deadline = time.monotonic() + 30
        while "reconnecting" not in states and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        kafka.start()
    assert publish(second, url).sent == 400
    assert handle.wait(90), handle.stats()
    stats = handle.stats()
    assert "reconnecting" in states and stats["reconnects"] >= 1
    assert stats["records"] >= 800  # at-least-once: duplicates are allowed, losses are not
    seen = handle.df()
    assert set(seen.ts.astype("int64") // 1_000_000) >= {r["ts"] for r in first + second}


def test_a_kafka_backlog_scored_with_a_worker_is_read_once_and_committed(kafka: KafkaBroker) -> None:
    """Workers score while the tail reads ahead; what the group committed is what was scored, nothing more."""
    import pandas as pd

    from codex_jupyter.sources.streams import open_stream
    from codex_jupyter.sources.streams.publish import publish

    kafka.create_topic("fleet-workers", partitions=3)
    url = f"kafka://{kafka.bootstrap}/fleet-workers"
    fleet = open_stream("sim://fleet?devices=20&rate=0&seed=9")
    assert publish(pd.DataFrame(fleet.poll(20_000, 0).columns), url, key="device_id").sent == 20_000
    handle = tail(f"{url}?group=workers&from=earliest", max_records=40_000, duration=150, batch_size=1_000, workers=1)
    deadline = time.monotonic() + 90
    while handle.stats()["workers"] == 0 and handle.running and time.monotonic() < deadline:
        time.sleep(0.1)  # the backlog is read in full batches, so a worker starts, and takes over once caught up
    assert handle.stats()["workers"] == 1, handle.stats()
    assert publish(pd.DataFrame(fleet.poll(20_000, 0).columns), url, key="device_id").sent == 20_000
    assert handle.wait(120), handle.stats()
    stats = handle.stats()
    assert stats["records"] == 40_000 and stats["bad_records"] == 0 and stats["anomalies"] > 0, stats
    assert sum(stats["lag"].values()) == 0 and stats["last_error"] == "", stats
    again = tail(f"{url}?group=workers&from=earliest", duration=4, workers=0)
    assert again.wait(30) and again.stats()["records"] == 0, again.stats()  # all 40,000 were committed
