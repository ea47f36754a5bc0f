"""``%analyze_text``: enrich a text column of a notebook DataFrame with sentiment, entities, keywords and topics.

``%analyze_text feedback text -o insights`` runs :func:`codex_jupyter.analyze_text`
on ``feedback["text"]`` and returns (and stores) the enriched copy;
``--no-sentiment``, ``--no-entities``, ``--no-keywords`` and ``--no-topics``
skip parts, ``--keywords yake|tfidf`` picks a keyword method (default ``auto``), ``--topics 3:8``
the range the number of topics is chosen in, and ``--model NAME`` a locally
installed transformers sentiment model. The column may be left out when the
frame has one text column, and a Series needs none.
"""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from codex_jupyter.magics.base import CodexMagics, unquote, user_errors

_PARTS = ("sentiment", "entities", "keywords", "topics")


@magics_class
class TextMagic(CodexMagics):
    """Analyse a text column in one line; see the module docstring."""

    @magic_arguments()
    @argument("-o", "--out", help="Store the enriched DataFrame in this variable.")
    @argument("--no-sentiment", action="store_true", help="Skip sentiment.")
    @argument("--no-entities", action="store_true", help="Skip entities.")
    @argument("--no-keywords", action="store_true", help="Skip keywords.")
    @argument("--no-topics", action="store_true", help="Skip topics.")
    @argument(
        "--keywords",
        choices=("auto", "yake", "tfidf"),
        default="auto",
        help="Keyword method (default auto: YAKE up to 20,000 distinct texts, TF-IDF beyond).",
    )
    @argument("--topics", metavar="LO:HI", default="3:10", help="Range the number of topics is chosen in.")
    @argument("--model", help="A locally installed transformers sentiment model (default: the built-in one).")
    @argument("frame", help="A DataFrame or Series in the notebook.")
    @argument("column", nargs="?", help="The text column (optional when there is one).")
    @line_magic("analyze_text")
    def execute(self, line: str = "") -> Any:
        """Analyse the column and return the enriched frame."""
        import pandas as pd

        from codex_jupyter.analytics.text import analyze_text

        args = self.parse(self.execute, line)
        value = self.shell.user_ns.get(args.frame)
        if not isinstance(value, pd.DataFrame | pd.Series):
            raise UsageError(f"{args.frame!r} is not a DataFrame or Series in this notebook")
        with user_errors():
            out = analyze_text(
                value,
                unquote(args.column) if args.column else None,
                **{part: not getattr(args, f"no_{part}") for part in _PARTS},
                model=args.model,
                keyword_method=args.keywords,
                topic_range=_range(args.topics),
            )
        self.store(args.out, out)
        return out


def _range(value: str) -> tuple[int, int]:
    """``"3:10"`` -> ``(3, 10)``, one line on anything else."""
    lo, sep, hi = value.partition(":")
    if not (sep and lo.strip().isdigit() and hi.strip().isdigit()) or not 1 <= int(lo) <= int(hi):
        raise UsageError(f"--topics needs LO:HI with 1 <= LO <= HI (e.g. 3:10), not {value!r}")
    return int(lo), int(hi)
