"""Label models over the labelling functions' votes, and the table that analyses the functions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from training.config import LabelingConfig
from training.labeling.functions import LABELING_FUNCTIONS, apply_lfs
from training.labels import LABELS


@dataclass(frozen=True)
class WeakLabels:
    """Weak labels for every sentence plus how the label model was chosen."""

    labels: np.ndarray  # (n,) class index
    confidence: np.ndarray  # (n,) probability of that class
    model: str  # "majority" or "dawid_skene"
    gold_scores: dict[str, float]  # macro-F1 on gold of each candidate label model
    reason: str = ""  # why that label model was used
    gold_accuracy: dict[str, float] | None = None  # accuracy on gold of each candidate label model


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray, k: int = 3) -> float:
    """Unweighted mean over the ``k`` classes of each class's F1 (0 for a class never hit)."""
    scores = []
    for c in range(k):
        tp = float(np.sum((y_pred == c) & (y_true == c)))
        fp = float(np.sum((y_pred == c) & (y_true != c)))
        fn = float(np.sum((y_pred != c) & (y_true == c)))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(scores) / k


def _choose_label_model(
    votes: np.ndarray, gold: np.ndarray, config: LabelingConfig
) -> tuple[np.ndarray, np.ndarray, str, dict[str, float], str, dict[str, float]]:
    """The configured label model fitted on distinct vote patterns; ``auto`` picks the better on gold.

    Sentences with the same votes get the same probabilities, and a large corpus has far
    fewer distinct patterns than sentences, so both models work on the patterns (weighted by
    how often each occurs) and never hold an (n, k) array. Returns the probabilities of each
    pattern, the pattern of each sentence, the chosen model, every model's macro-F1 on gold,
    why the model was chosen and every model's accuracy on gold.

    Without gold, ``auto`` takes the majority vote: Dawid-Skene fitted on votes alone can
    settle on a solution where one class explains every pattern (two short op-eds came out
    all ``favor``), and with no gold there is nothing to notice it by.
    """
    from training.label_model import fit_dawid_skene, majority_vote

    k = len(LABELS)
    patterns, inverse, weights = np.unique(votes, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    candidates = {
        "majority": majority_vote(patterns, k),
        "dawid_skene": fit_dawid_skene(patterns, k, config.dawid_skene_iterations, weights=weights).predict_proba(
            patterns
        ),
    }
    has_gold = gold >= 0
    graded = gold[has_gold]
    nan = float("nan")
    predicted = {name: probs.argmax(axis=1)[inverse[has_gold]] for name, probs in candidates.items()}
    scores = {name: (macro_f1(graded, p) if graded.size else nan) for name, p in predicted.items()}
    accuracy = {name: (float((p == graded).mean()) if graded.size else nan) for name, p in predicted.items()}
    chosen: str
    if config.label_model != "auto":
        chosen, reason = config.label_model, "set by labeling.label_model"
    elif graded.size:
        chosen = max(scores, key=lambda name: (scores[name], name == "majority"))
        reason = f"the better macro-F1 on {graded.size} gold sentences"
    else:
        chosen = "majority"
        reason = "no gold sentences to choose on, and Dawid-Skene can collapse onto one class without them"
    return candidates[chosen], inverse, chosen, scores, reason, accuracy


def label_model_probabilities(
    votes: np.ndarray, gold: np.ndarray, config: LabelingConfig
) -> tuple[np.ndarray, str, dict[str, float]]:
    """Probabilities from the configured label model; ``auto`` picks the better one on gold.

    ``gold`` holds class indices, -1 where a sentence has no gold label.
    """
    probs, inverse, chosen, scores, _, _ = _choose_label_model(votes, gold, config)
    return probs[inverse], chosen, scores


def weak_labels(texts: Sequence[str], gold: np.ndarray, config: LabelingConfig) -> tuple[WeakLabels, np.ndarray]:
    """Apply the labelling functions and the label model; return weak labels and the raw votes."""
    votes = apply_lfs(texts, config)
    return weak_labels_from_votes(votes, gold, config), votes


def weak_labels_from_votes(votes: np.ndarray, gold: np.ndarray, config: LabelingConfig) -> WeakLabels:
    """The label model's label and confidence for every sentence, from votes already cast."""
    probs, inverse, chosen, scores, reason, accuracy = _choose_label_model(votes, gold, config)
    return WeakLabels(
        probs.argmax(axis=1).astype(np.int8)[inverse], probs.max(axis=1)[inverse], chosen, scores, reason, accuracy
    )


def lf_analysis(votes: np.ndarray, gold: np.ndarray, names: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Coverage, overlap, conflict and accuracy against gold of every labelling function.

    Per-class columns give the precision of the function's votes for that class on gold
    sentences (empty where it never votes that class there). ``names`` labels the columns of
    ``votes`` when there are more than the labelling functions (the model as a voter).
    """
    n = max(votes.shape[0], 1)
    active = votes >= 0
    n_active = active.sum(axis=1)
    has_gold = gold >= 0
    rows = []
    for j, name in enumerate(names or LABELING_FUNCTIONS):
        col = votes[:, j]
        on = active[:, j]
        others_on = n_active - on > 0
        conflict = np.zeros(votes.shape[0], dtype=bool)
        for jj in range(votes.shape[1]):
            if jj != j:
                conflict |= on & active[:, jj] & (votes[:, jj] != col)
        graded = on & has_gold
        row: dict[str, Any] = {
            "function": name,
            "coverage": float(on.sum() / n),
            "overlap": float((on & others_on).sum() / n),
            "conflict": float(conflict.sum() / n),
            "gold_votes": int(graded.sum()),
            "accuracy": float((col[graded] == gold[graded]).mean()) if graded.any() else None,
        }
        for c, label in enumerate(LABELS):
            mask = graded & (col == c)
            row[f"precision_{label}"] = float((gold[mask] == c).mean()) if mask.any() else None
            row[f"votes_{label}"] = int(mask.sum())
        rows.append(row)
    return rows
