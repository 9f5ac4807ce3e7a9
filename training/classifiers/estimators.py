"""Our own scikit-learn transformers, the steps of every model besides the library's.

This module imports scikit-learn at the top, so nothing imports it at start-up: builders and
loaders import it when they build or load a model (skops finds the classes by their path here).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer

from training.classifiers.scopes import MODALS, NEGATORS, SCOPE_ENDS, mark_scopes


class TextColumn(TransformerMixin, BaseEstimator):
    """Turn a list, array, Series or DataFrame of sentences into a list of ``str``.

    MLflow's pyfunc server hands a DataFrame with a ``text`` column; Python callers pass a
    list. Both reach the feature extractor as the same list of strings.
    """

    def __init__(self, column: str = "text") -> None:
        self.column = column

    def fit(self, X: Any, y: Any = None) -> Any:
        """Nothing to learn."""
        return self

    def transform(self, X: Any) -> list[str]:
        """Return the sentences as a list of strings."""
        if hasattr(X, "columns"):  # a DataFrame: the named column, else the only one
            X = X[self.column] if self.column in X.columns else X.iloc[:, 0]
        if hasattr(X, "tolist"):
            X = X.tolist()
        if isinstance(X, str):
            X = [X]
        return [x[0] if isinstance(x, list | tuple) and len(x) == 1 else x for x in X]


class NegationScopeMarker(TransformerMixin, BaseEstimator):
    """Rewrite sentences with :func:`mark_scopes` so negated and modal cues get own features."""

    def __init__(
        self,
        negators: tuple[str, ...] = NEGATORS,
        modals: tuple[str, ...] = MODALS,
        scope_ends: tuple[str, ...] = SCOPE_ENDS,
    ) -> None:
        self.negators = negators
        self.modals = modals
        self.scope_ends = scope_ends

    def fit(self, X: Any, y: Any = None) -> Any:
        """Nothing to learn."""
        return self

    def transform(self, X: Sequence[str]) -> list[str]:
        """Return the marked sentences."""
        return [mark_scopes(x, self.negators, self.modals, self.scope_ends) for x in X]


class CompactTfidfVectorizer(TfidfVectorizer):
    """A ``TfidfVectorizer`` that stores its vocabulary as one string of terms.

    skops writes a dict entry by entry, which makes a 50,000-term vocabulary take tens of
    megabytes and seconds to save; one newline-joined string in index order is small and
    fast, and the dict is rebuilt on load. Behaviour is otherwise that of the parent.
    """

    def __getstate__(self) -> dict[str, Any]:
        state: dict[str, Any] = super().__getstate__()
        vocab = state.get("vocabulary_")
        if isinstance(vocab, dict) and not any("\n" in t for t in vocab):
            terms = [""] * len(vocab)
            for term, i in vocab.items():
                terms[i] = term
            state = {k: v for k, v in state.items() if k != "vocabulary_"}
            state["vocabulary_terms_"] = "\n".join(terms)
            state["vocabulary_size_"] = len(terms)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        if "vocabulary_terms_" in state:
            size = int(state.pop("vocabulary_size_"))
            terms = state.pop("vocabulary_terms_").split("\n") if size else []
            state["vocabulary_"] = {t: i for i, t in enumerate(terms)}
        super().__setstate__(state)


# The classes a model file may name from this module (training.persistence trusts them).
OWN_CLASSES: tuple[type, ...] = (TextColumn, NegationScopeMarker, CompactTfidfVectorizer)
