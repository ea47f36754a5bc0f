"""Reader tables: what a dashboard's reader sees of a frame (no index, formatted numbers, no developer hints)."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from codex_jupyter.errors import ColumnNotFound, InputError
from codex_jupyter.widgets.table import QueryFrame, ReaderTable, reader_html, reader_text


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "branch_id": ["BR002", "<b>x</b>"],
            "revenue": [1234567.891, 12.5],
            "customers": [6000, 12],
            "day": pd.to_datetime(["2025-01-01", "2025-01-02"]),
            "ts": pd.to_datetime(["2025-01-01 10:15:42", "2025-01-02 00:00:00"]),
            "flag": [True, False],
            "keywords": [["card", "app"], []],
        },
        index=[17, 42],
    )


def test_reader_html_has_no_index_and_formats_numbers_dates_and_lists() -> None:
    html = reader_html(_frame())
    assert ">17<" not in html and ">42<" not in html  # the index is not shown
    assert "1,234,567.89" in html and "6,000" in html and ">12.50<" in html
    assert ">2025-01-01<" in html and ">2025-01-01 10:15<" in html  # dates alone when all are midnight
    assert ">yes<" in html and "card, app" in html and "Branch id" in html
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html


def test_reader_table_counts_hidden_rows_in_words_a_reader_knows() -> None:
    table = ReaderTable(_frame(), max_rows=1, caption="Source: demo")
    assert "1 of 2 rows · Source: demo" in table._repr_html_()
    text = repr(table)
    assert "17" not in text.split("\n")[1] and "1,234,567.89" in text and text.endswith("1 of 2 rows\nSource: demo")


def test_query_frame_in_reader_mode_drops_timings_and_developer_hints() -> None:
    rows = pd.DataFrame({"city": ["London", "Paris", "Berlin"], "spend": [1500.0, 20.25, 3.0]})
    summary = "3 rows · 0.012 s · local DuckDB (embedded demo warehouse) · query id 01b2"
    author = QueryFrame.of(rows, summary, "select 1", displaylimit=2, source="local DuckDB")
    reader = QueryFrame.of(rows, summary, "select 1", displaylimit=2, source="local DuckDB", reader=True)
    assert "showing the first 2 rows; the full result is in _" in author._repr_html_()
    for shown in (reader._repr_html_(), repr(reader)):
        assert "the full result is in" not in shown and "0.012 s" not in shown and "query id" not in shown
        assert "2 of 3 rows" in shown and "Source: local DuckDB" in shown and "1,500.00" in shown
    assert "<th></th>" not in reader._repr_html_() and reader_text(rows).splitlines()[0].split() == ["City", "Spend"]


def test_formatted_columns_read_as_numbers_and_long_text_may_wrap() -> None:
    frame = pd.DataFrame(
        {
            "fault": ["spike", "drift"],
            "recall": [0.97, None],
            "surprise": [7.25, float("inf")],
            "reason": ["31.5 MADs above the usual 24.74 for now", ""],
        }
    )
    html = reader_html(frame, formats={"recall": "{:.0%}", "surprise": "{:.1f}"})
    assert "<td class='num' data-label='Recall'>97%</td>" in html  # a share reads as a number, from the right
    assert "<td class='num' data-label='Recall'></td>" in html  # missing stays blank, not "nan%"
    assert "<td class='num' data-label='Surprise'>7.2</td>" in html and ">inf</td>" in html
    assert "<td class='long' data-label='Reason'>31.5 MADs" in html
    # Short cells stay on one line (in reader tables only: the drill-down's table shares the class, not the rule).
    assert ".codex-table-wrap .codex-reader-table td:not(.long){white-space:nowrap}" in html
    assert "<td data-label='Fault'>spike</td>" in html
    assert "97%" in repr(ReaderTable(frame, formats={"recall": "{:.0%}"}))


def test_a_format_that_does_not_fit_its_column_names_both() -> None:
    with pytest.raises(InputError, match=r"format '\{:\.1f\}' does not fit column 'fault'.*numeric column"):
        reader_html(pd.DataFrame({"fault": ["spike"]}), formats={"fault": "{:.1f}"})
    with pytest.raises(ColumnNotFound, match=r"no column 'recal' in the table \(a column named in formats=\).*recall"):
        ReaderTable(pd.DataFrame({"recall": [0.5]}), formats={"recal": "{:.0%}"})
    with pytest.raises(InputError, match=r"formats\['recall'\] is '%.1f', not a format string"):
        reader_html(pd.DataFrame({"recall": [0.5]}), formats={"recall": "%.1f"})
    with pytest.raises(InputError, match=r"formats maps columns to format strings"):
        ReaderTable(pd.DataFrame({"recall": [0.5]}), formats=["recall"])  # type: ignore[arg-type]


def test_a_table_too_wide_for_a_phone_is_a_card_per_row_there_and_a_short_one_stays_a_table() -> None:
    alerts = pd.DataFrame(
        {
            "time": pd.to_datetime(["2025-12-29 09:00"]),
            "device": ["dev-0013"],
            "episode": ["ended 17:00:00 (8 h 00 min)"],
            "reason": ["temperature, vibration, humidity: 3 missing readings in a row (usually 1 in 461)"],
        }
    )
    wide, short = reader_html(alerts), reader_html(pd.DataFrame({"fault": ["spike"], "recall": ["97%"]}))
    marked = re.compile(r"class='codex-reader-table codex-cards-(\d+)'")
    wide_up_to, short_up_to = (int(marked.search(html)[1]) for html in (wide, short))
    # A phone (390 px) shows the alerts as cards, a laptop (1,280) as a table; the short table fits a phone as it is.
    assert 390 < wide_up_to < 1280 and short_up_to < 390
    assert f"@media (max-width:{wide_up_to}px){{table.codex-cards-{wide_up_to} thead" in wide
    assert f"table.codex-cards-{wide_up_to} td::before{{content:attr(data-label)" in wide  # each line names its column
    assert "<td data-label='Device'>dev-0013</td>" in wide


def test_the_width_a_table_needs_counts_capitals_wide_characters_and_words_that_cannot_wrap() -> None:
    def up_to(values: list[str]) -> int:
        html = reader_html(pd.DataFrame({"id": values}))
        return int(re.search(r"class='codex-reader-table codex-cards-(\d+)'", html)[1])

    assert up_to(["DEV-ABCDEFGHIJKLMNOPQRSTU"]) > up_to(["dev-abcdefghijklmnopqrstu"])  # 25 characters each
    assert up_to(["東京都千代田区丸の内一丁目"]) > up_to(["tokyo chiyoda"])
    url = "https://example.com/a/very/long/path/that/cannot/wrap/anywhere/at/all"
    assert up_to([url]) > up_to(["a long reason in words that wrap " * 3])
