"""The sentence-encoder transformer: weights recorded at fit, checked at transform; its old path."""

from __future__ import annotations

import pytest
from training import encoders
from training.encoders.embedder import SentenceEmbedder
from training.errors import StanceError

SENTENCES = [
    "Riyadh restored ties with Damascus.",
    "Ankara refused to reopen the border.",
    "The weather was mild.",
    "Riyadh restored ties with Damascus.",
]


@pytest.fixture(autouse=True)
def _fresh_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """No disk cache and an empty memory cache in every test."""
    monkeypatch.delenv(encoders.CACHE_ENV, raising=False)
    monkeypatch.setitem(encoders._STATE, "cache", None)
    monkeypatch.setitem(encoders._STATE, "memory", {})


def test_the_transformer_records_the_weights_and_maps_to_nonnegative_on_request() -> None:
    import numpy as np
    from sklearn.base import clone

    emb = SentenceEmbedder(encoder="hashing")
    out = emb.fit(SENTENCES).transform(SENTENCES)
    assert emb.weights_sha256_ == encoders.weights_sha256("hashing")
    assert out.shape == (4, 256) and out.min() < 0
    pos = clone(emb).set_params(nonnegative=True).fit(SENTENCES).transform(SENTENCES)
    assert pos.min() >= 0.0 and pos.max() <= 1.0
    assert np.allclose(pos, (out + 1.0) / 2.0)


def test_changed_weights_are_refused_with_one_line() -> None:
    emb = SentenceEmbedder(encoder="hashing").fit(SENTENCES)
    emb.weights_sha256_ = "0" * 64
    with pytest.raises(StanceError, match="encoder weights differ from those the model was trained with"):
        emb.transform(SENTENCES)


def test_the_package_path_of_models_saved_before_the_move_still_resolves() -> None:
    from training.persistence import TRUSTED_TYPES

    assert encoders.SentenceEmbedder is SentenceEmbedder
    assert {"training.encoders.SentenceEmbedder", "training.encoders.embedder.SentenceEmbedder"} <= set(TRUSTED_TYPES)
    with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
        encoders.Nope  # noqa: B018
