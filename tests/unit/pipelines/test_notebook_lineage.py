"""Notebook lineage: %%snowflake cells and SQL written into Python cells, read without running anything."""

from __future__ import annotations

import json
from pathlib import Path

from codex_jupyter.pipelines.lineage import notebook_lineage


def _notebook(path: Path, *cells: str) -> Path:
    body = [{"cell_type": "code", "metadata": {}, "source": c, "outputs": [], "execution_count": None} for c in cells]
    path.write_text(json.dumps({"cells": body, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path


def test_python_cells_count_their_literal_query_and_write_calls_and_magics_do_not_break_parsing(
    tmp_path: Path,
) -> None:
    nb = _notebook(
        tmp_path / "dash.ipynb",
        "%load_ext codex_jupyter\nwh = codex_jupyter.connect()",
        "rows = wh.query('''SELECT b.city FROM branches b JOIN daily_sales s USING (branch_id)''').df()",
        "%%snowflake -c fake\nSELECT * FROM customers",
        "sql = 'SELECT 1 FROM hidden'\nwh.query(sql)\nwh.write(rows, 'branch_cities', mode='replace')",
        "x = %iot_tail sim://fleet\nprint('no SQL here')",
    )
    found = notebook_lineage(nb)
    assert found["reads"] == ["branches", "daily_sales", "customers"]  # "hidden" is built at run time: not followed
    assert found["writes"] == ["branch_cities"]
    assert [(c["cell"], c["connection"]) for c in found["cells"]] == [(1, None), (2, "fake"), (3, None)]


def test_a_cell_that_is_not_python_is_skipped_not_an_error(tmp_path: Path) -> None:
    nb = _notebook(tmp_path / "odd.ipynb", "def broken(:\n    pass", "wh.query('SELECT * FROM feedback')")
    assert notebook_lineage(nb)["reads"] == ["feedback"]
