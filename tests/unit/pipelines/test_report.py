"""``codex-jupyter report`` before any kernel starts: parameters read with their types, and one-line errors."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from codex_jupyter import cli
from codex_jupyter.errors import InputError
from codex_jupyter.pipelines import notebooks, report

PARAMETERS = 'title = "Weekly"\npoints = 12\nscale = 1.5\nshow_map = True\nregions = ["EU"]\nwhen = str(2025)'


@pytest.fixture
def notebook(tmp_path: Path) -> Path:
    """A notebook whose parameters cell declares a str, an int, a float, a bool, a list and a non-literal."""
    path = tmp_path / "dash.ipynb"
    nb = new_notebook(cells=[new_markdown_cell("# Dash"), new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]})])
    nbformat.write(nb, path)
    return path


def _declared(path: Path) -> dict[str, notebooks.Parameter]:
    return notebooks.parameters(notebooks.read(path))


def test_values_are_read_as_the_type_of_each_default(notebook: Path) -> None:
    given = ["title=Q3 review", "points=7", "scale=2", "show_map=no", 'regions=["EU", "US"]', "when=2026-01"]
    assert report.parse_params(given, _declared(notebook), "dash.ipynb") == {
        "title": "Q3 review",
        "points": 7,
        "scale": 2.0,
        "show_map": False,
        "regions": ["EU", "US"],
        "when": "2026-01",
    }
    values = report.parse_params(["show_map=TRUE", "scale=0.25", "title=a=b", "when=3"], _declared(notebook), "d")
    assert values == {"show_map": True, "scale": 0.25, "title": "a=b", "when": 3}
    assert isinstance(values["scale"], float) and values["show_map"] is True


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        ("points=seven", "parameter 'points' of dash.ipynb takes a int (default 12), not 'seven'"),
        ("scale=fast", "parameter 'scale' of dash.ipynb takes a float (default 1.5), not 'fast'"),
        ("show_map=maybe", "parameter 'show_map' of dash.ipynb takes a bool (default True), not 'maybe'"),
        ("regions=EU", "parameter 'regions' of dash.ipynb takes a list (default ['EU']), not 'EU'"),
        ("regions={}", "parameter 'regions' of dash.ipynb takes a list (default ['EU']), not dict {}"),
        (
            "horizon=14",
            "dash.ipynb has no parameter 'horizon'; its parameters are: title, points, scale, show_map, regions, when",
        ),
        ("points", "--param takes name=value, not 'points'"),
        ("=3", "--param takes name=value, not '=3'"),
    ],
)
def test_a_wrong_parameter_is_one_line_naming_what_to_pass(notebook: Path, pair: str, message: str) -> None:
    with pytest.raises(InputError) as err:
        report.parse_params([pair], _declared(notebook), "dash.ipynb")
    assert str(err.value) == message


def test_a_notebook_without_a_parameters_cell_says_it_takes_none(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"^plain.ipynb has no parameter 'x'; its parameters are: none \(it has no"):
        report.parse_params(["x=1"], {}, "plain.ipynb")


def test_a_notebook_is_a_path_or_a_curated_dashboards_name(notebook: Path, tmp_path: Path) -> None:
    assert report.find_notebook(str(notebook)) == notebook
    assert report.find_notebook("forecasting").name == "forecasting.ipynb"
    assert report.find_notebook("forecasting.ipynb") == notebooks.curated_dir() / "forecasting.ipynb"
    with pytest.raises(notebooks.NotebookNotFound) as err:
        report.find_notebook(str(tmp_path / "missing.ipynb"))
    assert str(err.value).startswith(f"notebook not found: {tmp_path / 'missing.ipynb'} (no such file, and not a")
    assert "forecasting" in str(err.value) and "\n" not in str(err.value)
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(InputError, match=r"notes.txt is not a notebook \(.ipynb file\)$"):
        report.find_notebook(str(tmp_path / "notes.txt"))


def test_the_output_is_html_or_pdf_in_a_folder_that_exists(notebook: Path, tmp_path: Path) -> None:
    assert report.output_path(notebook, None) == Path("dash.html")
    assert report.output_path(notebook, str(tmp_path / "r.PDF")) == tmp_path / "r.PDF"
    with pytest.raises(InputError, match=r"^a report is .html or .pdf, not 'r.docx'; pass -o report.html"):
        report.output_path(notebook, str(tmp_path / "r.docx"))
    with pytest.raises(InputError, match=r"the folder .*nowhere does not exist"):
        report.output_path(notebook, str(tmp_path / "nowhere" / "r.html"))


def test_a_pdf_without_chromium_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report, "CHROMIUM_PATHS", ("/nonexistent/chromium", "no-such-chromium-binary"))
    with pytest.raises(report.ChromiumMissing) as err:
        report.chromium()
    assert "run `make system-deps`" in str(err.value) and "\n" not in str(err.value)


def test_the_cli_prints_one_line_and_exits_2_before_running_anything(
    notebook: Path, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli.main(["report", str(tmp_path / "nope.ipynb")]) == 2
    assert capsys.readouterr().err.startswith("codex-jupyter: notebook not found: ")
    assert cli.main(["report", str(notebook), "--param", "horizon=14"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "its parameters are: title, points" in err
    monkeypatch.setattr(report, "CHROMIUM_PATHS", ("/nonexistent/chromium",))
    assert cli.main(["report", str(notebook), "-o", str(tmp_path / "r.pdf")]) == 2
    err = capsys.readouterr().err
    assert "make system-deps" in err and "running" not in err
    assert not (tmp_path / "r.pdf").exists()


def test_plotly_figures_become_html_drawn_with_one_inline_plotly_js(notebook: Path) -> None:
    """A report draws plotly's JSON itself: the kernel's HTML renderers would load MathJax from a CDN."""
    executed = nbformat.read(notebook, as_version=4)
    figure = {"data": [{"type": "bar", "x": ["a", "b"], "y": [1, 2]}], "layout": {"title": {"text": "Bars"}}}
    for _ in range(2):
        executed.cells.append(
            new_code_cell("fig", outputs=[nbformat.v4.new_output("display_data", {report.PLOTLY_MIMETYPE: figure})])
        )
    executed.cells.append(
        new_code_cell("import sys", outputs=[nbformat.v4.new_output("stream", name="stderr", text="a warning\n")])
    )
    page = report.to_html(executed, "Dash")
    assert page.count("Plotly.newPlot(") == 2 and report.PLOTLY_MIMETYPE not in page
    assert page.count("<script>/**\n* plotly.js") <= 1 and "plotly.js v" in page
    assert "<script src=" not in page and not re.search(r"<link[^>]+href=.http", page)  # all inline
    assert "a warning" not in page and "import sys" not in page and PARAMETERS.splitlines()[0] not in page
    assert "<title>Dash</title>" in page and json.dumps("Bars")[1:-1] in page


def test_a_kernel_that_is_not_installed_is_named_in_one_line(notebook: Path) -> None:
    nb = nbformat.read(notebook, as_version=4)
    nb.metadata["kernelspec"] = {"name": "no-such-kernel", "display_name": "None", "language": "python"}
    nbformat.write(nb, notebook)
    with pytest.raises(report.ReportFailed) as err:
        report.execute(notebook, {}, progress=False)
    assert str(err.value) == (
        "dash.ipynb asks for the kernel 'no-such-kernel', which is not installed here; "
        "`jupyter kernelspec list` shows the kernels there are"
    )


def test_without_papermill_the_report_names_the_report_extra(notebook: Path, monkeypatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "papermill", None)  # as when the distribution is not installed
    assert cli.main(["report", str(notebook), "-q", "-o", str(notebook.with_suffix(".html"))]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.endswith("(papermill is not installed): pip install 'codex-jupyter[report]'")
