"""A fitted text classifier with its label names: what every way of loading a model returns.

A leaf module, so that the MLflow side (:mod:`training.tracking`, :mod:`training.serving`)
and the prediction stage (:mod:`training.predict`) share it without importing each other.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from training.errors import StanceError
from training.persistence import labels_of


class StanceModel:
    """A fitted text classifier and its label names.

    ``predict_proba`` returns one ``{label: probability}`` dict per sentence;
    ``predict_proba_array`` returns the same numbers as a ``(n, len(labels))`` numpy array
    whose columns follow :attr:`labels` (favor, against, neutral for our models), which is
    cheaper for large batches. A model without ``predict_proba`` gets a softmax over its
    decision scores (:attr:`calibrated` is then False): they rank like probabilities but are
    not calibrated.
    """

    def __init__(self, estimator: Any, metadata: Mapping[str, Any] | None = None, source: str = "") -> None:
        import numpy as np

        from training.labels import LABELS

        self.estimator = estimator
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.source = source
        columns = labels_of(estimator)
        recorded = self.metadata.get("labels")
        if recorded is not None and list(recorded) != columns:
            raise StanceError(
                f"labels do not match: {source or 'the model'} metadata lists {list(recorded)} but the model's "
                f"classes are {columns} (export the model again)"
            )
        if len(set(columns)) != len(columns):
            raise StanceError(f"the model at {source or '?'} has repeated labels {columns} (export it again)")
        # Our three labels always come out in their canonical order; other label sets keep the model's.
        self.labels: tuple[str, ...] = tuple(LABELS) if set(columns) == set(LABELS) else tuple(columns)
        self._columns = tuple(columns)
        self._order = np.array([columns.index(label) for label in self.labels])
        self._back = np.argsort(self._order)  # from our column order back to the model's
        self._identity = bool((self._order == np.arange(len(columns))).all())
        self.calibrated: bool = hasattr(estimator, "predict_proba")

    def __repr__(self) -> str:
        return f"StanceModel(source={self.source!r}, labels={list(self.labels)})"

    def predict_proba_array(self, texts: Sequence[str] | str) -> Any:
        """Probabilities as a float array of shape ``(len(texts), len(labels))``."""
        import numpy as np

        batch = _as_texts(texts)
        if not batch:
            return np.zeros((0, len(self.labels)))
        if self.calibrated:
            proba = np.asarray(self.estimator.predict_proba(batch), dtype=np.float64)
        else:
            scores = np.asarray(self.estimator.decision_function(batch), dtype=np.float64)
            if scores.ndim == 1:  # two classes: one score, positive for classes_[1]
                scores = np.column_stack([-scores, scores])
            scores -= scores.max(axis=1, keepdims=True)
            proba = np.exp(scores)
            proba /= proba.sum(axis=1, keepdims=True)
        return proba if self._identity else proba[:, self._order]

    def label_array(self, proba: Any) -> list[str]:
        """Labels of the rows of a probability array (the most probable column).

        Ties go to the label the model lists first, as the model's own ``predict`` does.
        """
        columns = self._columns
        raw = proba if self._identity else proba[:, self._back]
        return [columns[i] for i in raw.argmax(axis=1).tolist()]

    def predict_proba(self, texts: Sequence[str] | str) -> list[dict[str, float]]:
        """One ``{label: probability}`` dict per sentence, labels in :attr:`labels` order."""
        labels = self.labels
        return [dict(zip(labels, row)) for row in self.predict_proba_array(texts).tolist()]

    def predict(self, texts: Sequence[str] | str, min_confidence: float | None = None) -> list[str]:
        """The most probable label of each sentence; ``uncertain`` where its probability is below ``min_confidence``."""
        from training.selective import abstain, check_min_confidence

        check_min_confidence(min_confidence, "min_confidence")
        proba = self.predict_proba_array(texts)
        return abstain(self.label_array(proba), proba, min_confidence)


def _as_texts(texts: Sequence[str] | str | Iterable[str]) -> list[str]:
    """Accept one string or a sequence of strings; refuse anything else with a clear message."""
    if isinstance(texts, str):
        return [texts]
    batch = texts if isinstance(texts, list) else list(texts)
    for i, t in enumerate(batch):
        if not isinstance(t, str):
            raise StanceError(f"not a sentence: item {i} is {type(t).__name__}, expected str")
    return batch
