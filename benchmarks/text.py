"""Text insights: sentiment quality against VADER and TF-IDF + logistic regression, entities, topics, throughput.

Run by hand for the figures (``python benchmarks/text.py``); ``--quick`` proves
the script works in well under a minute. Figures are printed, never asserted.

1. Sentiment on the UCI review sentences (``../shared/data/sentiment``, 3,000
   sentences: Amazon, IMDb, Yelp), parsed as its README says (last tab; split
   on ``\\n`` only). Stratified 10-fold cross-validation: our model is
   re-trained on each training fold exactly as ``scripts/train_sentiment.py``
   trains the shipped one, next to plain VADER (compound >= 0 is positive: no
   training) and TF-IDF (1-2 grams) + logistic regression trained on the same
   folds. Then "domain held out": trained on Amazon + Yelp only, scored on the
   1,000 IMDb movie-review sentences, the nearest we have to an unseen domain.
2. Entities: precision/recall of ``extract_entities`` on the demo feedback
   texts, whose branch cities are known from the generator.
3. Topics: NPMI coherence (top 10 terms, document co-occurrence on the
   corpus itself, vocabulary: min_df 2) of our TF-IDF + NMF topics against
   scikit-learn's LDA with the same number of topics, on the UCI sentences and
   on the demo feedback texts.
4. Throughput on 100,000 short distinct texts (two UCI sentences joined):
   sentiment + keywords (fast TF-IDF keywords; YAKE on a sample, its rate
   reported) and the full ``analyze_text`` pipeline.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from train_sentiment import DATA, read_sentences, vader_lexicon

from codex_jupyter.analytics.text import sentiment


def _scores(pred: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    from sklearn.metrics import accuracy_score, f1_score

    return accuracy_score(y, pred), f1_score(y, pred)


def _tfidf_lr(train_x: list[str], train_y: np.ndarray, test_x: list[str]) -> np.ndarray:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    model = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True), LogisticRegression(C=10, max_iter=2000)
    )
    return model.fit(train_x, train_y).predict(test_x)


def _vader(texts: list[str]) -> np.ndarray:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    return np.array([analyzer.polarity_scores(t)["compound"] >= 0 for t in texts], dtype=int)


def _ours(train_x: list[str], train_y: np.ndarray, test_x: list[str], lexicon: dict[str, float]) -> np.ndarray:
    model = sentiment.train(train_x, list(train_y), lexicon)
    return (model.decision(test_x) > 0).astype(int)


def sentiment_quality(folds: int) -> None:
    """Cross-validated accuracy and F1 of ours, VADER and TF-IDF + LR; then IMDb held out."""
    from sklearn.model_selection import StratifiedKFold

    texts, labels, domains = read_sentences()
    x, y, dom = np.array(texts, dtype=object), np.array(labels), np.array(domains)
    lexicon = vader_lexicon()
    preds = {"ours": np.zeros_like(y), "tfidf+lr": np.zeros_like(y)}
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=0).split(x, y):
        preds["ours"][test] = _ours(list(x[train]), y[train], list(x[test]), lexicon)
        preds["tfidf+lr"][test] = _tfidf_lr(list(x[train]), y[train], list(x[test]))
    preds["vader"] = _vader(list(x))
    print(f"\n1. sentiment, UCI sentences, {folds}-fold cross-validation ({len(y):,} sentences)")
    for name, pred in preds.items():
        acc, f1 = _scores(pred, y)
        print(f"   {name:<10} accuracy {acc:.3f}  F1 {f1:.3f}")
    held = dom == "imdb"
    print("   domain held out: trained on Amazon + Yelp, scored on the 1,000 IMDb sentences")
    for name, pred in (
        ("ours", _ours(list(x[~held]), y[~held], list(x[held]), lexicon)),
        ("tfidf+lr", _tfidf_lr(list(x[~held]), y[~held], list(x[held]))),
        ("vader", preds["vader"][held]),
    ):
        acc, f1 = _scores(pred, y[held])
        print(f"   {name:<10} accuracy {acc:.3f}  F1 {f1:.3f}")


def entity_quality() -> None:
    """Precision and recall of GPE entities on the demo feedback, whose city is known from the generator."""
    from codex_jupyter.analytics.text.entities import extract_entities
    from codex_jupyter.sources.demo import bank

    branches = bank.branches()
    customers = bank.customers(branches)
    feedback = bank.feedback(customers)
    city = customers.set_index("customer_id").home_city
    truth = [{city[c]} if city[c] in t else set() for c, t in zip(feedback.customer_id, feedback.text, strict=True)]
    found = extract_entities(feedback.text.tolist(), places=branches.city.tolist())
    predicted = [{e for e, label in f if label == "GPE"} for f in found]
    hits = sum(len(p & t) for p, t in zip(predicted, truth, strict=True))
    n_pred, n_true = sum(map(len, predicted)), sum(map(len, truth))
    print(f"\n2. entities (GPE) on the {len(feedback):,} demo feedback texts: {n_true:,} known city mentions")
    print(f"   precision {hits / max(n_pred, 1):.3f}  recall {hits / max(n_true, 1):.3f}")


def topic_quality() -> None:
    """NPMI of our topics (k chosen in 3..10) against LDA with the same k, on the UCI sentences and demo feedback."""
    from codex_jupyter.sources.demo import bank

    print("\n3. topics: NPMI of the top 10 terms (higher is more coherent; LDA gets our k)")
    feedback = bank.feedback(bank.customers(bank.branches())).text.tolist()
    for name, texts in (("UCI sentences", read_sentences()[0]), ("demo feedback", feedback)):
        ours, lda, k = _topic_npmi(texts)
        print(f"   {name:<14} k = {k:<2}  ours (TF-IDF + NMF) {ours:.3f}   LDA {lda:.3f}")


def _topic_npmi(texts: list[str]) -> tuple[float, float, int]:
    from sklearn.decomposition import LatentDirichletAllocation
    from sklearn.feature_extraction.text import CountVectorizer

    from codex_jupyter.analytics.text import topics

    ours = topics.find_topics(texts, (3, 10))
    counts = CountVectorizer(stop_words="english", min_df=2, max_df=0.9, token_pattern=topics.TOKEN)
    matrix = counts.fit_transform(texts)
    binary = (matrix > 0).astype(np.float32).tocsr()
    vocab = {w: i for i, w in enumerate(counts.get_feature_names_out())}
    ours_npmi = topics.npmi([[vocab[w] for w in terms if w in vocab] for terms in ours.terms.values()], binary)
    k = len(ours.terms)
    lda = LatentDirichletAllocation(n_components=k, random_state=0, learning_method="batch").fit(matrix)
    return ours_npmi, topics.npmi([np.argsort(-row)[:10] for row in lda.components_], binary), k


def short_texts(n: int) -> list[str]:
    """``n`` distinct short texts: pairs of UCI sentences (deterministic)."""
    texts = read_sentences()[0]
    rng = np.random.default_rng(0)
    pairs = set()
    while len(pairs) < n:
        a, b = rng.integers(0, len(texts), 2)
        pairs.add((int(a), int(b)))
    return [f"{texts[a]} {texts[b]}" for a, b in sorted(pairs)][:n]


def throughput(n: int) -> None:
    """Texts per second for sentiment alone, sentiment + keywords, and the full pipeline."""
    texts = short_texts(n)
    model = sentiment.default_model()
    start = time.perf_counter()
    model.score(texts)
    rate = n / (time.perf_counter() - start)
    print(f"\n4. throughput on {n:,} distinct short texts (mean {np.mean([len(t) for t in texts]):.0f} characters)")
    print(f"   sentiment                 {rate:>9,.0f} texts/s")
    from codex_jupyter.analytics.text import analyze_text, keywords

    frame = {"text": texts}
    import pandas as pd

    start = time.perf_counter()
    out = analyze_text(pd.DataFrame(frame), "text", entities=False, topics=False)  # the default keyword_method
    used = out.attrs["keyword_method"]
    print(f"   sentiment + keywords (default: {used}), analyze_text {n / (time.perf_counter() - start):>9,.0f} texts/s")
    sample = texts[:2_000]
    start = time.perf_counter()
    keywords.keywords(sample, "yake")
    print(f"   keywords (YAKE) alone     {len(sample) / (time.perf_counter() - start):>9,.0f} texts/s (2,000 texts)")
    start = time.perf_counter()
    analyze_text(pd.DataFrame(frame), "text")
    print(f"   full pipeline (default: {used} keywords) {n / (time.perf_counter() - start):>9,.0f} texts/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: proves the script runs")
    args = parser.parse_args()
    start = time.perf_counter()
    if not DATA.is_dir():  # parts 1, 3 and 4 read the review sentences in shared/ beside the checkout
        if not args.quick:
            raise SystemExit(f"the review sentences are not at {DATA}: put shared/ beside the checkout")
        print(f"Sentiment, topics and throughput skipped: no review sentences at {DATA}")
        entity_quality()
        return
    sentiment_quality(folds=3 if args.quick else 10)
    entity_quality()
    topic_quality()
    throughput(5_000 if args.quick else 100_000)
    print(f"\ndone in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
