"""What the BI dashboard checks before drawing, and Looker's json_bi results as typed DataFrames."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from codex_jupyter.sources.bi.looker import frame_from_json_bi
from codex_jupyter.sources.bi.status import bi_status

TABLEAU = {
    "TABLEAU_SERVER": "https://tableau.example.com",
    "TABLEAU_SITE": "bank",
    "TABLEAU_CLIENT_ID": "cid",
    "TABLEAU_SECRET_ID": "sid",
    "TABLEAU_SECRET_VALUE": "not-a-real-secret-0123456789-abcdef",
}


@pytest.fixture(autouse=True)
def clean(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)  # no looker.ini
    for name in [*TABLEAU, "TABLEAU_VIEW_URL", "LOOKERSDK_BASE_URL", "LOOKER_DASHBOARD"]:
        monkeypatch.delenv(name, raising=False)


def test_nothing_configured_names_what_to_set_for_each() -> None:
    status = bi_status()
    assert not status.tableau_ready and not status.looker_ready and len(status.problems) == 2
    assert status.tableau_problem.startswith("Tableau is not configured: set TABLEAU_SERVER")
    assert "LOOKERSDK_BASE_URL" in status.looker_problem


def test_configured_services_still_need_a_view_and_a_dashboard(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {**TABLEAU, "LOOKERSDK_BASE_URL": "https://looker.example.com"}.items():
        monkeypatch.setenv(name, value)
    status = bi_status()
    assert "set TABLEAU_VIEW_URL" in status.tableau_problem and "set LOOKER_DASHBOARD" in status.looker_problem
    monkeypatch.setenv("LOOKER_DASHBOARD", "7")
    status = bi_status("https://tableau.example.com/#/site/bank/views/B/O")
    assert status.tableau_ready and status.looker_ready and status.problems == [] and status.looker_dashboard == "7"
    assert "not-a-real-secret" not in repr(status)


def test_json_bi_numbers_dates_booleans_and_pivots_come_back_typed() -> None:
    """The JsonBi shape (metadata.fields by category, rows of {"value": ...} cells, pivoted measures by key)."""
    payload = {
        "metadata": {
            "fields": {
                "dimensions": [
                    {"name": "o.created_time", "type": "date_time", "category": "dimension"},
                    {"name": "o.week", "type": "date_week", "category": "dimension"},
                    {"name": "o.online", "type": "yesno", "category": "dimension"},
                    {"name": "o.zip", "type": "zipcode", "category": "dimension"},
                ],
                "measures": [{"name": "o.amount", "type": "sum", "category": "measure"}],
                "pivots": [{"name": "o.year", "type": "date_year", "category": "dimension"}],
                "table_calculations": [{"name": "share", "type": "number"}],
            },
            "has_totals": True,
        },
        "rows": [
            {
                "o.created_time": {"value": "2024-03-01 10:15:00"},
                "o.week": {"value": "2024-02-26"},
                "o.online": {"value": "Yes"},
                "o.zip": {"value": "02139"},
                "o.amount": {"2023": {"value": 10.5}, "2024": {"value": 12}},
                "share": {"value": 0.25},
            },
            {
                "o.created_time": {"value": "2024-03-02 08:00:00"},
                "o.week": {"value": "2024-02-26"},
                "o.online": {"value": "No"},
                "o.zip": {"value": "10001"},
                "o.amount": {"2023": {"value": None}, "2024": {"value": 3}},
                "share": {"value": 0.75},
            },
            {"o.amount": {"2023": {"value": 10.5}, "2024": {"value": 15}}},  # the totals row
        ],
    }
    df = frame_from_json_bi(json.dumps(payload))
    assert len(df) == 2
    assert df["o.created_time"].iloc[0] == pd.Timestamp("2024-03-01 10:15:00")
    assert pd.api.types.is_datetime64_any_dtype(df["o.week"])
    assert df["o.online"].tolist() == [True, False]
    assert df["o.zip"].tolist() == ["02139", "10001"]  # a string dimension keeps its leading zero
    assert df["o.amount|2023"].dtype == "float64" and pd.isna(df["o.amount|2023"].iloc[1])
    assert str(df["o.amount|2024"].dtype) == "Int64" and df["o.amount|2024"].sum() == 15
    assert df["share"].dtype == "float64"
