"""The sentence-encoder transformer: a step of the models that use encoder vectors as features.

This module imports scikit-learn at the top, so nothing imports it at start-up: the feature
builder and the model loaders import it when they build or load a model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sklearn.base import BaseEstimator, TransformerMixin

from training import encoders


class SentenceEmbedder(TransformerMixin, BaseEstimator):
    """Sentences in, encoder vectors out: a stateless scikit-learn transformer.

    ``fit`` learns nothing from the data; it records the sha256 of the encoder's weights, which
    ``transform`` checks against the installed ones. ``nonnegative`` maps every value from
    [-1, 1] to [0, 1] (for classifiers such as complement naive Bayes that need non-negative
    input); the mapping is monotone, so no information is lost. ``backend`` runs the encoder
    with torch (sentence-transformers) or with ONNX Runtime (an ONNX export of the same weights,
    made once per machine; see :func:`training.encoder_runtime.onnx`).
    """

    def __init__(
        self,
        encoder: str = encoders.DEFAULT_ENCODER,
        batch_size: int = 64,
        nonnegative: bool = False,
        backend: str = "torch",
    ) -> None:
        self.encoder = encoder
        self.batch_size = batch_size
        self.nonnegative = nonnegative
        self.backend = backend

    def fit(self, X: Any, y: Any = None) -> Any:
        """Record the encoder's identity (its weights' sha256) and output width."""
        self.weights_sha256_ = encoders.weights_sha256(self.encoder)
        self.n_features_out_ = encoders.spec(self.encoder).dim
        return self

    def transform(self, X: Sequence[str]) -> Any:
        """The vectors of ``X`` (a list of sentences)."""
        expected = getattr(self, "weights_sha256_", None)
        if expected is not None:
            encoders.check_weights(self.encoder, expected)
        # models saved before the backend parameter existed have no such attribute
        vecs = encoders.embed(self.encoder, list(X), self.batch_size, getattr(self, "backend", "torch"))
        return (vecs + 1.0) * 0.5 if self.nonnegative else vecs
