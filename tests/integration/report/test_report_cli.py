"""``codex-jupyter report`` for real: a kernel runs the notebook, Chromium opens the HTML and prints the PDF.

The HTML is opened offline (every request must stay on the page: file, data or blob URLs) to show it is
self-contained: the plotly charts, the ipywidget, the anywidget view and the ipyleaflet map all draw from what
the file holds. A secret in the environment and a parameter only the code uses must not reach the report.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest
from chromium import launch_chromium

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
FIXTURE = Path(__file__).with_name("fixture_report.ipynb")
ARTIFACTS = ROOT / "artifacts"
ENV_SECRET = "env-s3cret-Pa55word"
CODE_ONLY = "param-kept-in-code-9f2c"


def _report(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The command as a user runs it, with this tree's ``codex_jupyter`` in the CLI and in the kernel."""
    environ = {**os.environ, **(env or {})}
    environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    cmd = [sys.executable, "-m", "codex_jupyter.cli", "report", *args]
    return subprocess.run(cmd, env=environ, capture_output=True, text=True, timeout=900, check=False)


@pytest.fixture(scope="module")
def html_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    out = tmp_path_factory.mktemp("report") / "fixture.html"
    done = _report(
        str(FIXTURE),
        *("--param", "title=Q3 review", "-p", "points=7", "-p", f"note={CODE_ONLY}", "-o", str(out)),
        env={"SNOWFLAKE_PASSWORD": ENV_SECRET, "LOOKERSDK_CLIENT_SECRET": ENV_SECRET},
    )
    assert done.returncode == 0, done.stderr
    return out, done


def _open_offline(path: Path) -> dict[str, Any]:
    """What Chromium shows of ``path`` once its widgets drew, with every error and off-page request it saw."""
    from playwright.sync_api import sync_playwright

    from codex_jupyter.pipelines.report import _RENDERED

    errors: list[str] = []
    remote: list[str] = []
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
        page.on("console", lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None)
        page.on(
            "request", lambda r: remote.append(r.url) if not r.url.startswith(("file:", "data:", "blob:")) else None
        )
        page.goto(path.as_uri())
        page.wait_for_function(_RENDERED, timeout=120_000)
        seen = page.evaluate(
            """() => ({
              code: [...document.querySelectorAll('.jp-CodeCell .jp-InputArea, .jp-InputPrompt, .jp-OutputPrompt')]
                .filter((e) => getComputedStyle(e).display !== 'none').length,  // Output widgets keep hidden prompts
              title: document.querySelector('#report-title')?.textContent,
              counter: [...document.querySelectorAll('.fixture-counter')].map((e) => e.textContent),
              slider: [...document.querySelectorAll('.widget-slider .widget-readout')].map((e) => e.textContent),
              map_paths: document.querySelectorAll('.leaflet-container .leaflet-overlay-pane path').length,
              charts: document.querySelectorAll('.plotly-graph-div').length,
              traces: document.querySelectorAll('.plotly-graph-div .scatterlayer .trace path.js-line').length,
              modebars: document.querySelectorAll('.plotly-graph-div .modebar').length,
              squashed: [...document.querySelectorAll('.plotly-graph-div')].filter((d) => Math.abs(
                d.querySelector('svg.main-svg').getBoundingClientRect().height - d.getBoundingClientRect().height
              ) > 2).length,
              icons: document.querySelectorAll('.jupyter-button i.fa-search').length,
            })"""
        )
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"report-{path.stem}.png"), full_page=True)
        browser.close()
    return {**seen, "errors": errors, "remote": remote}


def test_the_html_report_has_no_code_and_its_charts_and_widgets_draw_offline(html_report) -> None:
    path, done = html_report
    seen = _open_offline(path)
    assert seen["errors"] == [] and seen["remote"] == []
    assert seen["code"] == 0
    assert seen["title"] == "Q3 review"  # the parameters reached the kernel with their types
    assert seen["counter"] == ["count is 7"]  # an anywidget view, from its ESM in the saved state
    assert seen["slider"] == ["7"] and seen["icons"] == 1  # ipywidgets from the saved state, icon font inline
    assert seen["map_paths"] >= 1  # the ipyleaflet map drew its GeoJSON layer
    # interactive plotly charts: three in cells, two inside widgets (a dashboard grid), each at its box's full size
    assert seen["charts"] == 5 and seen["traces"] == 5 and seen["modebars"] == 5
    assert seen["squashed"] == 0
    assert "Executing" in done.stderr and f"wrote {path}" in done.stderr  # progress, then where it went


def test_the_html_report_holds_no_code_no_stderr_and_no_secret(html_report, secrets) -> None:
    path, done = html_report
    page = path.read_text(encoding="utf-8")
    assert "a diagnostic line for the author" not in page  # stderr is for the author
    assert "points = 12" not in page and 'print("a diagnostic' not in page  # no code, no parameters cell
    secrets.add(ENV_SECRET)
    secrets.add(CODE_ONLY)
    secrets.scan(path)
    secrets.scan(done.stdout + done.stderr, "the command's output")


def test_a_failing_cell_is_named_in_one_line(tmp_path: Path) -> None:
    done = _report(str(FIXTURE), "-q", "-p", "fail=yes", "-o", str(tmp_path / "r.html"))
    assert done.returncode == 2
    last = done.stderr.strip().splitlines()[-1]
    assert last == "codex-jupyter: cell 3 (import sys) raised ValueError: asked to fail after 12 points"
    assert "Traceback" not in done.stderr and not (tmp_path / "r.html").exists()


def _pdf_facts(raw: bytes) -> dict[str, Any]:
    """Pages, page size, images and vector drawing operators of a PDF as Chromium (Skia) writes it."""
    drawing = 0
    for stream in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", raw, re.S):
        try:
            content = zlib.decompress(stream.group(1))
        except zlib.error:
            continue  # a font or an image, not a page's content
        drawing += len(re.findall(rb"\s(?:c|l|re)\s", content))  # curves, lines and rectangles of paths
    sizes = re.findall(rb"/MediaBox\s*\[0 0 ([\d.]+) ([\d.]+)\]", raw)
    return {
        "pages": len(re.findall(rb"/Type\s*/Page\b(?!s)", raw)),
        "sizes": {(float(w), float(h)) for w, h in sizes},
        "images": len(re.findall(rb"/Subtype\s*/Image", raw)),
        "drawing": drawing,
    }


def test_the_forecasting_dashboard_prints_to_an_a4_pdf_with_vector_charts(tmp_path: Path) -> None:
    out = tmp_path / "forecasting.pdf"
    done = _report("forecasting", "-q", "-p", "horizon=14", "-o", str(out))
    assert done.returncode == 0, done.stderr
    raw = out.read_bytes()
    assert raw.startswith(b"%PDF-") and raw.rstrip().endswith(b"%%EOF")
    facts = _pdf_facts(raw)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "report-forecasting.pdf").write_bytes(raw)
    # A4 is 595 x 842 points; Chromium rounds it to whole hundredths of an inch (595.92 x 842.88).
    assert (
        facts["pages"] > 1
        and facts["sizes"]
        and all(abs(w - 595) <= 1 and abs(h - 842) <= 1 for w, h in facts["sizes"])
    )
    # Five plotly charts drawn as paths (hundreds of segments), not pasted in as pictures.
    assert facts["drawing"] > 500 and facts["images"] <= 1
