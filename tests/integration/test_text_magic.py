"""``%analyze_text`` in a real IPython shell, registered by ``%load_ext codex_jupyter``."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def ip() -> Iterator[InteractiveShell]:
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "codex_jupyter")
    shell.user_ns["feedback"] = pd.DataFrame(
        {
            "branch": ["A", "B", "A", "B"],
            "text": ["The staff were wonderful.", "My card was charged twice, awful.", None, "Quick transfer :)"],
        }
    )
    yield shell


def test_a_real_cell_enriches_the_column_and_stores_it(ip: InteractiveShell) -> None:
    result = ip.run_cell("%analyze_text feedback text -o insights --no-topics --no-entities", store_history=True)
    assert result.success
    out = ip.user_ns["insights"]
    assert out is ip.user_ns["_"] and out.branch.tolist() == ["A", "B", "A", "B"]
    assert {"sentiment", "sentiment_label", "keywords", "text_error"} <= set(out.columns)
    assert not {"topic", "entities"} & set(out.columns)
    assert out.sentiment_label.tolist()[:2] == ["positive", "negative"] and out.text_error[2] == "missing"


def test_the_column_may_be_left_out_when_there_is_one_text_column(ip: InteractiveShell) -> None:
    ip.user_ns["notes"] = pd.Series(["great app", "slow queue"], name="note")
    out = ip.run_line_magic("analyze_text", "notes --no-entities --no-topics --keywords tfidf")
    assert out.note.tolist() == ["great app", "slow queue"] and out.keywords.tolist()[0] == [
        "great",
        "app",
        "great app",
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("nowhere text", "'nowhere' is not a DataFrame or Series in this notebook"),
        ("feedback comment", "no column 'comment'"),
        ("feedback text -o 1x", "-o needs a Python variable name"),
    ],
)
def test_mistakes_are_one_line_usage_errors(ip: InteractiveShell, line: str, message: str) -> None:
    with pytest.raises(UsageError, match=message) as err:
        ip.run_line_magic("analyze_text", line)
    assert "\n" not in str(err.value)
