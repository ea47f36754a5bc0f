"""Train the default sentiment model shipped as codex_jupyter/analytics/text/sentiment_model.npz.

Data: the UCI "Sentiment Labelled Sentences" (3,000 review sentences, in
``../shared/data/sentiment/``, CC BY 4.0) and the VADER lexicon that ships in
the ``vaderSentiment`` wheel. No benchmark test split is used. Deterministic:
running it again writes the same weights. ``make test`` does not run it.

    python scripts/train_sentiment.py [--data ../shared/data/sentiment] [--out PATH]
"""

from __future__ import annotations

import argparse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "sentiment"
DOMAINS = ("amazon_cells", "imdb", "yelp")
OUT = ROOT / "codex_jupyter" / "analytics" / "text" / "sentiment_model.npz"


def read_sentences(folder: Path = DATA) -> tuple[list[str], list[int], list[str]]:
    """Sentences, labels (1 positive) and domain of each, split on each line's last tab.

    The files have unbalanced quotes (so no CSV quoting) and U+0085 characters
    (so split on ``\\n`` only, never ``splitlines``): see the data's README.
    """
    texts, labels, domains = [], [], []
    for domain in DOMAINS:
        for line in (folder / f"{domain}_labelled.txt").read_text(encoding="utf-8").split("\n"):
            if not line.strip():
                continue
            text, _, label = line.rpartition("\t")
            texts.append(text.strip())
            labels.append(int(label))
            domains.append(domain)
    return texts, labels, domains


def vader_lexicon() -> dict[str, float]:
    """The VADER lexicon (word -> mean valence, -4..4) from the vaderSentiment wheel."""
    from importlib import resources

    lexicon = {}
    for line in (resources.files("vaderSentiment") / "vader_lexicon.txt").read_text(encoding="utf-8").split("\n"):
        parts = line.split("\t")
        if len(parts) >= 2:
            lexicon[parts[0].lower()] = float(parts[1])
    return lexicon


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    from codex_jupyter.analytics.text import sentiment

    texts, labels, _ = read_sentences(args.data)
    model = sentiment.train(texts, labels, vader_lexicon())
    model.save(args.out)
    print(f"trained on {len(texts):,} sentences + the VADER lexicon -> {args.out} ({args.out.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
