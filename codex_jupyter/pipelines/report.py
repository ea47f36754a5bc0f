"""One shareable report from a dashboard notebook: run it with parameters, keep what a reader sees, write HTML or PDF.

``codex-jupyter report`` is the front door; everything it does is here so a script can do the same:

- parameters arrive as ``name=value`` text and are read with the type the notebook's ``parameters`` cell
  declares (:func:`parse_params`); a name the cell does not declare is refused before any kernel starts;
- papermill executes the notebook (the parameters reach the kernel as values, never pasted into the notebook's
  own code); the kernel stores its widgets' state, and plotly renders to HTML with plotly.js inline, so charts
  need no server and no CDN;
- the HTML keeps outputs only: no code, no prompts, no warnings or logs written to stderr. Widgets render from
  their saved state through the Jupyter widgets HTML manager, inlined with RequireJS and with each widget module
  the state uses (anywidget, jupyter-leaflet, ...) from this install, so maps and charts stay interactive with no
  network. Nothing from the environment is written into it: only what the notebook displayed;
- a PDF is that HTML printed by headless Chromium (A4, margins) once every widget and chart has drawn, so plotly
  and Leaflet's SVG stay vectors.
"""

from __future__ import annotations

import ast
import base64
import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codex_jupyter.errors import CodexError, ConfigError, InputError
from codex_jupyter.extras import require
from codex_jupyter.pipelines import notebooks

#: The formats a report is written in, by the output file's suffix.
FORMATS = (".html", ".pdf")
#: Widget modules the HTML manager defines itself; any other module a widget state names is inlined.
_BUILT_IN_MODULES = ("@jupyter-widgets/base", "@jupyter-widgets/controls", "@jupyter-widgets/output")
#: The runtime js/build.mjs copies into the package (RequireJS and the widgets HTML manager).
_STATIC = Path(__file__).resolve().parents[1] / "widgets" / "static"
_TEMPLATES = Path(__file__).resolve().parent / "report_templates"
#: Where Debian installs Chromium (``make system-deps``); other systems' names are looked up on PATH.
CHROMIUM_PATHS = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
CHROMIUM_FLAGS = ("--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking")
#: A4 with 12 mm margins: the page is laid out at the printable width, so charts are sized for the paper.
PAGE_MARGIN_MM = 12
_PRINT_WIDTH_PX = round((210 - 2 * PAGE_MARGIN_MM) / 25.4 * 96)
#: Seconds the widgets and charts get to draw before printing.
RENDER_TIMEOUT = 120.0

PLOTLY_MIMETYPE = "application/vnd.plotly.v1+json"

_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


class ReportFailed(CodexError):
    """The notebook raised, or its kernel died, while the report ran: the message names the cell and the error."""


class ChromiumMissing(ConfigError):
    """A PDF report needs Chromium, which is not installed."""


@dataclass(frozen=True)
class Report:
    """What a run wrote: the file, and how long executing and rendering took (seconds)."""

    path: Path
    execute_seconds: float
    render_seconds: float


def find_notebook(name: str, curated: Path | None = None) -> Path:
    """``name`` as a path to a notebook, else one of the curated dashboards (``forecasting``); else a one-line error."""
    path = Path(name)
    if path.suffix == ".ipynb" and path.is_file():
        return path
    if path.is_dir() or (path.exists() and path.suffix != ".ipynb"):
        raise InputError(f"{name} is not a notebook (.ipynb file)")
    try:
        return notebooks.find(curated or notebooks.curated_dir(), path.name)
    except notebooks.NotebookNotFound:
        known = ", ".join(n.removesuffix(".ipynb") for n in notebooks.names(curated or notebooks.curated_dir()))
        raise notebooks.NotebookNotFound(
            f"notebook not found: {name} (no such file, and not a curated dashboard: {known or 'none'})"
        ) from None


def parse_params(pairs: Sequence[str], declared: dict[str, notebooks.Parameter], notebook: str) -> dict[str, Any]:
    """``name=value`` pairs as values of the types the ``parameters`` cell declares; unknown names are refused."""
    values: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise InputError(f"--param takes name=value, not {pair!r}")
        if name not in declared:
            known = ", ".join(declared) or "none (it has no cell tagged 'parameters')"
            raise InputError(f"{notebook} has no parameter {name!r}; its parameters are: {known}")
        values[name] = _typed(text, declared[name], notebook)
    return notebooks.check_parameters(notebook, declared, values)


