"""Selective prediction: abstaining on low-confidence sentences, and what it buys.

A sentence whose top probability is below a threshold gets the label ``uncertain`` (its
probabilities stay as they were). Ranking sentences by top probability gives the
risk-coverage view of a model: the accuracy and macro-F1 of its most confident share of the
data, the area under the risk (error rate) against coverage curve, and the smallest threshold
whose kept sentences reach a wanted accuracy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from training.errors import StanceError

UNCERTAIN = "uncertain"
COVERAGES = (1.0, 0.9, 0.8, 0.7, 0.5)


def check_min_confidence(value: float | None, where: str = "--min-confidence") -> float | None:
    """``value`` if it is None (no abstention) or strictly between 0 and 1; else one clear error."""
    if value is None:
        return None
    if not 0.0 < float(value) < 1.0:
        raise StanceError(
            f"invalid value for {where}: {value} (use a probability strictly between 0 and 1, "
            "e.g. 0.8, or leave it out to label every sentence)"
        )
    return float(value)


def check_target_accuracy(value: float | None) -> float | None:
    """``value`` if it is None or in (0, 1]; else one clear error."""
    if value is None:
        return None
    if not 0.0 < float(value) <= 1.0:
        raise StanceError(
            f"invalid value for --target-accuracy: {value} (use an accuracy above 0 and at most 1, e.g. 0.9)"
        )
    return float(value)


def abstain(labels: Sequence[str], proba: Any, min_confidence: float | None) -> list[str]:
    """``labels`` with :data:`UNCERTAIN` where the row's top probability is below ``min_confidence``."""
    import numpy as np

    out = list(labels)
    if min_confidence is None or not out:
        return out
    top = np.asarray(proba, dtype=np.float64).max(axis=1)
    for i in np.flatnonzero(top < min_confidence).tolist():
        out[i] = UNCERTAIN
    return out


def _order(proba: Any) -> tuple[Any, Any]:
    """Rows from most to least confident (stable, so ties keep input order) and their top probabilities."""
    import numpy as np

    top = np.asarray(proba, dtype=np.float64).max(axis=1)
    order = np.argsort(-top, kind="stable")
    return order, top[order]


def at_coverage(
    y_true: Sequence[str], y_pred: Sequence[str], proba: Any, coverages: Sequence[float] = COVERAGES
) -> list[dict[str, float]]:
    """Accuracy and macro-F1 of the ``round(c * n)`` most confident sentences, for each coverage ``c``."""
    from training import metrics

    order, top = _order(proba)
    out = []
    for c in coverages:
        k = max(1, round(c * len(order)))
        keep = order[:k].tolist()
        t, p = [y_true[i] for i in keep], [y_pred[i] for i in keep]
        out.append(
            {
                "coverage": float(c),
                "n": float(k),
                "threshold": float(top[k - 1]),
                "accuracy": metrics.accuracy(t, p),
                "macro_f1": metrics.macro_f1(t, p),
            }
        )
    return out


def aurc(y_true: Sequence[str], y_pred: Sequence[str], proba: Any) -> float:
    """Area under the risk-coverage curve: the mean, over k = 1..n, of the error rate of the k most confident."""
    import numpy as np

    order, top = _order(proba)
    if len(order) == 0:
        return float("nan")
    wrong = np.array([y_true[i] != y_pred[i] for i in order.tolist()], dtype=np.float64)
    # Rows of equal top probability have no order among them: inside a tie, errors are spread
    # evenly (their expected count over every order), so the area does not depend on input order.
    errors = np.cumsum(wrong)
    ends = np.append(np.flatnonzero(top[1:] != top[:-1]) + 1, len(top))
    start = 0
    for end in ends.tolist():
        before = errors[start - 1] if start else 0.0
        inside = np.arange(1, end - start + 1)
        errors[start:end] = before + (errors[end - 1] - before) * inside / (end - start)
        start = end
    return float((errors / np.arange(1, len(wrong) + 1)).mean())


def threshold_for(y_true: Sequence[str], y_pred: Sequence[str], proba: Any, target: float) -> dict[str, float] | None:
    """The smallest top-probability threshold whose kept sentences reach accuracy ``target``, or None.

    Candidates are the top probabilities themselves: keeping every sentence at or above one of
    them. The smallest one that works keeps the most sentences.
    """
    import numpy as np

    order, top = _order(proba)
    right = np.array([y_true[i] == y_pred[i] for i in order.tolist()], dtype=np.float64)
    acc = np.cumsum(right) / np.arange(1, len(right) + 1)
    best = None
    for k in range(len(top), 0, -1):  # largest prefix first
        if k < len(top) and top[k] == top[k - 1]:
            continue  # a threshold keeps every row with that probability: only whole ties count
        if acc[k - 1] >= target - 1e-12:
            best = k
            break
    if best is None:
        return None
    return {
        "threshold": float(top[best - 1]),
        "accuracy": float(acc[best - 1]),
        "coverage": best / len(top),
        "n": float(best),
    }


def risk_coverage(
    y_true: Sequence[str], y_pred: Sequence[str], proba: Any, target: float | None = None
) -> dict[str, Any]:
    """The evaluation report's risk-coverage part: scores at each coverage, AURC, the target's threshold."""
    out: dict[str, Any] = {"at_coverage": at_coverage(y_true, y_pred, proba), "aurc": aurc(y_true, y_pred, proba)}
    if target is not None:
        out["target_accuracy"] = target
        out["target_threshold"] = threshold_for(y_true, y_pred, proba, target)
    return out
