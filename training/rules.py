"""The rule-based labeller as a scikit-learn estimator, so it sits in the same leaderboard.

It lives apart from :mod:`training.labeling` so that building a dataset, which only needs the
labelling functions, does not pay for importing scikit-learn.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from training.config import LabelingConfig
from training.labeling import apply_lfs, label_model_probabilities
from training.labels import LABELS


class RuleClassifier(ClassifierMixin, BaseEstimator):
    """The builder's labelling functions plus its label model, scored like any classifier.

    ``lexicons`` maps :class:`LabelingConfig` field names to cue lists (the builder records the
    ones it used in the dataset info). ``fit`` chooses and fits the label model on the training
    sentences, using their labels to choose between the models as the builder does on gold.
    """

    def __init__(self, lexicons: dict[str, Any] | None = None, label_model: str = "auto") -> None:
        self.lexicons = lexicons
        self.label_model = label_model

    def _config(self) -> LabelingConfig:
        values = dict(self.lexicons or {})
        values["label_model"] = self.label_model
        return LabelingConfig.model_validate(values)

    def fit(self, X: Sequence[str], y: Sequence[str] | None = None, sample_weight: Any = None) -> RuleClassifier:
        """Choose the label model on ``y`` (when given) and fit it on the votes for ``X``."""
        from training.label_model import fit_dawid_skene

        config = self._config()
        votes = apply_lfs(list(X), config)
        lookup = {label: i for i, label in enumerate(LABELS)}
        gold = np.array([lookup[v] for v in y], dtype=np.int64) if y is not None else np.full(len(votes), -1)
        _, chosen, _ = label_model_probabilities(votes, gold, config)
        self.chosen_model_ = chosen
        ds = fit_dawid_skene(votes, len(LABELS), config.dawid_skene_iterations)
        self.priors_, self.log_confusion_ = ds.priors, ds.log_confusion
        self.classes_ = np.array(LABELS)
        return self

    def predict_proba(self, X: Sequence[str]) -> np.ndarray:
        """Class probabilities in the order of ``classes_``."""
        from training.label_model import DawidSkene, majority_vote

        votes = apply_lfs(list(X), self._config())
        if self.chosen_model_ == "dawid_skene":
            return DawidSkene(self.priors_, self.log_confusion_).predict_proba(votes)
        return majority_vote(votes, len(LABELS))

    def predict(self, X: Sequence[str]) -> np.ndarray:
        """The most probable label of each sentence."""
        return self.classes_[self.predict_proba(X).argmax(axis=1)]
