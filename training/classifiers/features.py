"""Feature extractor builders: sentences in, a matrix out.

Each builder's keyword arguments are the parameters a config may set for it
(:mod:`training.classifiers.registry` names them). scikit-learn and our transformers are
imported inside the builders, so importing the registry stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _ngrams(low: int, high: int, what: str) -> tuple[int, int]:
    if not 1 <= low <= high:
        raise ValueError(f"{what}: ngram_min ({low}) must be at least 1 and at most ngram_max ({high})")
    return (low, high)


def word(
    ngram_min: int = 1, ngram_max: int = 2, min_df: int = 1, max_features: int | None = 50000, sublinear_tf: bool = True
) -> Any:
    """Word n-gram TF-IDF."""
    from training.classifiers.estimators import CompactTfidfVectorizer

    return CompactTfidfVectorizer(
        analyzer="word",
        ngram_range=_ngrams(ngram_min, ngram_max, "word"),
        min_df=min_df,
        max_features=max_features,
        sublinear_tf=sublinear_tf,
    )


def char(
    ngram_min: int = 2,
    ngram_max: int = 5,
    min_df: int = 2,
    max_features: int | None = 100000,
    sublinear_tf: bool = True,
) -> Any:
    """Character n-gram TF-IDF within word boundaries."""
    from training.classifiers.estimators import CompactTfidfVectorizer

    return CompactTfidfVectorizer(
        analyzer="char_wb",
        ngram_range=_ngrams(ngram_min, ngram_max, "char"),
        min_df=min_df,
        max_features=max_features,
        sublinear_tf=sublinear_tf,
    )


def word_char(word_ngram_max: int = 2, char_ngram_max: int = 5, min_df: int = 2) -> Any:
    """The union of word and character TF-IDF."""
    from sklearn.pipeline import FeatureUnion

    return FeatureUnion(
        [("word", word(ngram_max=word_ngram_max, min_df=1)), ("char", char(ngram_max=char_ngram_max, min_df=min_df))]
    )


def negation(ngram_min: int = 1, ngram_max: int = 2, min_df: int = 1, max_features: int | None = 50000) -> Any:
    """Word TF-IDF over text whose negation and modality scopes are marked."""
    from sklearn.pipeline import Pipeline

    from training.classifiers.estimators import NegationScopeMarker

    return Pipeline([("mark", NegationScopeMarker()), ("tfidf", word(ngram_min, ngram_max, min_df, max_features))])


def embedding(
    encoder: str = "all-MiniLM-L6-v2", batch_size: int = 64, nonnegative: bool = False, backend: str = "torch"
) -> Any:
    """Sentence-encoder vectors."""
    from training import encoders

    encoders.spec(encoder)  # an unknown name fails here, with the list of known ones
    if backend not in encoders.BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(encoders.BACKENDS)} (got {backend!r})")
    from training.encoders.embedder import SentenceEmbedder

    return SentenceEmbedder(encoder=encoder, batch_size=batch_size, nonnegative=nonnegative, backend=backend)


def no_features() -> None:
    """No extractor: the classifier reads the sentences itself."""
    return None


# The TF-IDF extractors a soft vote may use for its text member.
TFIDF: dict[str, Callable[..., Any]] = {"word": word, "char": char, "word_char": word_char, "negation": negation}
