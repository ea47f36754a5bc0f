"""Dashboard building blocks: charts that render in Voila, a grid that reflows on a phone, and a filter-driven explorer.

Why these exist:

- :func:`chart` shows a plotly figure inside an ``Output`` widget. A plain
  figure at a cell's top level is drawn by jupyterlab-plotly's mime renderer,
  which afterwards caches a PNG with ``model.setData``; Voila's top-level
  output models have no ``setData``, so every such figure logs
  ``r.setData is not a function`` in the reader's console. Inside an
  ``Output`` widget the figure gets JupyterLab's full output model. (A
  ``FigureWidget`` would also avoid it, but each one syncs plotly.js itself,
  about 4.5 MB per chart, as its anywidget module.)
- :func:`grid` lays items out in as many columns of at least ``min_width``
  as fit: two or three side by side at 1280 px, one under another at 390 px.
- :class:`Explorer` is "a dropdown wired to a re-query": the notebook passes
  ``fetch`` (value -> frame, e.g. a parameterised warehouse query) and the
  views (frame, value -> chart, table or cards); every view follows the filter,
  and the reader sees "Loading ..." while the data is on its way. Widgets never
  open a connection themselves: the data comes through ``fetch``.
"""

from __future__ import annotations

import logging
import textwrap
from collections.abc import Callable, Sequence
from html import escape
from typing import Any

import ipywidgets as widgets
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from codex_jupyter.errors import InputError

log = logging.getLogger(__name__)

#: One view of the explorer's data: (frame, filter value) -> a figure, a widget or anything with ``_repr_html_``.
View = Callable[[pd.DataFrame, Any], Any]


#: Chart titles start at the figure's left edge in 15 px type (a centred title is cut off on a phone).
TITLE_STYLE = {"x": 0.01, "xref": "container", "xanchor": "left", "font": {"size": 15}}


def chart(fig: go.Figure, height: int | None = None) -> widgets.Output:
    """``fig`` in a widget that fills its column's width, in the dashboards' one style (``plotly_white``).

    See the module docstring for why an ``Output`` widget and not the plain figure.
    """
    out = chart_box()
    out.outputs = (chart_output(fig, height),)
    return out


def chart_box() -> widgets.Output:
    """The ``Output`` a chart is drawn in: as wide as its column, and allowed to shrink with it on a phone."""
    out = widgets.Output(layout=widgets.Layout(width="100%", min_width="0"))
    out.add_class("codex-chart")
    return out


def chart_output(fig: go.Figure, height: int | None = None) -> dict[str, Any]:
    """``fig`` styled as the dashboards' charts (its title broken to fit a phone, drawn to its column's width), as
    the display output of a :func:`chart_box` (which a view redrawing from another thread sets directly)."""
    fig = go.Figure(fig)
    if height:
        fig.update_layout(height=height)
    lines = _title_lines(fig.layout.title.text or "")
    top = 44 + 20 * len(lines)
    if lines:  # from the chart's top-left corner down (plotly stacks a title's extra lines downwards)
        # A top-anchored title of several lines starts about 20 px above its pad: 30 keeps its first line inside.
        fig.update_layout(
            title={
                **TITLE_STYLE,
                "text": "<br>".join(lines),
                "y": 1,
                "yref": "container",
                "yanchor": "top",
                "pad": {"t": 30},
            }
        )
        legend = fig.layout.legend
        if legend.orientation == "h" and (legend.y or 0) >= 1 and fig.layout.height:
            # A legend above the plot goes under the title, not across its last line or the first subplot's title.
            below_title = 20 + 20 * len(lines)
            fig.update_layout(legend={"yref": "container", "y": 1 - below_title / fig.layout.height, "yanchor": "top"})
            top += 28
    fig.update_layout(autosize=True, margin={"l": 50, "r": 20, "t": top, "b": 40}, template="plotly_white")
    bundle = pio.renderers["plotly_mimetype"].to_mimebundle(fig.to_dict())  # JSON-ready, with or without a kernel
    # Not plotly's "responsive" mode: it sizes the chart's container to 100 % of a parent that has no height of its
    # own in a widget box, so in Voila every chart of an explorer's views was drawn into a 0 px box (invisible,
    # though its SVG existed). autosize still fills the column's width when the chart is drawn.
    bundle["application/vnd.plotly.v1+json"]["config"] = {"displaylogo": False}
    title = " ".join(lines) or "chart"
    return {"output_type": "display_data", "data": {**bundle, "text/plain": f"<{title}>"}, "metadata": {}}


#: Characters per title line: a 15 px plotly title this long fits a phone's 390 px screen (less the margins).
TITLE_WIDTH = 38


def _title_lines(title: str) -> list[str]:
    """A long title broken into lines of at most :data:`TITLE_WIDTH` characters (SVG text never wraps by itself).

    A title that already carries its own ``<br>`` breaks is kept as its author broke it.
    """
    if "<br" in title.lower():
        return title.split("<br>")
    return textwrap.wrap(title, TITLE_WIDTH, break_long_words=False)


