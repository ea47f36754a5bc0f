"""``connect().write(frame, table, mode)`` on both warehouses: the local user database and Snowflake's write_pandas.

Snowflake runs on ``fakesnow.patch()``: the real connector API with fakesnow's
``write_pandas`` standing in for the Parquet upload and ``COPY INTO`` (fakesnow's
server mode has no stages). Each test writes to its own user database file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import fakesnow
import pandas as pd
import pytest

from codex_jupyter.sources.warehouse import WarehouseError, close_all, connect
from codex_jupyter.sources.warehouse.local import LocalWarehouse

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _own_user_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEX_JUPYTER_USER_DB", str(tmp_path / "user.duckdb"))


@pytest.fixture
def patched() -> Iterator[None]:
    with fakesnow.patch():
        yield


def insights(n: int = 3, start: int = 1) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "feedback_id": [f"F{i:05d}" for i in range(start, start + n)],
            "sentiment": [0.5, -0.25, 0.0][:n],
            "entities": [[("London", "GPE")], [], None][:n],
            "ts": pd.to_datetime(["2025-01-01", "2025-01-02", "2025-01-03"][:n]),
            "flag": [True, False, True][:n],
        }
    )


def test_local_write_appends_replaces_and_is_queryable_like_a_demo_table() -> None:
    wh = connect("local")
    assert wh.write(insights(), "feedback_insights", mode="replace") == 3
    assert wh.write(insights(2, start=4), "feedback_insights") == 2
    rows = wh.query("select * from feedback_insights order by feedback_id").df()
    assert rows.feedback_id.tolist() == ["F00001", "F00002", "F00003", "F00004", "F00005"]
    assert rows.entities.iloc[0] == '[["London", "GPE"]]' and pd.isna(rows.entities.iloc[2])
    joined = wh.query("select count(*) as n from feedback_insights i join feedback f using (feedback_id)").df()
    assert joined.n.iloc[0] == 5
    assert wh.write(insights(1), "feedback_insights", mode="replace") == 1
    assert wh.query("select count(*) as n from feedback_insights").df().n.iloc[0] == 1
    assert ("user_data", "feedback_insights") in set(zip(wh.tables().database, wh.tables().name, strict=True))


def test_local_writes_outlive_the_connection() -> None:
    connect("local").write(insights(), "forecasts_out")
    close_all()  # as when the kernel restarts
    again = LocalWarehouse()
    try:
        assert again.query("select count(*) as n from forecasts_out").df().n.iloc[0] == 3
    finally:
        again.close()


@pytest.mark.parametrize(
    ("frame", "table", "mode", "message"),
    [
        (pd.DataFrame({"select": [1]}), "t", "append", "column 'select' is a reserved SQL word"),
        (pd.DataFrame({"a b": [1]}), "t", "append", "column 'a b' is not a plain name"),
        (pd.DataFrame({"a": [1], "A": [2]}), "t", "append", "column 'A' appears twice"),
        (pd.DataFrame({"d": pd.to_timedelta([1], unit="s")}), "t", "append", "has type timedelta64"),
        (pd.DataFrame({"c": [1 + 2j]}), "t", "append", "has type complex128"),
        (pd.DataFrame({"o": [object()]}), "t", "append", "holds object values"),
        (pd.DataFrame({"m": [1, "x"]}), "t", "append", "mixes number and text values"),
        (pd.DataFrame({"a": [1]}), "feedback", "append", "'feedback' is a read-only demo table"),
        (pd.DataFrame({"a": [1]}), "x; drop table y", "append", "is not a plain name"),
        (pd.DataFrame({"a": [1]}), "t", "upsert", "mode 'upsert' is not one of append, replace"),
        (pd.Series([1], name="a"), "t", "append", "takes a pandas DataFrame, not Series"),
    ],
)
def test_local_bad_frames_get_one_line_and_write_nothing(frame: object, table: str, mode: str, message: str) -> None:
    wh = connect("local")
    with pytest.raises(WarehouseError, match=message) as info:
        wh.write(frame, table, mode=mode)  # type: ignore[arg-type]
    assert "\n" not in str(info.value)
    assert "t" not in set(wh.tables().name)


def test_local_append_with_other_columns_leaves_the_table_as_it_was() -> None:
    wh = connect("local")
    wh.write(insights(), "feedback_insights")
    with pytest.raises(WarehouseError, match="nothing was written"):
        wh.write(pd.DataFrame({"feedback_id": ["X"], "other": [1]}), "feedback_insights")
    assert wh.query("select count(*) as n from feedback_insights").df().n.iloc[0] == 3


def test_snowflake_write_goes_through_write_pandas_and_reads_back_unquoted(patched: None) -> None:
    wh = connect("fake")
    assert wh.kind == "snowflake"
    assert wh.write(insights(), "feedback_insights", mode="replace") == 3
    assert wh.write(insights(2, start=4), "feedback_insights", mode="append") == 2
    rows = wh.query("select feedback_id, sentiment, entities from feedback_insights order by feedback_id").df()
    assert rows.FEEDBACK_ID.tolist() == ["F00001", "F00002", "F00003", "F00004", "F00005"]
    assert rows.ENTITIES.iloc[0] == '[["London", "GPE"]]'
    assert wh.write(insights(1), "feedback_insights", mode="replace") == 1
    assert wh.query("select count(*) as n from feedback_insights").df().iloc[0, 0] == 1


def test_snowflake_bad_frame_writes_nothing(patched: None) -> None:
    wh = connect("fake")
    with pytest.raises(WarehouseError, match="reserved SQL word"):
        wh.write(pd.DataFrame({"order": [1]}), "bad_frame")
    with pytest.raises(WarehouseError, match=r"does not exist|no table"):
        wh.query("select * from bad_frame")


def test_snowflake_magic_reads_what_write_stored(patched: None) -> None:
    from IPython.core.interactiveshell import InteractiveShell

    connect("fake").write(insights(), "feedback_insights", mode="replace")
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "codex_jupyter")
    out = shell.run_cell_magic("snowflake", "-c fake", "select count(*) as n from feedback_insights")
    assert int(out.iloc[0, 0]) == 3
