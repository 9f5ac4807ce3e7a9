"""A calibrated champion: scikit-learn's ``CalibratedClassifierCV`` on grouped folds of gold sentences.

Three methods are tried (sigmoid, isotonic, temperature) and the one with the lowest
cross-validated log loss wins (ties to the first). Each is scored by grouped k-fold CV over
the pool: on each outer training part, ``CalibratedClassifierCV(ensemble=False)`` refits the
model on that part and fits the calibration map on its own inner grouped folds, so no held-out
sentence is seen by either. The uncalibrated model is scored on the same outer folds for
reference. The final model is the winner fitted the same way on every gold pool sentence.
Test sentences are never used here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from training import calibration, selective
from training.labels import LABELS

METHODS = ("sigmoid", "isotonic", "temperature")
TARGET_ACCURACY = 0.9  # the accuracy the validation threshold is chosen for


def _folds(labels: Any, groups: Any, folds: int, seed: int) -> list[tuple[Any, Any]]:
    """Stratified k-fold splits grouped by ``groups`` (every row held out once)."""
    import numpy as np
    from sklearn.model_selection import StratifiedGroupKFold

    cv = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    return list(cv.split(np.zeros(len(labels)), labels, groups=groups))


def _calibrated(
    make_base: Callable[[], Any], method: str, texts: list[str], labels: Any, groups: Any, folds: int, seed: int
) -> Any:
    """``CalibratedClassifierCV`` of a fresh base model, its map fitted on grouped out-of-fold scores."""
    from sklearn.calibration import CalibratedClassifierCV

    inner = _folds(labels, groups, folds, seed)
    model = CalibratedClassifierCV(make_base(), method=method, cv=inner, ensemble=False)
    return model.fit(texts, labels.tolist())


def choose_and_fit(
    make_base: Callable[[], Any],
    texts: list[str],
    labels: Any,
    groups: Any,
    folds: int,
    seed: int,
    methods: tuple[str, ...] = METHODS,
    target_accuracy: float = TARGET_ACCURACY,
) -> tuple[Any, dict[str, Any]]:
    """The calibrated model of the method with the lowest grouped-CV log loss, and the report behind the choice.

    The report holds ``method`` and, under ``cv``, ECE, Brier and log loss of every method and
    of the uncalibrated model (``none``) on the same out-of-fold predictions. Under
    ``validation_threshold`` it holds the smallest ``--min-confidence`` whose out-of-fold
    predictions of the chosen method reach ``target_accuracy`` (None when none does): a
    threshold chosen on held-out data, never on the test split.
    """
    import numpy as np

    rows = np.arange(len(texts))
    oof = {m: np.zeros((len(texts), len(LABELS))) for m in ("none", *methods)}
    for tr, te in _folds(labels, groups, folds, seed):
        train_texts, held = [texts[i] for i in tr], [texts[i] for i in rows[te]]
        base = make_base().fit(train_texts, labels[tr].tolist())
        oof["none"][te] = calibration.aligned(base.predict_proba(held), [str(c) for c in base.classes_], LABELS)
        for m in methods:
            cal = _calibrated(make_base, m, train_texts, labels[tr], groups[tr], folds, seed)
            oof[m][te] = calibration.aligned(cal.predict_proba(held), [str(c) for c in cal.classes_], LABELS)
    gold = labels.tolist()
    report = {m: calibration.scores(gold, p, LABELS) for m, p in oof.items()}
    best = min(methods, key=lambda m: (report[m]["log_loss"], methods.index(m)))
    predicted = [LABELS[i] for i in oof[best].argmax(axis=1)]
    threshold = selective.threshold_for(gold, predicted, oof[best], target_accuracy)
    model = _calibrated(make_base, best, texts, labels, groups, folds, seed)
    return model, {"method": best, "cv": report, "validation_threshold": threshold}


def at_threshold(y_true: list[str], proba: Any, threshold: float) -> dict[str, float]:
    """Accuracy and coverage of the sentences whose top probability is at least ``threshold``."""
    import numpy as np

    top, pred = proba.max(axis=1), proba.argmax(axis=1)
    kept = top >= threshold
    right = np.array([LABELS[p] == t for p, t in zip(pred, y_true)])
    accuracy = float(right[kept].mean()) if kept.any() else 0.0
    return {"accuracy": accuracy, "coverage": float(kept.mean()), "threshold": float(threshold)}