def as_widget(item: Any) -> widgets.Widget:
    """A figure, widget, or object with ``_repr_html_`` (KPI cards, tables) as a widget a grid can hold."""
    if isinstance(item, widgets.Widget):
        return item
    if isinstance(item, go.Figure):
        return chart(item)
    if hasattr(item, "_repr_html_"):
        return widgets.HTML(item._repr_html_(), layout=widgets.Layout(min_width="0", overflow="auto"))
    return widgets.HTML(f"<pre>{escape(repr(item))}</pre>")


def wide(item: Any) -> widgets.VBox:
    """``item`` on a row of its own, the page's full width, among an :class:`Explorer`'s views: KPI cards, a tall chart.

    A row of its own rather than a CSS grid span: Voila drew widgets without the ``grid_column`` of their layout.
    """
    box = widgets.VBox([as_widget(item)], layout=widgets.Layout(width="100%", min_width="0"))
    box.add_class("codex-wide")
    return box


def _rows(items: Sequence[widgets.Widget], min_width: str) -> tuple[widgets.Widget, ...]:
    """Runs of ordinary items as grids, each :func:`wide` item as a row of its own, in order."""
    rows: list[widgets.Widget] = []
    run: list[widgets.Widget] = []
    for item in items:
        if "codex-wide" in item._dom_classes:
            rows += [grid(*run, min_width=min_width)] if run else []
            rows.append(item)
            run = []
        else:
            run.append(item)
    return (*rows, *([grid(*run, min_width=min_width)] if run else []))


def _columns(min_width: str) -> str:
    """CSS grid columns: as many of at least ``min_width`` as fit, one when the screen is narrower."""
    return f"repeat(auto-fit, minmax(min({min_width}, 100%), 1fr))"


def grid(*items: Any, min_width: str = "360px") -> widgets.Box | GridHTML:
    """Items side by side in as many columns of at least ``min_width`` as the page allows (one on a phone).

    Items that are all HTML (tables, KPI cards) give plain HTML, not widgets: nothing for a page to fetch from
    the kernel, so it shows in Voila however long the cells before it ran, and in reports and nbval as it is.
    """
    if not any(isinstance(i, widgets.Widget | go.Figure) for i in items) and all(
        hasattr(i, "_repr_html_") for i in items
    ):
        return GridHTML(items, min_width)
    return widgets.Box(
        [as_widget(i) for i in items],
        layout=widgets.Layout(
            display="grid",
            grid_template_columns=_columns(min_width),
            grid_gap="12px",
            width="100%",
        ),
    )


class GridHTML:
    """:func:`grid` of HTML items: a CSS grid with the same columns as the widget one."""

    def __init__(self, items: Sequence[Any], min_width: str) -> None:
        self.items, self.min_width = list(items), min_width

    def __repr__(self) -> str:
        return "\n\n".join(repr(i) for i in self.items)

    def _repr_html_(self) -> str:
        cells = "".join(f"<div style='min-width:0;overflow:auto'>{i._repr_html_()}</div>" for i in self.items)
        style = f"display:grid;grid-template-columns:{_columns(self.min_width)};gap:12px"
        return f"<div class='codex-grid' style='{style}'>{cells}</div>"


class Explorer(widgets.VBox):
    """A filter (dropdown) that re-fetches data and redraws every view; "Loading ..." while it fetches.

    ``Explorer(["GB", "US"], fetch=lambda c: wh.query(SQL, {"c": c}).df(), views=[bar, table], value="US")``
    """

    def __init__(
        self,
        options: Sequence[Any],
        fetch: Callable[[Any], pd.DataFrame],
        views: Sequence[View],
        *,
        value: Any = None,
        description: str = "",
        min_width: str = "360px",
    ) -> None:
        if not options:
            raise InputError("Explorer needs at least one option to filter by")
        if not views:
            raise InputError("Explorer needs at least one view: a function (frame, value) -> chart or table")
        self._fetch, self._views, self._min_width = fetch, list(views), min_width
        self.filter = widgets.Dropdown(
            options=list(options), value=options[0] if value is None else value, description=description
        )
        self.status = widgets.HTML("", layout=widgets.Layout(margin="0 0 0 12px"))
        self.body = widgets.VBox(layout=widgets.Layout(width="100%", grid_gap="12px"))
        self.views: tuple[widgets.Widget, ...] = ()
        controls = widgets.HBox(
            [self.filter, self.status], layout=widgets.Layout(flex_flow="row wrap", align_items="center")
        )
        super().__init__([controls, self.body], layout=widgets.Layout(width="100%"))
        self.add_class("codex-explorer")
        self.filter.observe(self._on_filter, names="value")
        self.show(self.filter.value)

    def _on_filter(self, change: dict[str, Any]) -> None:
        self.show(change["new"])

    def show(self, value: Any) -> None:
        """Fetch the data for ``value`` and redraw every view; errors are shown, not swallowed."""
        self.filter.disabled = True
        self.status.value = "<span class='codex-loading' style='color:#5a6478'>Loading …</span>"
        try:
            frame = self._fetch(value)
            self.views = tuple(as_widget(view(frame, value)) for view in self._views)
            self.body.children = _rows(self.views, self._min_width)
            self.status.value = ""
        except Exception as exc:  # a callback's error would otherwise vanish with the widget message
            log.exception("explorer view failed for %r", value)
            self.status.value = (
                f"<span style='color:#b00020'>Could not load {escape(str(value))}: {escape(str(exc))}</span>"
            )
        finally:
            self.filter.disabled = False
