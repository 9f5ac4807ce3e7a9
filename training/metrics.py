"""Scores and paired comparisons as pure functions of labels and numbers.

Per-class F1 follows scikit-learn's convention (0 when a class has no true and no predicted
example), so ``macro_f1`` equals ``f1_score(..., labels=LABELS, average="macro")``.
``F_avg`` is the SemEval stance measure: the mean F1 of the two stance classes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from training.labels import LABELS


def confusion(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str] = LABELS) -> list[list[int]]:
    """Counts ``[true][pred]`` in ``labels`` order; labels outside ``labels`` are ignored."""
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true has {len(y_true)} labels but y_pred has {len(y_pred)}")
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for t, p in zip(y_true, y_pred):
        i, j = index.get(str(t)), index.get(str(p))
        if i is not None and j is not None:
            matrix[i][j] += 1
    return matrix


def per_class(
    y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str] = LABELS
) -> dict[str, dict[str, float]]:
    """Precision, recall, F1 and support of each label."""
    m = confusion(y_true, y_pred, labels)
    out: dict[str, dict[str, float]] = {}
    for i, label in enumerate(labels):
        tp = m[i][i]
        support = sum(m[i])
        predicted = sum(row[i] for row in m)
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * tp / (support + predicted) if support + predicted else 0.0
        out[label] = {"precision": precision, "recall": recall, "f1": f1, "support": float(support)}
    return out


def macro_f1(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str] = LABELS) -> float:
    """Unweighted mean F1 over ``labels``."""
    report = per_class(y_true, y_pred, labels)
    return sum(r["f1"] for r in report.values()) / len(labels)


def f_avg(y_true: Sequence[str], y_pred: Sequence[str]) -> float:
    """Mean F1 of ``favor`` and ``against`` (neutral is left out, as in SemEval stance)."""
    report = per_class(y_true, y_pred, LABELS)
    return (report["favor"]["f1"] + report["against"]["f1"]) / 2


def accuracy(y_true: Sequence[str], y_pred: Sequence[str]) -> float:
    """Share of exact matches (0 for no examples)."""
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true has {len(y_true)} labels but y_pred has {len(y_pred)}")
    return sum(str(t) == str(p) for t, p in zip(y_true, y_pred)) / len(y_true) if len(y_true) else 0.0


def scores(y_true: Sequence[str], y_pred: Sequence[str]) -> dict[str, float]:
    """The three headline scores: ``macro_f1``, ``f_avg`` and ``accuracy``."""
    report = per_class(y_true, y_pred, LABELS)
    return {
        "macro_f1": sum(r["f1"] for r in report.values()) / len(LABELS),
        "f_avg": (report["favor"]["f1"] + report["against"]["f1"]) / 2,
        "accuracy": accuracy(y_true, y_pred),
    }


def report_text(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str] = LABELS) -> str:
    """A fixed-width per-class table with the headline scores underneath."""
    report = per_class(y_true, y_pred, labels)
    lines = [f"{'label':<10}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}"]
    for label, r in report.items():
        lines.append(f"{label:<10}{r['precision']:>10.4f}{r['recall']:>10.4f}{r['f1']:>10.4f}{int(r['support']):>10d}")
    s = scores(y_true, y_pred)
    lines.append("")
    lines.append(
        f"macro-F1 {s['macro_f1']:.4f}   F_avg {s['f_avg']:.4f}   accuracy {s['accuracy']:.4f}   n={len(y_true)}"
    )
    return "\n".join(lines) + "\n"


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (``ddof=1``; 0 for fewer than two values)."""
    n = len(values)
    if n == 0:
        return (math.nan, math.nan)
    mean = math.fsum(values) / n
    if n < 2:
        return (mean, 0.0)
    var = math.fsum((v - mean) ** 2 for v in values) / (n - 1)
    return (mean, math.sqrt(var))


def corrected_ttest(diffs: Sequence[float], test_train_ratio: float) -> tuple[float, float]:
    """Nadeau-Bengio corrected resampled t-test on paired score differences.

    ``diffs`` are the per-split differences of two models evaluated on the same ``J`` splits
    (for ``r`` repeats of ``k``-fold CV, ``J = r*k`` and ``test_train_ratio = 1/(k-1)``). The
    usual t-test treats the splits as independent and is far too eager to declare a winner;
    the correction inflates the variance by ``J * n_test/n_train`` to account for the overlap
    of training sets. Returns ``(t, two-sided p)``; identical models give ``(0, 1)``.
    """
    from scipy import stats

    j = len(diffs)
    if j < 2:
        raise ValueError(f"the corrected t-test needs at least 2 paired differences, got {j}")
    mean, std = mean_std(diffs)
    var = (1.0 / j + test_train_ratio) * std * std
    if var == 0.0:
        return (0.0, 1.0) if mean == 0.0 else (math.copysign(math.inf, mean), 0.0)
    t = mean / math.sqrt(var)
    p = 2.0 * float(stats.t.sf(abs(t), df=j - 1))
    return (t, min(1.0, p))


def bootstrap_ci(diffs: Sequence[float], alpha: float, samples: int, seed: int) -> tuple[float, float]:
    """Percentile bootstrap ``(low, high)`` interval of the mean paired difference."""
    import numpy as np

    if len(diffs) < 2:
        raise ValueError(f"the bootstrap needs at least 2 paired differences, got {len(diffs)}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    values = np.asarray(diffs, dtype=np.float64)
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(samples, len(values)))].mean(axis=1)
    low, high = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    return (float(low), float(high))


def paired_tie(
    best: Sequence[float],
    other: Sequence[float],
    *,
    method: str,
    alpha: float,
    test_train_ratio: float,
    samples: int = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    """Whether ``other`` is statistically indistinguishable from ``best`` on the same splits.

    Returns ``mean_diff`` (best minus other), ``p_value`` (t-test) or ``ci_low``/``ci_high``
    (bootstrap), and ``tied``: ``p >= alpha`` or an interval containing 0.
    """
    if len(best) != len(other):
        raise ValueError(f"paired scores must cover the same splits: {len(best)} vs {len(other)}")
    diffs = [b - o for b, o in zip(best, other)]
    mean = math.fsum(diffs) / len(diffs)
    if method == "corrected_ttest":
        t, p = corrected_ttest(diffs, test_train_ratio)
        return {"mean_diff": mean, "t": t, "p_value": p, "tied": p >= alpha}
    if method == "bootstrap":
        low, high = bootstrap_ci(diffs, alpha, samples, seed)
        return {"mean_diff": mean, "ci_low": low, "ci_high": high, "tied": low <= 0.0 <= high}
    raise ValueError(f"unknown comparison method {method!r} (use corrected_ttest or bootstrap)")
