"""Whole text-in models: assembling the steps and fitting them with sample weights where taken."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def assemble(features: Any, classifier: Any) -> Any:
    """The full text-in model: text column, optional features, classifier."""
    from sklearn.pipeline import Pipeline

    from training.classifiers.estimators import TextColumn

    steps: list[tuple[str, Any]] = [("text", TextColumn())]
    if features is not None:
        steps.append(("features", features))
    steps.append(("clf", classifier))
    return Pipeline(steps)


def weight_keyword(estimator: Any, prefix: str = "") -> str | None:
    """The ``fit`` keyword that takes sample weights, or ``None`` if ``estimator`` takes none.

    Pipelines route weights to their last step (``clf__forest__sample_weight``).
    """
    from sklearn.pipeline import Pipeline
    from sklearn.utils.validation import has_fit_parameter

    if isinstance(estimator, Pipeline):
        name, last = estimator.steps[-1]
        return weight_keyword(last, f"{prefix}{name}__")
    # The rule classifier accepts the keyword for compatibility but ignores it; a vote would hand
    # it to pipelines, which take it only by step name.
    if has_fit_parameter(estimator, "sample_weight") and type(estimator).__name__ not in (
        "RuleClassifier",
        "VotingClassifier",
    ):
        return f"{prefix}sample_weight"
    return None


def fit(estimator: Any, X: Any, y: Sequence[str], sample_weight: Any = None) -> bool:
    """Fit ``estimator``, passing ``sample_weight`` where it is used; return whether it was."""
    keyword = weight_keyword(estimator) if sample_weight is not None else None
    if keyword is None:
        estimator.fit(X, y)
        return False
    estimator.fit(X, y, **{keyword: sample_weight})
    return True
