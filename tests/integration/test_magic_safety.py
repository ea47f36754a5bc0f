"""Notebook values never become SQL text, and no argument line ends in a traceback.

IPython expands ``$name`` and ``{name}`` in a line magic before the magic sees
it; ``%snowflake`` opts out (``no_var_expand``), so a value reaches the
database only as a bound parameter (``:name``, ``{{name}}``). Each form a user
can type is checked through ``run_cell``, where IPython's expansion really
happens: the line form, the cell form, ``-o`` and assignment.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

pytestmark = pytest.mark.integration

INJECTION = "a' or '1'='1"


@pytest.fixture(scope="module")
def ip() -> Iterator[InteractiveShell]:
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "codex_jupyter")
    shell.user_ns.update(x=INJECTION, n=3)
    yield shell


def cell_value(ip: InteractiveShell, source: str) -> object:
    """Run ``source`` as a notebook cell would and return the value it shows (errors re-raised)."""
    result = ip.run_cell(source, store_history=True)
    result.raise_error()
    return result.result


# Each source counts customers whose name matches what the user wrote; the injected value would match all 6,000.
FORMS = {
    "line": "%snowflake select count(*) as n from customers where name = {ref}",
    "line -o": "%snowflake -o out select count(*) as n from customers where name = {ref}",
    "assignment": "out = %snowflake select count(*) as n from customers where name = {ref}\nout",
    "cell": "%%snowflake\nselect count(*) as n from customers where name = {ref}",
    "cell -o": "%%snowflake -o out\nselect count(*) as n from customers where name = {ref}",
}


@pytest.mark.parametrize("form", sorted(FORMS))
@pytest.mark.parametrize("ref", ["'{x}'", "'$x'", "{{x}}", ":x"])
def test_a_notebook_value_is_never_pasted_into_the_sql(ip: InteractiveShell, form: str, ref: str) -> None:
    ip.user_ns.pop("out", None)
    shown = cell_value(ip, FORMS[form].format(ref=ref))
    assert shown.n.iloc[0] == 0, "a notebook value was spliced into the SQL text"
    assert INJECTION not in shown.query_sql and "a''" not in shown.query_sql
    if "-o" in form or form == "assignment":
        assert ip.user_ns["out"] is shown


@pytest.mark.parametrize("form", ["%snowflake {sql}", "%%snowflake\n{sql}"])
def test_dollar_quoted_strings_and_braces_arrive_as_typed(ip: InteractiveShell, form: str) -> None:
    shown = cell_value(ip, form.format(sql="select $$costs $5 {x} $x {{x}}$$ as s, 'it''s {n}' as t"))
    assert shown.s.iloc[0] == "costs $5 {x} $x {{x}}"
    assert shown.t.iloc[0] == "it's {n}"


def test_bound_parameters_still_bind_in_the_line_form(ip: InteractiveShell) -> None:
    ip.user_ns.update(home="GB", big=100_000)
    bound = cell_value(
        ip, "%snowflake select count(*) as n from branches where country = {{home}} and city_population > :big"
    )
    literal = cell_value(
        ip, "%snowflake select count(*) as n from branches where country = 'GB' and city_population > 100000"
    )
    assert bound.n.iloc[0] == literal.n.iloc[0] > 0


def test_an_unset_parameter_in_the_line_form_is_a_one_line_error(ip: InteractiveShell) -> None:
    with pytest.raises(UsageError, match="parameter 'nowhere_set' is not set"):
        cell_value(ip, "%snowflake select :nowhere_set")


def test_geocode_and_iot_lines_expand_variables_as_ipython_users_expect(ip: InteractiveShell) -> None:
    ip.user_ns["city"] = "Lyon"
    matches = cell_value(ip, '%geocode "$city, France"')
    assert "Lyon" in repr(matches)
    ip.user_ns["devices"] = 2
    handle = cell_value(ip, "%iot_tail sim://fleet?devices={devices}&rate=0&count=50 --duration 20")
    try:
        assert handle.wait(20)
        assert handle.df().device.nunique() == 2
    finally:
        handle.stop()


# -- fuzzing: any line is a result or a one-line UsageError, never a traceback ------------------------------------

WORDS = st.sampled_from(
    [
        "-c",
        "--connection",
        "-o",
        "--out",
        "--limit",
        "--explain",
        "--limt",
        "-",
        "--",
        "=",
        "local",
        "5",
        "-1",
        "1e99",
        "x",
        "1bad",
        '"',
        "'",
        "select",
        "1",
        "from",
        "branches",
        "{x}",
        "$x",
        ":x",
        "{{x}}",
        "$$",
        ";",
        "--reverse",
        "48.8,2.3",
        "--provider",
        "offline",
        "nowhere",
        "--progress",
        "--fields",
        "value=v",
        "--window",
        "--detector",
        "magic",
        "--duration",
        "--max-records",
        "--key",
        "\\",
        "é",
    ]
)
LINES = st.one_of(st.lists(WORDS, max_size=8).map(" ".join), st.text(max_size=40))


def _one_line_or_result(call: object) -> None:
    try:
        call()
    except UsageError as exc:
        assert str(exc).strip() and "\n" not in str(exc).strip(), repr(str(exc))


FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(line=LINES)
def test_snowflake_lines_never_raise_a_traceback(ip: InteractiveShell, line: str) -> None:
    _one_line_or_result(lambda: ip.run_line_magic("snowflake", line))
    _one_line_or_result(lambda: ip.run_cell_magic("snowflake", line, "select 1 as one"))


@FUZZ
@given(line=LINES)
def test_geocode_lines_never_raise_a_traceback(ip: InteractiveShell, line: str) -> None:
    _one_line_or_result(lambda: ip.run_line_magic("geocode", line))


@FUZZ
@given(line=LINES)
def test_iot_lines_never_raise_a_traceback(ip: InteractiveShell, line: str) -> None:
    from codex_jupyter.pipelines.tail import stop_all

    try:
        _one_line_or_result(lambda: ip.run_line_magic("iot_tail", line))
        _one_line_or_result(lambda: ip.run_line_magic("iot_publish", line))
    finally:
        stop_all()