def _typed(text: str, parameter: notebooks.Parameter, notebook: str) -> Any:
    """``text`` read as ``parameter``'s type: ``7`` is an int, ``0.5`` a float, ``yes``/``false`` bools, JSON lists."""
    kind = parameter.type
    try:
        if kind == "str":
            return text
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
        if kind == "bool":
            if text.strip().lower() in _TRUE + _FALSE:
                return text.strip().lower() in _TRUE
            raise ValueError(text)
        if kind in ("list", "dict"):
            return json.loads(text)
        return _any(text)
    except ValueError:
        raise InputError(
            f"parameter {parameter.name!r} of {notebook} takes a {kind} (default {parameter.default!r}), not {text!r}"
        ) from None


def _any(text: str) -> Any:
    """A parameter whose default is not a literal: a Python literal when it reads as one, else the text."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def output_path(notebook: Path, output: str | None) -> Path:
    """Where the report goes: ``output`` (``.html`` or ``.pdf``, which needs Chromium), by default ``NOTEBOOK.html``."""
    path = Path(output) if output else Path(notebook.stem + ".html")
    if path.suffix.lower() not in FORMATS:
        raise InputError(f"a report is .html or .pdf, not {path.name!r}; pass -o report.html or -o report.pdf")
    if not path.parent.is_dir():
        raise InputError(f"the folder {path.parent} does not exist; create it or pass -o with another path")
    if path.suffix.lower() == ".pdf":
        chromium()
    return path


def chromium() -> str:
    """The Chromium executable a PDF is printed with, or :class:`ChromiumMissing` saying how to install it."""
    for candidate in CHROMIUM_PATHS:
        found = shutil.which(candidate)
        if found:
            return found
    raise ChromiumMissing(
        "a PDF report needs Chromium, which is not installed: run `make system-deps` "
        "(Debian/Ubuntu: sudo apt-get install chromium), or write HTML with -o report.html"
    )


# -- executing --------------------------------------------------------------------------------------------------


def execute(path: Path, parameters: dict[str, Any], *, progress: bool = True) -> Any:
    """The notebook run top to bottom by papermill, with widget state stored; :class:`ReportFailed` on an error."""
    papermill = require("report", "papermill")
    from jupyter_client.kernelspec import NoSuchKernel
    from papermill.exceptions import PapermillExecutionError

    with plotly_as_data(), tempfile.TemporaryDirectory(prefix="codex-report-") as scratch:
        try:
            return papermill.execute_notebook(
                str(path),
                str(Path(scratch) / path.name),
                parameters=parameters,
                cwd=str(path.parent),
                progress_bar=progress,
                store_widget_state=True,
            )
        except PapermillExecutionError as exc:
            raise ReportFailed(_cell_error(exc)) from exc
        except NoSuchKernel as exc:
            raise ReportFailed(
                f"{path.name} asks for the kernel {exc.args[0]!r}, which is not installed here; "
                "`jupyter kernelspec list` shows the kernels there are"
            ) from exc
        except (RuntimeError, OSError) as exc:  # a kernel that died or did not start (nbclient's DeadKernelError)
            first = (str(exc).strip().splitlines() or [""])[0]
            raise ReportFailed(f"the kernel failed while running {path.name}: {type(exc).__name__}: {first}") from exc


def _cell_error(exc: Any) -> str:
    """``cell 4 (demand = forecast(...)) raised ValueError: ...`` from papermill's error."""
    lines = [line.strip() for line in str(exc.source).splitlines() if line.strip() and not line.startswith("#")]
    first = lines[0] if lines else ""
    shown = first if len(first) <= 60 else first[:57] + "..."
    message = (str(exc.evalue).strip().splitlines() or [""])[0]
    return f"cell {exc.exec_count} ({shown}) raised {exc.ename}: {message}"


