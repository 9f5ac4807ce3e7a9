"""The names a config may use: feature extractors and classifiers, each with its builder.

A builder's keyword arguments are the parameters a config may set or search over, so a typo in
``configs/train.yaml`` is caught by name before any training.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from training.classifiers import features, models


@dataclass(frozen=True)
class Component:
    """One registry entry: a builder and what the leaderboard needs to know about it."""

    name: str
    summary: str
    build: Callable[..., Any]
    needs_features: bool = True
    baseline: bool = False
    cost: float = 1.0  # rough relative CPU cost of one fit, to schedule long candidates first

    @property
    def param_names(self) -> tuple[str, ...]:
        """Keyword arguments a config may set (the builder's, minus ``seed``)."""
        return tuple(p for p in inspect.signature(self.build).parameters if p != "seed")

    @property
    def defaults(self) -> dict[str, Any]:
        """Default value of each parameter."""
        return {n: p.default for n, p in inspect.signature(self.build).parameters.items() if n != "seed"}


FEATURES: dict[str, Component] = {
    c.name: c
    for c in (
        Component("word", "word 1-2-gram TF-IDF", features.word),
        Component("char", "character 2-5-gram TF-IDF (within word boundaries)", features.char, cost=2.5),
        Component("word_char", "union of word and character TF-IDF", features.word_char, cost=3.0),
        Component("negation", "word TF-IDF over text with negation/modality scopes marked", features.negation),
        Component(
            "embedding",
            "sentence-encoder vectors (feature_params.encoder picks the encoder)",
            features.embedding,
            cost=0.3,
        ),
        Component("none", "raw sentences (for classifiers that read text themselves)", features.no_features),
    )
}

CLASSIFIERS: dict[str, Component] = {
    c.name: c
    for c in (
        Component("logreg", "logistic regression", models.logreg),
        Component("linear_svc", "linear SVM with calibrated probabilities", models.linear_svc, cost=2.0),
        Component("complement_nb", "complement naive Bayes", models.complement_nb, cost=0.1),
        Component("sgd", "linear model trained by SGD (modified Huber loss)", models.sgd, cost=0.6),
        Component("ridge", "ridge classifier with calibrated probabilities", models.ridge, cost=1.2),
        Component("random_forest", "random forest on a truncated-SVD reduction", models.random_forest, cost=4.0),
        Component("knn", "k nearest neighbours (cosine)", models.knn, cost=0.3),
        Component(
            "soft_vote",
            "soft vote of TF-IDF logistic regression and encoder-vector logistic regression",
            models.soft_vote,
            needs_features=False,
            cost=5.0,
        ),
        Component(
            "finetune",
            "encoder fine-tuned end to end (top layers and a linear head, PyTorch)",
            models.finetune,
            needs_features=False,
            cost=60.0,
        ),
        Component(
            "dummy", "prior-class baseline (the floor)", models.dummy, needs_features=False, baseline=True, cost=0.01
        ),
        Component(
            "rules",
            "the dataset builder's labelling functions and label model",
            models.rules,
            needs_features=False,
            baseline=True,
            cost=3.0,
        ),
    )
}


def build_features(name: str, params: Mapping[str, Any]) -> Any:
    """A fresh, unfitted feature extractor (``None`` for ``none``)."""
    return FEATURES[name].build(**params)


def build_classifier(name: str, params: Mapping[str, Any], seed: int) -> Any:
    """A fresh, unfitted classifier seeded with ``seed``."""
    return CLASSIFIERS[name].build(seed, **params)


def unknown_params(component: Component, params: Mapping[str, Any]) -> list[str]:
    """Names in ``params`` the component's builder does not take."""
    return [k for k in params if k not in component.param_names]
