"""``%iot_tail``: a live view of a stream that never blocks the kernel."""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from traitlets import Float, Int
from traitlets.config import Configurable

from codex_jupyter.magics.arguments import parse_line

_PUBLISH_FLAGS = {"--max-records": "max_records", "--key": "key", "-o": "out", "--out": "out"}
_FLAGS = {
    "--fields": "fields",
    "--window": "window",
    "--detector": "detector",
    "--duration": "duration",
    "--max-records": "max_records",
    "--stop": "stop",
    "-o": "out",
    "--out": "out",
}
DETECTORS = ("auto", "zscore", "seasonal", "level_shift", "stuck", "none")


@magics_class
class IotMagic(Magics, Configurable):
    """Tail Kafka, Kinesis, MQTT or the simulated fleet; ``%config IotMagic.refresh_s = 1`` slows redraws."""

    refresh_s = Float(0.5, config=True, help="Seconds between redraws of the live view.")
    devices = Int(4, config=True, help="Devices drawn in the live chart (those with the most alerts first).")

    def __init__(self, shell: Any) -> None:
        Configurable.__init__(self, config=shell.config)
        Magics.__init__(self, shell=shell)
        shell.configurables.append(self)

    @magic_arguments()
    @argument("url", nargs="?", help="sim://fleet?..., kafka://host:port/topic, kinesis://stream, mqtt://host/topic")
    @argument("--fields", help="Column mapping, e.g. ts=timestamp,device=deviceId,value=payload.value")
    @argument("--window", type=int, default=500, help="Rows kept per device (default 500).")
    @argument("--detector", default="auto", help=f"Streaming detector: {', '.join(DETECTORS)}.")
    @argument("--duration", type=float, help="Stop after this many seconds.")
    @argument("--max-records", type=int, help="Stop after this many records.")
    @argument("--stop", action="store_true", help="Stop the running tails.")
    @argument("-o", "--out", help="Also store the handle in this variable.")
    @line_magic("iot_tail")
    def iot_tail(self, line: str) -> Any:
        """Start a live tail and show it; returns the handle (``.df()``, ``.anomalies()``, ``.stop()`` ...)."""
        from codex_jupyter.pipelines.tail import stop_all, tail
        from codex_jupyter.sources.streams import StreamConfigError

        args = parse_line(self.iot_tail, line, _FLAGS)
        if args.stop:
            stopped = stop_all()
            return f"stopped {stopped} tail(s)"
        if not args.url:
            raise UsageError("give a stream URL, e.g. %iot_tail sim://fleet?devices=20&rate=500 --duration 30")
        if args.detector not in DETECTORS:
            raise UsageError(f"unknown --detector {args.detector!r}; use one of {', '.join(DETECTORS)}")
        if args.out is not None and not args.out.isidentifier():
            raise UsageError(f"-o needs a Python variable name, not {args.out!r}")
        try:
            handle = tail(
                args.url,
                fields=args.fields,
                window=args.window,
                detector=args.detector,
                duration=args.duration,
                max_records=args.max_records,
            )
        except StreamConfigError as exc:
            raise UsageError(str(exc)) from None
        from IPython.display import display

        from codex_jupyter.widgets.stream import LiveTailView

        display(LiveTailView(handle, devices=self.devices, refresh_s=self.refresh_s))
        if args.out:
            self.shell.user_ns[args.out] = handle
        return handle

    @magic_arguments()
    @argument("source", help="Where records come from, e.g. sim://fleet?devices=20&seed=7")
    @argument("target", help="Where they go: kafka://host:port/topic, kinesis://stream?..., mqtt://host:port/topic")
    @argument("--max-records", type=int, default=10_000, help="Records to send (default 10,000).")
    @argument("--key", default="deviceId", help="Field used as the message key / partition key.")
    @argument("-o", "--out", help="Also store the publish report in this variable.")
    @line_magic("iot_publish")
    def iot_publish(self, line: str) -> Any:
        """Copy records from one stream (usually the simulator) to a broker; returns the publish report."""
        from codex_jupyter.pipelines.replay import replay
        from codex_jupyter.sources.streams import StreamConfigError, StreamUnavailable

        args = parse_line(self.iot_publish, line, _PUBLISH_FLAGS)
        if args.max_records <= 0:
            raise UsageError("--max-records must be a positive number")
        try:
            report = replay(args.source, args.target, max_records=args.max_records, key=args.key)
        except (StreamConfigError, StreamUnavailable) as exc:
            raise UsageError(str(exc)) from None
        if args.out:
            self.shell.user_ns[args.out] = report
        return report
