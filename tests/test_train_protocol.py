"""training.train.protocol: the CV engine's per-fold features equal scikit-learn's, fold by fold."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose
from training import classifiers as reg
from training.train import prepare
from training.train.protocol import Features

from trainkit import make_dataset


@pytest.fixture(scope="module")
def data():
    return prepare(*make_dataset(n_docs=8), "tiny")


def _sklearn_fold(extractor, texts: list[str], rows, held) -> tuple:
    """The plain scikit-learn TfidfVectorizer with the extractor's settings, fitted on the fold's rows."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec, pre = extractor, None
    if hasattr(extractor, "steps"):  # the negation extractor: a stateless marker, then TF-IDF
        (_, pre), (_, vec) = extractor.steps
    plain = TfidfVectorizer(**{k: v for k, v in vec.get_params().items() if k in TfidfVectorizer().get_params()})
    docs = pre.transform(texts) if pre is not None else texts
    return plain.fit_transform([docs[i] for i in rows]), plain.transform([docs[i] for i in held])


@pytest.mark.parametrize(("features", "params"), [("word", {}), ("char", {"max_features": 40}), ("negation", {})])
def test_shared_count_features_equal_a_tfidf_vectorizer_fitted_on_each_fold(data, features: str, params: dict) -> None:
    feats = Features(data)
    rng = np.random.default_rng(0)
    for split in range(3):
        order = rng.permutation(len(data.texts))
        rows, held = np.sort(order[: len(order) * 2 // 3]), np.sort(order[len(order) * 2 // 3 :])
        xtr, xte = feats.get(features, params, ("fold", split), rows, held, "gold")
        want_tr, want_te = _sklearn_fold(reg.build_features(features, params), data.texts, rows, held)
        assert xtr.shape == want_tr.shape and xte.shape == want_te.shape
        assert_allclose(xtr.toarray(), want_tr.toarray(), rtol=0, atol=1e-12)
        assert_allclose(xte.toarray(), want_te.toarray(), rtol=0, atol=1e-12)


def test_fold_matrices_are_computed_once_and_dropped_for_other_extractors(data) -> None:
    feats = Features(data)
    rows, held = np.arange(0, len(data.texts), 2), np.arange(1, len(data.texts), 2)
    first = feats.get("word", {}, ("fold", 0), rows, held, "gold")
    assert feats.get("word", {}, ("fold", 0), rows, held, "gold") is first
    feats.get("char", {}, ("fold", 0), rows, held, "gold")
    feats.keep_only("char")
    assert feats.get("word", {}, ("fold", 0), rows, held, "gold") is not first
