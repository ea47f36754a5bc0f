"""A feature whose extra is missing says which extra to install, in one line; the core works without any."""

from __future__ import annotations

import sys

import pandas as pd
import pytest

from codex_jupyter import cli
from codex_jupyter.errors import CodexError, MissingExtra
from codex_jupyter.extras import EXTRAS, require


def _hide(monkeypatch: pytest.MonkeyPatch, *modules: str) -> None:
    """Make ``import name`` fail as it does when the distribution is not installed."""
    for name in modules:
        for loaded in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            monkeypatch.delitem(sys.modules, loaded)
        monkeypatch.setitem(sys.modules, name, None)


@pytest.mark.parametrize(
    ("hidden", "call", "extra"),
    [
        ("kafka", lambda: __import__("codex_jupyter").tail("kafka://127.0.0.1:9/t"), "kafka"),
        ("boto3", lambda: _open_kinesis(), "kinesis"),
        ("paho", lambda: __import__("codex_jupyter").tail("mqtt://127.0.0.1:9/t"), "mqtt"),
        ("kafka", lambda: __import__("codex_jupyter").publish([{"a": 1}], "kafka://127.0.0.1:9/t"), "kafka"),
        ("ortools", lambda: __import__("codex_jupyter").plan_route(_stops()), "routing"),
        ("snowflake", lambda: __import__("codex_jupyter").connect("prod"), "snowflake"),
    ],
)
def test_a_missing_extra_is_named_in_one_line(monkeypatch: pytest.MonkeyPatch, hidden, call, extra: str) -> None:
    _hide(monkeypatch, hidden)
    with pytest.raises(CodexError) as err:
        call()
    message = str(err.value)
    assert f"pip install 'codex-jupyter[{extra}]'" in message and "\n" not in message


def _open_kinesis() -> object:
    from codex_jupyter.sources.streams import open_stream

    stream = open_stream("kinesis://s?region=eu-west-1")
    stream.open()
    return stream


def _stops() -> pd.DataFrame:
    return pd.DataFrame({"lat": [51.5, 48.9, 52.5], "lon": [-0.1, 2.35, 13.4]})


def test_the_embedded_warehouse_needs_no_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    _hide(monkeypatch, "snowflake", "kafka", "boto3", "paho", "ortools", "voila", "sql")
    import codex_jupyter

    assert codex_jupyter.connect("local").query("select count(*) as n from branches").df().n.iloc[0] == 40


def test_demo_without_the_dashboards_extra_says_so(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    _hide(monkeypatch, "voila")
    assert cli.main(["demo", "--port", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert (
        err == "codex-jupyter: codex-jupyter demo (the dashboards in Voila) needs the [dashboards] extra "
        "(voila is not installed): pip install 'codex-jupyter[dashboards]'"
    )


def test_a_bug_inside_an_installed_extra_is_not_reported_as_a_missing_extra(monkeypatch, tmp_path) -> None:
    (tmp_path / "half_installed").mkdir()
    (tmp_path / "half_installed" / "__init__.py").write_text("import no_such_dependency_of_it\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(EXTRAS, "broken", ("half_installed", "a feature"))
    with pytest.raises(ModuleNotFoundError) as err:
        require("broken")
    assert not isinstance(err.value, MissingExtra) and err.value.name == "no_such_dependency_of_it"
    monkeypatch.setitem(EXTRAS, "absent", ("not_installed_anywhere", "a feature"))
    with pytest.raises(MissingExtra, match=r"pip install 'codex-jupyter\[absent\]'"):
        require("absent")
