"""Optional installs: a feature whose extra is missing says, in one line, which one to install.

``pip install codex-jupyter`` is the core (magics, the embedded warehouse,
analytics, maps on the offline basemap, ``sim://`` streams). Real services and
heavy parts are extras named for what they add; :data:`EXTRAS` is the one
table of which import each needs, used by the code below every feature and by
``codex-jupyter doctor``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from codex_jupyter.errors import MissingExtra

#: extra -> (the module its feature imports, what the feature is, in words a user knows)
EXTRAS: dict[str, tuple[str, str]] = {
    "snowflake": ("snowflake.connector", "Snowflake connections"),
    "jupysql": ("sql", "%sql / %sqlplot on the same connection"),
    "kafka": ("kafka", "kafka:// streams"),
    "kinesis": ("boto3", "kinesis:// streams"),
    "mqtt": ("paho.mqtt.client", "mqtt:// streams"),
    "routing": ("ortools", "route planning (plan_route)"),
    "dashboards": ("voila", "codex-jupyter demo (the dashboards in Voila)"),
    # also nbconvert and playwright: require("report", "playwright")
    "report": ("papermill", "codex-jupyter report (HTML and PDF reports)"),
    "jobs": ("papermill", "headless notebook runs (POST /codex/api/jobs)"),
    # also pyjwt (Tableau tokens): require("bi", "jwt")
    "bi": ("looker_sdk", "Tableau embedding and Looker (%tableau_embed, %looker)"),
    "text": ("yake", "text insights (keywords with YAKE, entities with spaCy)"),
}


def require(extra: str, module: str | None = None) -> ModuleType:
    """Import what ``extra`` provides (or ``module`` of it), or raise :class:`MissingExtra` naming the extra.

    Only a missing top-level package counts as a missing extra: an error
    inside an installed package is a real bug and is raised as it is.
    """
    needed, feature = EXTRAS[extra]
    name = module or needed
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        if exc.name is not None and exc.name.split(".")[0] != name.split(".")[0]:
            raise
        raise MissingExtra(feature, extra, name.split(".")[0]) from None


def installed(extra: str) -> bool:
    """Whether ``extra``'s module can be found, without importing it."""
    import importlib.util

    try:
        return importlib.util.find_spec(EXTRAS[extra][0]) is not None
    except ModuleNotFoundError:
        return False
