"""How far predicted probabilities can be trusted: calibration scores and reliability bins.

Pure functions of true labels and probability rows (columns in ``classes`` order):

- ``ece``: top-label expected calibration error with equal-width confidence bins (15 by
  default): the share-weighted mean gap between accuracy and mean confidence in each bin;
- ``brier``: the multi-class Brier score, the mean squared distance between the probability
  row and the one-hot truth (0 best, 2 worst);
- ``log_loss``: the mean negative log probability of the true label, clipped at 1e-15.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from training.errors import StanceError

BINS = 15
EPS = 1e-15
CALIBRATION_SCORES = ("ece", "brier", "log_loss")


def _arrays(y_true: Sequence[str], proba: Any, classes: Sequence[str]) -> tuple[Any, Any]:
    """The probability matrix as floats and each row's true column (-1 for a label outside ``classes``)."""
    import numpy as np

    p = np.asarray(proba, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] != len(y_true) or p.shape[1] != len(classes):
        raise ValueError(f"probabilities of shape {p.shape} do not match {len(y_true)} labels x {len(classes)} classes")
    index = {c: i for i, c in enumerate(classes)}
    return p, np.array([index.get(str(t), -1) for t in y_true], dtype=np.int64)


def reliability_bins(
    y_true: Sequence[str], proba: Any, classes: Sequence[str], bins: int = BINS
) -> list[dict[str, float]]:
    """One row per non-empty equal-width bin of top probability.

    Each row has ``low``, ``high``, ``n``, ``confidence`` and ``accuracy``.
    """
    import numpy as np

    p, truth = _arrays(y_true, proba, classes)
    if len(truth) == 0:
        return []
    top = p.max(axis=1)
    right = p.argmax(axis=1) == truth
    # Bin i holds (i/bins, (i+1)/bins]; a confidence of exactly 0 goes to the first bin.
    which = np.clip(np.ceil(top * bins).astype(np.int64) - 1, 0, bins - 1)
    out = []
    for i in range(bins):
        mask = which == i
        n = int(mask.sum())
        if n:
            out.append(
                {
                    "low": i / bins,
                    "high": (i + 1) / bins,
                    "n": float(n),
                    "confidence": float(top[mask].mean()),
                    "accuracy": float(right[mask].mean()),
                }
            )
    return out


def ece(y_true: Sequence[str], proba: Any, classes: Sequence[str], bins: int = BINS) -> float:
    """Top-label expected calibration error over ``bins`` equal-width bins (nan for no rows)."""
    rows = reliability_bins(y_true, proba, classes, bins)
    total = sum(r["n"] for r in rows)
    if not total:
        return float("nan")
    return float(sum(r["n"] * abs(r["accuracy"] - r["confidence"]) for r in rows) / total)


def brier(y_true: Sequence[str], proba: Any, classes: Sequence[str]) -> float:
    """Multi-class Brier score: mean over rows of the squared distance to the one-hot truth."""
    import numpy as np

    p, truth = _arrays(y_true, proba, classes)
    if len(truth) == 0:
        return float("nan")
    onehot = np.zeros_like(p)
    known = truth >= 0
    onehot[np.flatnonzero(known), truth[known]] = 1.0
    return float(((p - onehot) ** 2).sum(axis=1).mean())


def log_loss(y_true: Sequence[str], proba: Any, classes: Sequence[str]) -> float:
    """Mean negative log probability given to the true label (a label outside ``classes`` counts as 1e-15)."""
    import numpy as np

    p, truth = _arrays(y_true, proba, classes)
    if len(truth) == 0:
        return float("nan")
    picked = np.where(truth >= 0, p[np.arange(len(truth)), np.maximum(truth, 0)], 0.0)
    return float(-np.log(np.clip(picked, EPS, 1.0)).mean())


def scores(y_true: Sequence[str], proba: Any, classes: Sequence[str], bins: int = BINS) -> dict[str, float]:
    """``ece``, ``brier`` and ``log_loss`` of the same predictions."""
    return {
        "ece": ece(y_true, proba, classes, bins),
        "brier": brier(y_true, proba, classes),
        "log_loss": log_loss(y_true, proba, classes),
    }


def aligned(proba: Any, model_classes: Sequence[str], classes: Sequence[str]) -> Any:
    """Probability columns reordered to ``classes``; a class the model never saw gets 0."""
    import numpy as np

    p = np.asarray(proba, dtype=np.float64)
    out = np.zeros((p.shape[0], len(classes)))
    where = {str(c): i for i, c in enumerate(model_classes)}
    for j, c in enumerate(classes):
        if c in where:
            out[:, j] = p[:, where[c]]
    return out


def check_enough(n: int, bins: int = BINS, what: str = "the evaluation data") -> None:
    """Refuse data with fewer sentences than calibration bins: the error per bin would be noise."""
    if n < bins:
        raise StanceError(
            f"too few sentences for calibration scores: {what} has {n}, "
            f"and the {bins} confidence bins need at least {bins} (bring more labelled sentences)"
        )
