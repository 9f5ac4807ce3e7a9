"""Feature extractors and classifiers that ``stance train`` can compare, and how models are put together.

A candidate is a feature extractor (turns sentences into a matrix) plus a classifier, both
named in :mod:`~training.classifiers.registry`. Every full model is
``Pipeline([("text", TextColumn()), ("features", ...), ("clf", ...)])``: the first step accepts
a list of strings as well as the one-column DataFrame that an MLflow pyfunc server passes, so
the same object serves both.

Importing this package stays cheap: scikit-learn is imported by the builders, and our own
estimator classes (:mod:`~training.classifiers.estimators`) are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from training.classifiers.fitting import assemble, fit, weight_keyword
from training.classifiers.folds import FoldFeatures
from training.classifiers.registry import (
    CLASSIFIERS,
    FEATURES,
    Component,
    build_classifier,
    build_features,
    unknown_params,
)
from training.classifiers.scopes import MODALS, NEGATORS, SCOPE_ENDS, mark_scopes

if TYPE_CHECKING:
    from training.classifiers.estimators import CompactTfidfVectorizer, NegationScopeMarker, TextColumn

# Our estimator classes, importable from here as well: models saved before the classes moved to
# training.classifiers.estimators name them by this package's path.
MOVED_CLASSES: tuple[str, ...] = ("TextColumn", "NegationScopeMarker", "CompactTfidfVectorizer")

__all__ = [
    "CLASSIFIERS",
    "FEATURES",
    "MODALS",
    "MOVED_CLASSES",
    "NEGATORS",
    "SCOPE_ENDS",
    "CompactTfidfVectorizer",
    "Component",
    "FoldFeatures",
    "NegationScopeMarker",
    "TextColumn",
    "assemble",
    "build_classifier",
    "build_features",
    "fit",
    "mark_scopes",
    "unknown_params",
    "weight_keyword",
]


def __getattr__(name: str) -> Any:
    """Import our estimator classes on first use (they need scikit-learn)."""
    if name in MOVED_CLASSES:
        from training.classifiers import estimators

        return getattr(estimators, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