@contextlib.contextmanager
def plotly_as_data() -> Iterator[None]:
    """Kernels started in the block display plotly figures as their JSON only (the report draws them).

    Other renderers add a CDN: plotly's HTML renderers always load MathJax from one. A kernel inherits this
    process's environment, and plotly reads ``PLOTLY_RENDERER`` when it is imported.
    """
    before = os.environ.get("PLOTLY_RENDERER")
    os.environ["PLOTLY_RENDERER"] = "plotly_mimetype"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("PLOTLY_RENDERER", None)
        else:
            os.environ["PLOTLY_RENDERER"] = before


# -- HTML -------------------------------------------------------------------------------------------------------


def to_html(executed: Any, title: str) -> str:
    """The executed notebook as one self-contained HTML page: outputs only, widgets rendering from their state."""
    require("report", "nbconvert")
    from nbconvert import HTMLExporter

    _drop_stderr(executed)
    charts = _draw_plotly(executed)
    executed.metadata["title"] = title
    exporter = HTMLExporter(
        template_name="codex_report",
        extra_template_basedirs=[str(_TEMPLATES)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    resources = {"codex": _runtime(executed.metadata.get("widgets"), charts)}
    body, _ = exporter.from_notebook_node(executed, resources=resources)
    return body


def _drop_stderr(executed: Any) -> None:
    """Warnings and log lines a cell wrote to stderr are for the notebook's author, not the report's reader."""
    for cell in executed.cells:
        if cell.get("cell_type") == "code":
            cell.outputs = [o for o in cell.outputs if not (o.output_type == "stream" and o.get("name") == "stderr")]


def _draw_plotly(executed: Any) -> int:
    """Each plotly figure's JSON as the HTML that draws it (plotly.js comes once, in the page's head); how many.

    Figures are found in cell outputs and in the saved state of Output widgets (the dashboards' ``chart()`` and
    ``grid()`` put them there, so Voila's output area is never asked to snapshot them).
    """
    outputs = [out for cell in executed.cells for out in cell.get("outputs", [])]
    state = executed.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    for model in state.get("state", {}).values():
        if model.get("model_name") == "OutputModel":
            outputs += model.get("state", {}).get("outputs", [])
    drawn = 0
    for out in outputs:
        figure = out.get("data", {}).get(PLOTLY_MIMETYPE)
        if figure is None:
            continue
        out["data"] = {"text/html": _figure_html(figure)}
        drawn += 1
    return drawn


def _figure_html(figure: Any) -> str:
    """The figure drawn at its own height (plotly's default, 450 px, when it names none): a chart in a grid cell
    or an Output widget has no parent height for plotly's "100%" to fill."""
    import plotly.io

    figure = dict(figure)
    layout = dict(figure.get("layout") or {})
    # a set height: autosized while its widget is still being laid out, plotly would measure a half-built page
    height = layout["height"] = layout.get("height") or 450
    figure["layout"] = layout
    return plotly.io.to_html(
        figure,
        include_plotlyjs=False,
        include_mathjax=False,
        full_html=False,
        validate=False,
        default_width="100%",
        default_height=f"{height}px",
        config={"responsive": True, "displaylogo": False},
    )


def _runtime(widgets: Any, charts: int) -> dict[str, str]:
    """The scripts a page needs, inline: plotly.js when it has ``charts``, the widget runtime for ``widgets``."""
    runtime = {}
    if charts:
        from plotly.offline import get_plotlyjs

        runtime["plotly"] = _script(get_plotlyjs())
    state = (widgets or {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    return {**runtime, **_widget_runtime(state)} if state else runtime


def _widget_runtime(state: dict[str, Any]) -> dict[str, str]:
    """RequireJS, the widgets HTML manager and the widget modules ``state`` names, found in this install."""
    missing = [p.name for p in (_STATIC / "report-require.js", _STATIC / "report-html-manager.js") if not p.is_file()]
    if missing:
        raise ConfigError(
            f"the report's widget runtime ({', '.join(missing)}) is missing from this install; "
            "run `make widgets-js` in the source tree, or reinstall codex-jupyter"
        )
    modules = sorted({m["model_module"] for m in state.values()} - set(_BUILT_IN_MODULES))
    paths = {name: _data_url(found) for name in modules if (found := _amd_module(name)) is not None}
    return {
        "requirejs": _script((_STATIC / "report-require.js").read_text(encoding="utf-8")),
        "config": f"require.config({json.dumps({'paths': paths})});",
        "manager": _script((_STATIC / "report-html-manager.js").read_text(encoding="utf-8")),
    }


def _amd_module(name: str) -> Path | None:
    """The AMD build a widget package installs for the classic notebook (``nbextensions/NAME/index.js``)."""
    from jupyter_core.paths import jupyter_path

    for folder in jupyter_path("nbextensions"):
        candidate = Path(folder) / name / "index.js"
        if candidate.is_file():
            return candidate
    return None


def _data_url(path: Path) -> str:
    """RequireJS loads a module from a ``data:`` URL as from a file (and adds no ``.js`` to it)."""
    return "data:text/javascript;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _script(code: str) -> str:
    """``code`` made safe inside ``<script>`` (``</script`` can only be in its strings, where ``<\\/`` is equal)."""
    return code.replace("</script", "<\\/script")


# -- PDF --------------------------------------------------------------------------------------------------------

#: True once every widget view has drawn into its area, every plotly chart has its SVG and every map its panes.
_RENDERED = """() => {
  const views = document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]');
  const drawn = [...views].every((s) => {
    const area = s.previousElementSibling;
    return area && area.classList.contains('widget-subarea') && area.childElementCount > 0;
  });
  // drawn, and at their box's size (a chart inside a widget is redrawn once its box settles: see the template)
  const charts = [...document.querySelectorAll('.plotly-graph-div')].every((d) => {
    const svg = d.querySelector('svg.main-svg');
    return svg && Math.abs(svg.getBoundingClientRect().height - d.getBoundingClientRect().height) <= 2;
  });
  const maps = [...document.querySelectorAll('.leaflet-container')].every((m) => m.querySelector('.leaflet-map-pane'));
  return drawn && charts && maps;
}"""


def to_pdf(html_path: Path, pdf_path: Path, timeout: float = RENDER_TIMEOUT) -> None:
    """Print ``html_path`` to ``pdf_path`` with headless Chromium once its widgets and charts have drawn."""
    executable = chromium()
    require("report", "playwright")
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    margin = f"{PAGE_MARGIN_MM}mm"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=list(CHROMIUM_FLAGS), headless=True)
        try:
            page = browser.new_page(viewport={"width": _PRINT_WIDTH_PX, "height": 1100})
            page.goto(html_path.resolve().as_uri(), wait_until="load")
            try:
                page.wait_for_function(_RENDERED, timeout=timeout * 1000)
            except PlaywrightError:
                raise ReportFailed(
                    f"the report's widgets and charts did not finish drawing within {timeout:.0f} s; "
                    "open the HTML report in a browser to see which one fails"
                ) from None
            page.pdf(
                path=str(pdf_path),
                format="A4",
                margin={"top": margin, "bottom": margin, "left": margin, "right": margin},
                print_background=True,
            )
        finally:
            browser.close()


# -- the whole run ----------------------------------------------------------------------------------------------


def build_report(
    notebook: Path, parameters: dict[str, Any], output: Path, *, progress: bool = True, timeout: float = RENDER_TIMEOUT
) -> Report:
    """Execute ``notebook`` with ``parameters`` and write the report to ``output`` (``.html`` or ``.pdf``)."""
    import time

    if output.suffix.lower() == ".pdf":
        chromium()  # before minutes of executing, not after
    started = time.perf_counter()
    executed = execute(notebook, parameters, progress=progress)
    executed_at = time.perf_counter()
    page = to_html(executed, notebooks.title(notebooks.read(notebook)) or notebook.stem)
    if output.suffix.lower() == ".html":
        output.write_text(page, encoding="utf-8")
    else:
        with tempfile.TemporaryDirectory(prefix="codex-report-") as scratch:
            html_path = Path(scratch) / f"{notebook.stem}.html"
            html_path.write_text(page, encoding="utf-8")
            to_pdf(html_path, output, timeout)
    return Report(output, executed_at - started, time.perf_counter() - executed_at)
