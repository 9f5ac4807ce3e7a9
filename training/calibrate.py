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

from training import calibration
from training.config import LABELS

METHODS = ("sigmoid", "isotonic", "temperature")


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
) -> tuple[Any, dict[str, Any]]:
    """The calibrated model of the method with the lowest grouped-CV log loss, and the report behind the choice.

    The report holds ``method`` and, under ``cv``, ECE, Brier and log loss of every method and
    of the uncalibrated model (``none``) on the same out-of-fold predictions.
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
    return _calibrated(make_base, best, texts, labels, groups, folds, seed), {"method": best, "cv": report}
