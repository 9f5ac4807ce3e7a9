"""Per-fold TF-IDF features cut from shared counts equal those of the extractor fitted on the fold."""

from __future__ import annotations

import pytest
from training import classifiers as reg

from test_classifiers import corpus


@pytest.mark.parametrize(
    ("features", "params"),
    [
        ("word", {}),
        ("word", {"min_df": 2}),
        ("word", {"max_features": 25}),
        ("word", {"ngram_max": 3, "min_df": 0.05}),
        ("char", {}),
        ("char", {"max_features": 40}),
        ("word_char", {}),
        ("negation", {"min_df": 2}),
    ],
)
def test_fold_features_equal_fitting_the_extractor_on_each_fold(features: str, params: dict) -> None:
    import numpy as np
    from sklearn.base import clone

    texts, _ = corpus()
    ext = reg.build_features(features, params)
    ff = reg.FoldFeatures(ext, texts)
    assert ff.fast
    rng = np.random.default_rng(0)
    for _ in range(3):
        order = rng.permutation(len(texts))
        train, test = np.sort(order[:36]), np.sort(order[36:])
        a, b = ff.fold(train, test)
        fitted = clone(ext)
        a2 = fitted.fit_transform([texts[i] for i in train])
        b2 = fitted.transform([texts[i] for i in test])
        assert a.shape == a2.shape and b.shape == b2.shape
        assert abs(a - a2).max() < 1e-12 and abs(b - b2).max() < 1e-12


def test_fold_features_fall_back_to_fitting_other_extractors() -> None:
    from sklearn.feature_extraction.text import CountVectorizer

    texts, _ = corpus()
    ff = reg.FoldFeatures(CountVectorizer(), texts)
    assert not ff.fast
    a, b = ff.fold(list(range(30)), list(range(30, 48)))
    assert a.shape[0] == 30 and b.shape[0] == 18 and a.shape[1] == b.shape[1]
