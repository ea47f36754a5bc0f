"""Dashboard parts: charts as widgets, a reflowing grid, and the filter-driven explorer."""

from __future__ import annotations

import ipywidgets as widgets
import pandas as pd
import plotly.express as px
import pytest

from codex_jupyter.errors import InputError
from codex_jupyter.widgets.dashboard import TITLE_WIDTH, Explorer, chart, grid, wide
from codex_jupyter.widgets.kpi import KpiCards


def test_chart_is_an_output_widget_holding_the_plotly_figure() -> None:
    out = chart(px.bar(x=["a", "b"], y=[1, 2], title="Sales"), height=300)
    assert isinstance(out, widgets.Output)  # not a top-level plotly mime output (Voila's setData error)
    (shown,) = out.outputs
    figure = shown["data"]["application/vnd.plotly.v1+json"]
    assert figure["layout"]["height"] == 300 and figure["layout"]["title"]["text"] == "Sales"
    assert figure["data"][0]["type"] == "bar" and shown["data"]["text/plain"] == "<Sales>"


def test_a_long_chart_title_is_broken_into_lines_a_phone_can_show_and_the_margin_makes_room() -> None:
    title = "Products sold per day in the six largest branches: history, forecast, 80 % / 95 % intervals"
    (shown,) = chart(px.bar(x=["a"], y=[1], title=title)).outputs
    layout = shown["data"]["application/vnd.plotly.v1+json"]["layout"]
    lines = layout["title"]["text"].split("<br>")
    assert " ".join(lines) == title and len(lines) == 3 and all(len(line) <= TITLE_WIDTH for line in lines)
    assert layout["margin"]["t"] == 104 and shown["data"]["text/plain"] == f"<{title}>"
    (short,) = chart(px.bar(x=["a"], y=[1], title="Sales")).outputs
    assert short["data"]["application/vnd.plotly.v1+json"]["layout"]["margin"]["t"] == 64


def test_a_legend_above_the_plot_moves_under_a_two_line_title_and_the_margin_grows_for_it() -> None:
    fig = px.line(x=[1, 2], y=[1, 2], title="Vibration: the four hvac devices with the most alerts", height=500)
    fig.update_layout(legend={"orientation": "h", "y": 1.02, "yanchor": "bottom"})
    (shown,) = chart(fig).outputs
    layout = shown["data"]["application/vnd.plotly.v1+json"]["layout"]
    assert layout["title"]["text"].count("<br>") == 1
    # the legend's top sits 60 px below the figure's top: under both title lines, above the plot (t = 84 + 28)
    assert layout["legend"]["yref"] == "container" and layout["legend"]["yanchor"] == "top"
    assert layout["legend"]["y"] == pytest.approx(1 - 60 / 500) and layout["margin"]["t"] == 112
    (below,) = chart(px.line(x=[1, 2], y=[1, 2], title="Sales", height=300)).outputs
    assert "yref" not in below["data"]["application/vnd.plotly.v1+json"]["layout"].get("legend", {})


def test_a_wide_view_gets_a_row_of_its_own_and_the_others_share_grids() -> None:
    views = [
        lambda rows, v: wide(KpiCards({"Customers": 6000})),
        lambda rows, v: KpiCards({"A": 1}),
        lambda rows, v: KpiCards({"B": 2}),
        lambda rows, v: wide(px.line(x=[1, 2], y=[1, 2])),
    ]
    explorer = Explorer(["x"], fetch=lambda v: pd.DataFrame(), views=views)
    kinds = [type(row).__name__ for row in explorer.body.children]
    assert kinds == ["VBox", "Box", "VBox"] and len(explorer.body.children[1].children) == 2
    assert "6,000" in explorer.views[0].children[0].value and len(explorer.views) == 4


def test_grid_wraps_figures_and_html_objects_and_reflows_by_min_width() -> None:
    box = grid(px.line(x=[1, 2], y=[1, 2]), KpiCards({"Customers": 6000}), min_width="300px")
    assert "auto-fit" in box.layout.grid_template_columns and "300px" in box.layout.grid_template_columns
    assert isinstance(box.children[0], widgets.Output) and "6,000" in box.children[1].value


def test_explorer_refetches_and_redraws_every_view_when_the_filter_changes() -> None:
    asked: list[str] = []

    def fetch(country: str) -> pd.DataFrame:
        asked.append(country)
        return pd.DataFrame({"city": [f"{country}-1", f"{country}-2"], "revenue": [1, 2]})

    explorer = Explorer(
        ["GB", "US"],
        fetch=fetch,
        views=[lambda rows, c: px.bar(rows, x="city", y="revenue", title=c), lambda rows, c: KpiCards({"Cities": 2})],
        value="US",
    )
    assert asked == ["US"] and len(explorer.views) == 2
    explorer.filter.value = "GB"
    assert asked == ["US", "GB"] and not explorer.filter.disabled and explorer.status.value == ""
    figure = explorer.views[0].outputs[0]["data"]["application/vnd.plotly.v1+json"]
    assert figure["layout"]["title"]["text"] == "GB" and list(figure["data"][0]["x"]) == ["GB-1", "GB-2"]


def test_explorer_shows_a_failed_fetch_to_the_reader() -> None:
    def fetch(country: str) -> pd.DataFrame:
        if country == "XX":
            raise RuntimeError("warehouse unreachable")
        return pd.DataFrame({"x": [1]})

    explorer = Explorer(["GB", "XX"], fetch=fetch, views=[lambda rows, c: KpiCards({"Rows": len(rows)})])
    explorer.filter.value = "XX"
    assert "warehouse unreachable" in explorer.status.value and not explorer.filter.disabled


def test_explorer_needs_options_and_views() -> None:
    with pytest.raises(InputError, match="option"):
        Explorer([], fetch=lambda v: pd.DataFrame(), views=[lambda r, v: r])
    with pytest.raises(InputError, match="view"):
        Explorer(["a"], fetch=lambda v: pd.DataFrame(), views=[])


def test_a_grid_of_html_items_is_plain_html_with_the_same_columns() -> None:
    tables = grid(KpiCards({"Customers": 6000}), KpiCards({"Branches": 40}), min_width="420px")
    html = tables._repr_html_()
    assert not hasattr(tables, "layout")  # no widget: nothing a page must fetch from the kernel
    assert "repeat(auto-fit, minmax(min(420px, 100%), 1fr))" in html and "6,000" in html and "40" in html
