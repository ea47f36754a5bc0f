"""What a BI dashboard can show: is Tableau set up with a view to embed, is Looker set up with a dashboard to read?

Cheap checks only (settings, no network): a dashboard decides which sections to draw before any call, and a
reader of an unconfigured one gets one line per service saying what to set, instead of a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass

from codex_jupyter import config
from codex_jupyter.errors import ConfigError


@dataclass(frozen=True)
class BiStatus:
    """The view and dashboard to show, and what is missing for each (``""`` when it can be shown)."""

    tableau_view_url: str
    looker_dashboard: str
    tableau_problem: str
    looker_problem: str

    @property
    def tableau_ready(self) -> bool:
        return not self.tableau_problem

    @property
    def looker_ready(self) -> bool:
        return not self.looker_problem

    @property
    def problems(self) -> list[str]:
        """One line per service that cannot be shown, saying what to set."""
        return [p for p in (self.tableau_problem, self.looker_problem) if p]


def bi_status(tableau_view_url: str = "", looker_dashboard: str = "") -> BiStatus:
    """Check Tableau and Looker settings; empty arguments fall back to ``TABLEAU_VIEW_URL`` and ``LOOKER_DASHBOARD``."""
    env = config.environment()
    view_url = tableau_view_url or env.get("TABLEAU_VIEW_URL", "")
    board = str(looker_dashboard or env.get("LOOKER_DASHBOARD", ""))
    try:
        config.tableau_settings()
        tableau = "" if view_url else "Tableau is configured: set TABLEAU_VIEW_URL to a view's link (Share > Copy Link)"
    except ConfigError as exc:
        tableau = f"{exc}; then TABLEAU_USER and TABLEAU_VIEW_URL (a view's link)"
    if not config.looker_may_be_configured():
        looker = (
            "Looker is not configured: put a looker.ini beside this notebook or set LOOKERSDK_BASE_URL, "
            "LOOKERSDK_CLIENT_ID and LOOKERSDK_CLIENT_SECRET; then LOOKER_DASHBOARD (a dashboard id) shows its tiles "
            "here, and %looker look 42 -o df brings a Look in as a DataFrame"
        )
    else:
        looker = "" if board else "Looker is configured: set LOOKER_DASHBOARD to a dashboard id to show its tiles"
    return BiStatus(view_url, board, tableau, looker)
