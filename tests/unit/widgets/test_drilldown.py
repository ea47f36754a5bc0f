"""DrillDown in the kernel: picks drive the charts, the table and handlers; link_tableau wires a real TableauView."""

from __future__ import annotations

import pandas as pd
import pytest
from plotly.callbacks import Points

import codex_jupyter
from codex_jupyter.errors import InputError
from codex_jupyter.widgets.drilldown import DrillDown, link_tableau
from codex_jupyter.widgets.panels import FrameTiles, Notice

ROWS = pd.DataFrame(
    {
        "country": ["US", "US", "GB", "GB", "GB"],
        "branch_id": ["BR1", "BR2", "BR3", "BR4", "BR5"],
        "city": ["New York", "Austin", "London", "Leeds", "Bath"],
        "revenue": [10.0, 4.0, 6.0, 3.0, 1.0],
    }
)


def _drill() -> DrillDown:
    return DrillDown(ROWS, parent="country", label="city", key="branch_id", value="revenue", title="Revenue")


def test_picking_a_parent_and_a_child_updates_charts_table_and_handlers() -> None:
    drill, heard = _drill(), []
    drill.on_parent(lambda p: heard.append(("parent", p)))
    drill.on_child(lambda k: heard.append(("child", k)))
    assert drill.parent == "US" and list(drill.shown.branch_id) == ["BR1", "BR2"]  # the largest parent first
    assert drill.parents_chart.data[0].marker.color == ("#1d4ed8", "#9db4e8")
    drill.pick.value = "GB"
    assert list(drill.children_chart.data[0].x) == ["London", "Leeds", "Bath"]
    assert drill.children_chart.layout.title.text == "Revenue in GB"
    assert [v for _, v in drill.child.options] == ["", "BR3", "BR4", "BR5"]
    drill.child.value = "BR4"
    drill.pick.value = "US"  # a new parent unpicks the child
    assert heard == [("parent", "GB"), ("child", "BR4"), ("child", None), ("parent", "US")]


def test_a_chart_drawn_after_a_pick_shows_the_pick_and_bars_take_clicks() -> None:
    # A view that renders after the pick (the drill-down displayed again) draws the figure's synced state, not
    # the change messages sent before it existed.
    drill = _drill()
    drill.pick.value = "GB"
    children, parents = drill.children_chart.get_state(), drill.parents_chart.get_state()
    assert list(children["_widget_data"][0]["x"]) == ["London", "Leeds", "Bath"]
    assert children["_widget_layout"]["title"]["text"] == "Revenue in GB"
    assert list(parents["_widget_data"][0]["marker"]["color"]) == ["#9db4e8", "#1d4ed8"]
    drill.children_chart.data[0]._dispatch_on_click(Points(point_inds=[1], trace_name="", trace_index=0), None)
    assert drill.child.value == "BR4"
    drill.parents_chart.data[0]._dispatch_on_click(Points(point_inds=[0], trace_name="", trace_index=0), None)
    assert drill.parent == "US" and drill.child.value == ""


def test_show_only_filters_the_table_until_cleared() -> None:
    drill = _drill()
    drill.show_only(["BR3", "BR5"])
    assert list(drill.shown.branch_id) == ["BR3", "BR5"] and "2 of the rows" in drill.note.value
    drill.show_only([])
    assert list(drill.shown.branch_id) == ["BR1", "BR2"] and drill.note.value == ""


def test_bad_columns_and_start_are_one_line() -> None:
    with pytest.raises(InputError, match="no column 'sales'"):
        DrillDown(ROWS, parent="country", label="city", key="branch_id", value="sales")
    with pytest.raises(InputError, match="'FR' is not a country"):
        DrillDown(ROWS, parent="country", label="city", key="branch_id", value="revenue", start="FR")


def test_link_tableau_both_ways(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "TABLEAU_SERVER": "https://tableau.example.com",
        "TABLEAU_SITE": "bank",
        "TABLEAU_CLIENT_ID": "cid",
        "TABLEAU_SECRET_ID": "sid",
        "TABLEAU_SECRET_VALUE": "not-a-real-secret-0123456789-abcdef",
        "TABLEAU_USER": "ann@example.com",
    }.items():
        monkeypatch.setenv(name, value)
    drill = _drill()
    view = link_tableau(
        drill, codex_jupyter.tableau_view("https://tableau.example.com/#/site/bank/views/B/O"), "Country", "Branch ID"
    )
    sent: list[dict] = []
    view.send = sent.append
    drill.pick.value = "GB"
    drill.child.value = "BR3"
    drill.child.value = ""
    assert [(m["op"], m["field"], m.get("values")) for m in sent] == [
        ("apply_filter", "Country", ["GB"]),
        ("apply_filter", "Branch ID", ["BR3"]),
        ("clear_filter", "Branch ID", None),
    ]
    marks = [{"name": "B", "columns": ["Branch ID", "Sales"], "rows": [["BR4", 1.0]]}]
    view._on_message(view, {"type": "event", "name": "markselectionchanged", "detail": {"tables": marks}}, None)
    assert list(drill.shown.branch_id) == ["BR4"]


def test_notice_and_tiles_escape_and_show_nothing_when_empty() -> None:
    assert Notice([])._repr_html_() == ""
    assert "&lt;b&gt;" in Notice(["<b>set X</b>"])._repr_html_()
    html = FrameTiles({"By <region>": pd.DataFrame({"amount": [1520.5]})}, title="Sales")._repr_html_()
    assert "By &lt;region&gt;" in html and "1,520.50" in html


def test_the_table_is_set_as_output_data_so_runs_without_a_frontend_keep_it() -> None:
    drill = _drill()
    drill.pick.value = "GB"
    drill.child.value = "BR4"
    (shown,) = drill.table.outputs
    html = shown["data"]["text/html"]
    assert "Leeds" in html and "New York" not in html and "#fff3bf" in html
