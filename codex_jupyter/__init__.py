"""codex-jupyter: notebook analytics, BI, IoT and map surfaces for JupyterLab and Voila.

``%load_ext codex_jupyter`` registers the magics. Every magic is also a plain
function; the most used are importable from here (``connect``, ...). Heavy
libraries load on first use, not on import, so loading the extension is fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from codex_jupyter import logs as _logs
from codex_jupyter._version import __version__

_logs.configure_from_environment()  # only when CODEX_LOG_FORMAT is set: a library leaves logging alone otherwise

if TYPE_CHECKING:
    from codex_jupyter.analytics.anomaly import StreamingDetector, detect_anomalies
    from codex_jupyter.analytics.clv import clv
    from codex_jupyter.analytics.forecast import backtest, forecast
    from codex_jupyter.analytics.location_fraud import location_fraud
    from codex_jupyter.analytics.spatial import nearest, plan_route
    from codex_jupyter.analytics.text import analyze_text
    from codex_jupyter.magics.tableau import tableau_view
    from codex_jupyter.pipelines.tail import tail
    from codex_jupyter.sources.geo.geocoding import geocode_frame, reverse_frame
    from codex_jupyter.sources.streams.publish import publish
    from codex_jupyter.sources.warehouse import connect
    from codex_jupyter.widgets.map import MapView

__all__ = [
    "MapView",
    "StreamingDetector",
    "__version__",
    "analyze_text",
    "backtest",
    "clv",
    "connect",
    "detect_anomalies",
    "forecast",
    "geocode_frame",
    "load_ipython_extension",
    "location_fraud",
    "nearest",
    "plan_route",
    "publish",
    "reverse_frame",
    "tableau_view",
    "tail",
]

_LAZY = {
    "connect": "codex_jupyter.sources.warehouse",
    "detect_anomalies": "codex_jupyter.analytics.anomaly",
    "StreamingDetector": "codex_jupyter.analytics.anomaly",
    "location_fraud": "codex_jupyter.analytics.location_fraud",
    "geocode_frame": "codex_jupyter.sources.geo.geocoding",
    "reverse_frame": "codex_jupyter.sources.geo.geocoding",
    "nearest": "codex_jupyter.analytics.spatial",
    "plan_route": "codex_jupyter.analytics.spatial",
    "tail": "codex_jupyter.pipelines.tail",
    "publish": "codex_jupyter.sources.streams.publish",
    "forecast": "codex_jupyter.analytics.forecast",
    "backtest": "codex_jupyter.analytics.forecast",
    "clv": "codex_jupyter.analytics.clv",
    "MapView": "codex_jupyter.widgets.map",
    "analyze_text": "codex_jupyter.analytics.text",
    "tableau_view": "codex_jupyter.magics.tableau",
}


def __getattr__(name: str) -> Any:
    """Import re-exported functions on first access (PEP 562)."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'codex_jupyter' has no attribute {name!r}")


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """Jupyter Server loads ``codex_jupyter.server`` (the ``/codex/api/`` handlers) when the extension is enabled.

    Naming the module here imports nothing: ``import codex_jupyter`` stays free of jupyter_server.
    """
    return [{"module": "codex_jupyter.server"}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where the built JupyterLab extension is, for ``jupyter labextension develop`` (wheels install it themselves)."""
    return [{"src": "labextension", "dest": "codex-jupyter"}]


def load_ipython_extension(ipython: Any) -> None:
    """Register every magic, and table/column completion in ``%%snowflake`` cells: ``%load_ext codex_jupyter``."""
    from codex_jupyter.magics import completion
    from codex_jupyter.magics.geocode import GeocodeMagic
    from codex_jupyter.magics.iot import IotMagic
    from codex_jupyter.magics.looker import LookerMagic
    from codex_jupyter.magics.snowflake import SnowflakeMagic
    from codex_jupyter.magics.tableau import TableauMagic
    from codex_jupyter.magics.text import TextMagic

    ipython.register_magics(SnowflakeMagic(ipython))
    ipython.register_magics(GeocodeMagic(ipython))
    ipython.register_magics(IotMagic(ipython))
    ipython.register_magics(LookerMagic(ipython))
    ipython.register_magics(TableauMagic(ipython))
    ipython.register_magics(TextMagic(ipython))
    completion.register(ipython)
