"""``DrillDown``: parent bars -> child bars -> child table over one frame, with linked filters, and its Tableau link.

One frame holds a row per child (a branch, with its country and figures). The view sums the value per parent
(country) for the first chart; picking a parent (its bar or the list) shows its children in the second chart and
the table; picking a child (its bar or the list) highlights its row. Other views follow through handlers
(:meth:`DrillDown.on_parent`, :meth:`DrillDown.on_child`) and drive it back with :meth:`DrillDown.show_only`.
:func:`link_tableau` wires an embedded Tableau view to it in both directions.

It renders the rows it is given and never queries: a dashboard fetches them once (a country's branches are a
few dozen rows, so filtering them here is cheaper than a warehouse round trip per click).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from copy import deepcopy
from typing import Any

import ipywidgets as widgets
import pandas as pd
import plotly.graph_objects as go

from codex_jupyter.errors import InputError
from codex_jupyter.widgets.dashboard import TITLE_STYLE, grid
from codex_jupyter.widgets.table import READER_TABLE_STYLE

_PICKED, _OTHER = "#1d4ed8", "#9db4e8"
_ALL = "(all)"


class DrillDown(widgets.VBox):
    """Drill from ``parent`` to its rows: ``DrillDown(branches, parent="country", label="city", key="branch_id",
    value="revenue")``; ``start`` is the parent picked first (the largest by default)."""

    def __init__(
        self,
        rows: pd.DataFrame,
        parent: str,
        label: str,
        key: str,
        value: str,
        start: str | None = None,
        title: str = "",
    ) -> None:
        missing = [c for c in (parent, label, key, value) if c not in rows.columns]
        if missing:
            raise InputError(f"the drill-down rows have no column {missing[0]!r}; columns: {', '.join(rows.columns)}")
        self.rows, self.parent_col, self.label_col, self.key_col, self.value_col = rows, parent, label, key, value
        self.totals = rows.groupby(parent, sort=False)[value].sum().sort_values(ascending=False)
        if start is not None and start not in self.totals.index:
            raise InputError(
                f"{start!r} is not a {parent} in the rows; pick one of {', '.join(map(str, self.totals.index))}"
            )
        self.title = title
        self._handlers: dict[str, list[Callable[[Any], None]]] = {"parent": [], "child": []}
        self._only: list[str] | None = None
        self.pick = widgets.Dropdown(options=list(self.totals.index), value=start or self.totals.index[0])
        self.pick.description = parent.replace("_", " ").capitalize()
        self.child = widgets.Dropdown(options=[(_ALL, "")], description=label.replace("_", " ").capitalize())
        # Figures are built whole: plotly's FigureWidget drops changes made before it is first shown (and see
        # _sync_drawn for changes made before a view renders). The branch chart is built first: built after the
        # country chart, its view on a Voila page opened while the notebook still ran never heard a change (4 of
        # 4 such pages: the table showed GB under the US bars for good, and a second pick did not help either, CI
        # failed twice on it), while built first it followed every pick (5 of 5). The order only moves the fault:
        # there the country chart's highlight can stay on the first country (seen once; README, known limit). The
        # cause is not known; tests/browser/test_bi_dashboard.py picks on such a page.
        first = self.pick.value
        self.children_chart = self._bars(go.Bar(**self._child_bars(first)), f"{title} in {first}")
        self.parents_chart = self._bars(
            go.Bar(x=list(self.totals.index), y=list(self.totals.values), marker_color=self._colours(first)),
            f"{title} by {parent}",
        )
        self.note = widgets.HTML(_dom_classes=["codex-drill-note"])
        self.table = widgets.Output(_dom_classes=["codex-drill-table"], layout=widgets.Layout(overflow="auto"))
        super().__init__(
            [
                widgets.HBox([self.pick, self.child], layout=widgets.Layout(flex_flow="row wrap")),
                grid(self.parents_chart, self.children_chart, min_width="340px"),
                self.note,
                self.table,
            ]
        )
        self.pick.observe(lambda change: self._parent_changed(change["new"]), names="value")
        self.child.observe(lambda change: self._child_changed(change["new"]), names="value")
        self.parents_chart.data[0].on_click(self._parent_clicked)
        self.children_chart.data[0].on_click(self._child_clicked)
        self._child_options(first)
        self._draw_table()

    # -- what others wire to --------------------------------------------------------------------------------------

    @property
    def parent(self) -> str:
        """The picked parent (a country)."""
        return self.pick.value

    @property
    def shown(self) -> pd.DataFrame:
        """The rows the table shows now: the parent's, or those picked elsewhere (:meth:`show_only`)."""
        if self._only is not None:
            return self.rows[self.rows[self.key_col].astype(str).isin(self._only)]
        return self.rows[self.rows[self.parent_col] == self.parent]

    def on_parent(self, handler: Callable[[str], None]) -> None:
        """``handler(parent)`` each time a parent is picked."""
        self._handlers["parent"].append(handler)

    def on_child(self, handler: Callable[[str | None], None]) -> None:
        """``handler(key)`` each time a child is picked (``None`` when the pick goes back to all)."""
        self._handlers["child"].append(handler)

    def show_only(self, keys: Iterable[Any]) -> None:
        """Show only the rows with these keys (a selection made in another view); no keys: the parent's rows again."""
        chosen = [str(k) for k in keys]
        self._only = chosen or None
        self._draw_table()

    # -- inside ---------------------------------------------------------------------------------------------------

    @staticmethod
    def _bars(bars: go.Bar, title: str) -> go.FigureWidget:
        layout = go.Layout(
            template="plotly_white",
            title={**TITLE_STYLE, "text": title.strip()},  # as chart() draws titles: "... by country" fits a phone
            height=320,
            autosize=True,  # the chart's column width: two side by side on a laptop, one under the other on a phone
            margin={"t": 48, "b": 60, "l": 60, "r": 10},
        )
        return go.FigureWidget(data=[bars], layout=layout)

    def _colours(self, parent: str) -> list[str]:
        return [_PICKED if p == parent else _OTHER for p in self.totals.index]

    def _child_bars(self, parent: str) -> dict[str, Any]:
        children = self.rows[self.rows[self.parent_col] == parent]
        return {
            "x": children[self.label_col].tolist(),
            "y": children[self.value_col].tolist(),
            "marker_color": _OTHER,
        }

    def _child_options(self, parent: str) -> None:
        children = self.rows[self.rows[self.parent_col] == parent]
        labels = children[self.label_col].astype(str) + " (" + children[self.key_col].astype(str) + ")"
        # back to (all): a picked child of the previous parent is unpicked
        self.child.options = [(_ALL, ""), *zip(labels, children[self.key_col].astype(str), strict=True)]

    def _parent_changed(self, parent: str) -> None:
        self._only = None
        with self.children_chart.batch_update():
            self.children_chart.data[0].update(self._child_bars(parent))
            self.children_chart.layout.title.text = f"{self.title} in {parent}".strip()
        self.parents_chart.data[0].marker.color = self._colours(parent)
        _sync_drawn(self.children_chart)
        _sync_drawn(self.parents_chart)
        self._child_options(parent)
        self._draw_table()
        for handler in self._handlers["parent"]:
            handler(parent)

    def _child_changed(self, key: str) -> None:
        self._draw_table()
        for handler in self._handlers["child"]:
            handler(key or None)

    def _parent_clicked(self, trace: Any, points: Any, state: Any) -> None:
        if points.point_inds:
            self.pick.value = self.totals.index[points.point_inds[0]]

    def _child_clicked(self, trace: Any, points: Any, state: Any) -> None:
        if points.point_inds:
            children = self.rows[self.rows[self.parent_col] == self.parent]
            self.child.value = str(children[self.key_col].iloc[points.point_inds[0]])

    def _draw_table(self) -> None:
        rows = self.shown
        picked = self.child.value or None
        if self._only is not None:
            self.note.value = f"{len(rows)} of the rows selected in the linked view (clear that selection for all)"
        else:
            self.note.value = ""
        numbers = {c: "{:,.0f}" for c in rows.select_dtypes("number").columns if c != self.key_col}
        style = rows.style.format(numbers).hide()
        if picked is not None:
            style = style.apply(
                lambda r: ["background:#fff3bf" if str(r[self.key_col]) == picked else "" for _ in r], axis=1
            )
        style = style.set_table_attributes("class='codex-drill-rows codex-reader-table'")
        # set, not captured: output captured in a callback is lost by nbclient runs and arrives late in Voila
        self.table.outputs = (
            {
                "output_type": "display_data",
                "data": {"text/html": READER_TABLE_STYLE + style.to_html(), "text/plain": repr(rows)},
                "metadata": {},
            },
        )


