"""``%iot_tail``: a live view of a stream that never blocks the kernel; ``%iot_publish`` fills a broker.

IPython expands ``$name`` and ``{name}`` in these lines as in any line magic
(``%iot_tail sim://fleet?devices={n}``): a URL and options are not SQL.
Credentials belong in settings or ``CODEX_JUPYTER_*`` variables, never in the
line, which IPython keeps in its history.
"""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from traitlets import Float, Int

from codex_jupyter.analytics.anomaly.methods import STREAMING_METHODS
from codex_jupyter.magics.base import CodexMagics, user_errors

#: What ``--detector`` accepts: every streaming detector, or none.
DETECTORS = (*STREAMING_METHODS, "none")


@magics_class
class IotMagic(CodexMagics):
    """Tail Kafka, Kinesis, MQTT or the simulated fleet; ``%config IotMagic.refresh_s = 1`` slows redraws."""

    refresh_s = Float(0.5, config=True, help="Seconds between redraws of the live view.")
    devices = Int(4, config=True, help="Devices drawn in the live chart (those with the most alerts first).")

    @magic_arguments()
    @argument("url", nargs="?", help="sim://fleet?..., kafka://host:port/topic, kinesis://stream, mqtt://host/topic")
    @argument("--fields", help="Column mapping, e.g. ts=timestamp,device=deviceId,value=payload.value")
    @argument("--window", type=int, default=500, help="Rows kept per device (default 500).")
    @argument("--detector", default="auto", help=f"Streaming detector: {', '.join(DETECTORS)}.")
    @argument("--duration", type=float, help="Stop after this many seconds.")
    @argument("--max-records", type=int, help="Stop after this many records.")
    @argument(
        "--workers",
        type=int,
        help="Processes that score a stream faster than one core (default: one a core beyond the first; 0: none).",
    )
    @argument("--stop", action="store_true", help="Stop the running tails.")
    @argument("-o", "--out", help="Also store the handle in this variable.")
    @line_magic("iot_tail")
    def iot_tail(self, line: str) -> Any:
        """Start a live tail and show it; returns the handle (``.df()``, ``.anomalies()``, ``.stop()`` ...)."""
        from codex_jupyter.pipelines.tail import stop_all, tail

        args = self.parse(self.iot_tail, line)
        if args.stop:
            stopped = stop_all()
            return f"stopped {stopped} tail(s)"
        if not args.url:
            raise UsageError("give a stream URL, e.g. %iot_tail sim://fleet?devices=20&rate=500 --duration 30")
        if args.detector not in DETECTORS:
            raise UsageError(f"unknown --detector {args.detector!r}; use one of {', '.join(DETECTORS)}")
        with user_errors():
            handle = tail(
                args.url,
                fields=args.fields,
                window=args.window,
                detector=args.detector,
                duration=args.duration,
                max_records=args.max_records,
                workers=args.workers,
            )
        from IPython.display import display

        from codex_jupyter.widgets.stream import LiveTailView

        display(LiveTailView(handle, devices=self.devices, refresh_s=self.refresh_s))
        self.store(args.out, handle)
        return handle

    @magic_arguments()
    @argument("source", help="Where records come from, e.g. sim://fleet?devices=20&seed=7")
    @argument("target", help="Where they go: kafka://host:port/topic, kinesis://stream?..., mqtt://host:port/topic")
    @argument("--max-records", type=int, default=10_000, help="Records to send (default 10,000).")
    @argument("--key", default="device_id", help="Field used as the message key / partition key.")
    @argument("-o", "--out", help="Also store the publish report in this variable.")
    @line_magic("iot_publish")
    def iot_publish(self, line: str) -> Any:
        """Copy records from one stream (usually the simulator) to a broker; returns the publish report."""
        from codex_jupyter.pipelines.replay import replay

        args = self.parse(self.iot_publish, line)
        if args.max_records <= 0:
            raise UsageError("--max-records must be a positive number")
        with user_errors():
            report = replay(args.source, args.target, max_records=args.max_records, key=args.key)
        self.store(args.out, report)
        return report
