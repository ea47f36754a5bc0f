"""Small notebooks the server tests run as jobs: quick, and each doing one thing a real notebook may do."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

NOTEBOOKS = {
    # parameters of each JSON type, and output that shows what the run received
    "echo": [
        ('word = "hi"\ntimes = 2\nratio = 0.5\nloud: bool = False', ["parameters"]),
        ("message = (word * times).upper() if loud else word * times\nprint(f'{message} at {ratio:.2f}')", []),
    ],
    # the kernel itself dies
    "crash": [("import os\n\nos._exit(3)", [])],
    # an error in a cell
    "fails": [('raise ValueError("the input was empty")', [])],
    # never ends: writes its kernel's pid first, so a test can see the kernel is gone after the timeout
    "hangs": [("import os, time\n\nopen('kernel.pid', 'w').write(str(os.getpid()))\ntime.sleep(3600)", [])],
    # what a dashboard shows: a plotly figure (as data) and a widget
    "chart": [
        ("import ipywidgets\nimport plotly.express as px\n\npx.bar(x=['north', 'south'], y=[3, 5], title='Sales')", []),
        ("ipywidgets.IntSlider(value=7, description='Weeks')", []),
    ],
    # no parameters cell at all
    "plain": [("print('no parameters here')", [])],
}


def write_notebooks(folder: Path) -> Path:
    """Write :data:`NOTEBOOKS` into ``folder`` as ``NAME.ipynb`` and return ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, cells in NOTEBOOKS.items():
        nb = new_notebook(cells=[new_markdown_cell(f"# {name}")])
        nb.cells += [new_code_cell(source, metadata={"tags": tags} if tags else {}) for source, tags in cells]
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, folder / f"{name}.ipynb")
    return folder
