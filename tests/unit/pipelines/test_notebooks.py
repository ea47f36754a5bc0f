"""A notebook's ``parameters`` cell declares what a run may set, with the types of its defaults."""

from __future__ import annotations

import pytest

from codex_jupyter.errors import InputError
from codex_jupyter.pipelines import notebooks


def _notebook(source: str, tags: list[str] | None = None) -> dict:
    return {"cells": [{"cell_type": "code", "metadata": {"tags": tags or ["parameters"]}, "source": source}]}


def test_each_assignment_of_the_parameters_cell_is_a_parameter_typed_by_its_default() -> None:
    found = notebooks.parameters(
        _notebook('country = "GB"\nmin_amount = 2000\nratio = 0.5\nloud = False\ntags = ["a"]\nlimits = {}\nx = None')
    )
    assert {name: p.type for name, p in found.items()} == {
        "country": "str",
        "min_amount": "int",
        "ratio": "float",
        "loud": "bool",
        "tags": "list",
        "limits": "dict",
        "x": "any",
    }
    assert found["min_amount"].default == 2000


def test_an_annotation_declares_the_type_and_a_computed_default_takes_any_value() -> None:
    found = notebooks.parameters(_notebook("threshold: float = 3\nstart = today() - 7"))
    assert (found["threshold"].type, found["start"].type) == ("float", "any")


def test_only_the_cell_tagged_parameters_counts() -> None:
    assert notebooks.parameters(_notebook("x = 1", tags=["other"])) == {}


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ({"colour": "red"}, "no parameter 'colour'; its parameters are: country, min_amount"),
        ({"min_amount": "2000"}, "takes a int (default 2000), not str '2000'"),
        ({"min_amount": True}, "not bool True"),
        ({"country": 44}, "takes a str"),
        ("country=GB", "a JSON object"),
    ],
)
def test_unknown_names_and_wrong_types_are_refused_in_one_line(given: object, says: str) -> None:
    declared = notebooks.parameters(_notebook('country = "GB"\nmin_amount = 2000'))
    with pytest.raises(InputError) as err:
        notebooks.check_parameters("analytics.ipynb", declared, given)
    assert says in str(err.value) and "\n" not in str(err.value)


def test_a_float_parameter_takes_a_whole_number() -> None:
    declared = notebooks.parameters(_notebook("ratio = 0.5"))
    assert notebooks.check_parameters("n.ipynb", declared, {"ratio": 2}) == {"ratio": 2}


def test_a_notebook_without_a_parameters_cell_takes_none() -> None:
    assert notebooks.check_parameters("maps.ipynb", {}, {}) == {}
    with pytest.raises(InputError, match=r"maps\.ipynb takes no parameters"):
        notebooks.check_parameters("maps.ipynb", {}, {"x": 1})


def test_the_curated_analytics_and_forecasting_notebooks_declare_their_parameters() -> None:
    root = notebooks.curated_dir()
    analytics = notebooks.parameters(notebooks.read(notebooks.find(root, "analytics")))
    forecasting = notebooks.parameters(notebooks.read(notebooks.find(root, "forecasting.ipynb")))
    assert {n: (p.type, p.default) for n, p in analytics.items()} == {
        "year": ("int", 2025),
        "country": ("str", "US"),
        "min_amount": ("int", 2000),
    }
    assert {n: (p.type, p.default) for n, p in forecasting.items()} == {
        "horizon": ("int", 28),
        "calibration_end": ("str", "2025-07-01"),
        "clv_weeks": ("int", 52),
        "branch": ("str", "All"),
    }


@pytest.mark.parametrize("name", ["nope", "../notebooks/analytics", "/etc/passwd", "analytics.ipynb/"])
def test_only_a_listed_notebook_name_is_found(name: str) -> None:
    with pytest.raises(notebooks.NotebookNotFound, match=r"analytics\.ipynb"):
        notebooks.find(notebooks.curated_dir(), name)