def _sync_drawn(figure: go.FigureWidget) -> None:
    """Make the figure's synced state what it shows now, so a view that renders later draws it.

    Why: plotly sends a FigureWidget's changes as one-off messages to the views that exist, and a view that
    renders later draws the synced state, which plotly sets only when the figure is built or displayed (a
    drill-down displayed again after a pick would draw the first country). The state is a few kB of bars. Why not
    new figures on each pick, drawn whole: shown into a laid-out page, plotly drew them 700 px wide, not their
    column's width.
    """
    figure._widget_data = deepcopy(figure._data)  # as plotly's own _repr_mimebundle_ does on display
    figure._widget_layout = deepcopy(figure._layout_obj._props)


def link_tableau(drill: DrillDown, view: Any, parent_field: str, key_field: str) -> Any:
    """Link a :class:`~codex_jupyter.widgets.tableau.TableauView` and a drill-down both ways; return the view.

    Picking a parent or a child filters the view (``view.apply_filter``; back to all clears the child filter);
    marks selected in the view show only their rows in the drill-down's table (by ``key_field``, which the
    view's marks must carry). Tableau applies a filter only once the view is interactive: the view queues it.
    """
    drill.on_parent(lambda parent: view.apply_filter(parent_field, [parent]))
    drill.on_child(lambda key: view.clear_filter(key_field) if key is None else view.apply_filter(key_field, [key]))
    view.on_select(lambda marks: drill.show_only(marks.get(key_field, [])))
    return view
