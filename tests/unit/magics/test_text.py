"""``%analyze_text``'s line: its options, and one-line messages for a mistaken one (no shell needed)."""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError

from codex_jupyter.magics.base import parse_line
from codex_jupyter.magics.text import TextMagic, _range


def test_frame_column_and_switches_are_read() -> None:
    args = parse_line(TextMagic.execute, "feedback text -o out --no-topics --keywords tfidf --topics 2:6")
    assert (args.frame, args.column, args.out, args.no_topics, args.no_sentiment) == (
        "feedback",
        "text",
        "out",
        True,
        False,
    )
    assert args.keywords == "tfidf" and _range(args.topics) == (2, 6)
    assert parse_line(TextMagic.execute, "notes").column is None


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("df text --no-topcs", "did you mean --no-topics?"),
        ("df text -o a --out b", "option --out is given more than once"),
        ("df text --keywords bert", "invalid choice"),
    ],
)
def test_a_mistaken_line_is_one_line(line: str, message: str) -> None:
    with pytest.raises(UsageError, match=message) as err:
        parse_line(TextMagic.execute, line)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("value", ["3", "a:b", "5:2", "0:4"])
def test_a_bad_topic_range_says_the_form(value: str) -> None:
    with pytest.raises(UsageError, match="LO:HI"):
        _range(value)
