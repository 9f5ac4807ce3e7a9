"""Weak labels for sentences without gold: the labelling functions, a trained model, or both.

``rules`` (the default) combines the labelling functions' votes with the label model chosen in
:mod:`training.labeling`. ``model`` takes a trained model's most probable label, its probability
as the confidence. ``both`` adds the model to the labelling functions as one more voter (it votes
when its top probability reaches :data:`MODEL_VOTE_MIN`) and lets the label model combine them.

The build also checks what came out: one label taking most weak labels, or an empty split, is
a warning line each, and with gold present every source is scored against it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from training.config import LabelingConfig
from training.errors import StanceError
from training.labeling import LABELING_FUNCTIONS, WeakLabels, macro_f1, weak_labels_from_votes
from training.labels import LABELS

WEAK_SOURCES = ("rules", "model", "both")
MODEL_VOTE_MIN = 0.5  # the model abstains below this top probability when it is one voter among many
DOMINANT_SHARE = 0.8  # one label above this share of the weak labels is worth a warning
MODEL_SOURCE = "model"


def check_source(mode: str, model: str | None) -> None:
    """Refuse an unknown ``--weak-labels`` value or a model that is not there, before any work."""
    if mode not in WEAK_SOURCES:
        raise StanceError(f"unknown --weak-labels {mode!r} (use one of {', '.join(WEAK_SOURCES)})")
    if mode != "rules":
        from training.predict import check_model_location

        check_model_location(model or "models/stance-classifier")


class ModelVoter:
    """A trained stance model used as a source of weak labels: probabilities in :data:`LABELS` order."""

    def __init__(self, uri: str) -> None:
        from training.predict import load_model

        self.model = load_model(uri)
        self.uri = uri
        if tuple(self.model.labels) != tuple(LABELS):
            raise StanceError(
                f"labels do not match: the model {uri} predicts {list(self.model.labels)}, "
                f"the dataset uses {list(LABELS)} (pass a stance model with --model)"
            )

    def proba(self, texts: Sequence[str]) -> np.ndarray:
        """``(len(texts), 3)`` probabilities of favor, against, neutral."""
        return np.asarray(self.model.predict_proba_array(list(texts)), dtype=np.float32)


def model_votes(proba: np.ndarray) -> np.ndarray:
    """The model's vote per sentence: its top label, or abstain (-1) below :data:`MODEL_VOTE_MIN`."""
    top = proba.argmax(axis=1).astype(np.int8)
    return np.where(proba.max(axis=1) >= MODEL_VOTE_MIN, top, -1).astype(np.int8)


def combine(
    votes: np.ndarray, gold: np.ndarray, config: LabelingConfig, mode: str, proba: np.ndarray | None
) -> tuple[WeakLabels, np.ndarray, list[str]]:
    """Weak labels by ``mode``, the vote matrix behind them and the names of its columns."""
    names = list(LABELING_FUNCTIONS)
    if mode == "rules" or proba is None:
        return weak_labels_from_votes(votes, gold, config), votes, names
    if mode == "both":
        extended = np.column_stack([votes, model_votes(proba)])
        weak = weak_labels_from_votes(extended, gold, config)
        return weak, extended, [*names, MODEL_SOURCE]
    labels = proba.argmax(axis=1).astype(np.int8)
    graded = gold >= 0
    score = macro_f1(gold[graded], labels[graded]) if graded.any() else float("nan")
    accuracy = float((labels[graded] == gold[graded]).mean()) if graded.any() else float("nan")
    weak = WeakLabels(
        labels,
        proba.max(axis=1).astype(np.float64),
        MODEL_SOURCE,
        {MODEL_SOURCE: score},
        "--weak-labels model: the model's most probable label, its probability as confidence",
        {MODEL_SOURCE: accuracy},
    )
    return weak, votes, names


def source_accuracy(gold: np.ndarray, weak: WeakLabels, proba: np.ndarray | None) -> list[dict[str, Any]]:
    """Accuracy and macro-F1 against gold of each weak-label source (empty without gold)."""
    graded = gold >= 0
    n = int(graded.sum())
    if not n:
        return []
    rows = []
    for name, score in weak.gold_scores.items():
        accuracy = (weak.gold_accuracy or {}).get(name, float("nan"))
        rows.append(
            {"source": name, "gold_sentences": n, "accuracy": accuracy, "macro_f1": score, "used": name == weak.model}
        )
    if proba is not None and MODEL_SOURCE not in weak.gold_scores:
        labels = proba.argmax(axis=1)[graded]
        rows.append(
            {
                "source": MODEL_SOURCE,
                "gold_sentences": n,
                "accuracy": float((labels == gold[graded]).mean()),
                "macro_f1": macro_f1(gold[graded], labels),
                "used": False,
            }
        )
    return rows


def label_warnings(labels: np.ndarray, gold: np.ndarray, sizes: Mapping[str, int], documents: int) -> list[str]:
    """One line per problem a user should see: a dominant weak label, an empty split."""
    out = []
    weak = labels[gold < 0]
    if weak.size:
        counts = np.bincount(weak.astype(np.int64), minlength=len(LABELS))
        top = int(counts.argmax())
        share = counts[top] / weak.size
        if share > DOMINANT_SHARE:
            out.append(
                f"{LABELS[top]} takes {share:.0%} of the {weak.size} weak labels (the cues in configs/dataset.yaml "
                "may not fit these documents; label some sentences with `stance queue` and `stance annotate`)"
            )
    for split, n in sizes.items():
        if not n:
            out.append(
                f"the {split} split is empty ({documents} documents in all; whole documents go to one split, "
                "so add documents before training)"
            )
    return out
