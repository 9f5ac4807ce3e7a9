"""Our own transformers: text column, scope marker, compact TF-IDF vocabulary; their old paths."""

from __future__ import annotations

import pickle

from training import classifiers as reg

from test_classifiers import corpus


def test_our_estimators_are_trusted_by_their_path_and_by_the_package_path() -> None:
    from training.classifiers.estimators import OWN_CLASSES
    from training.persistence import TRUSTED_TYPES

    assert {c.__name__ for c in OWN_CLASSES} == set(reg.MOVED_CLASSES)
    for cls in OWN_CLASSES:
        assert f"training.classifiers.estimators.{cls.__name__}" in TRUSTED_TYPES
        assert f"training.classifiers.{cls.__name__}" in TRUSTED_TYPES  # models saved before the move
        assert getattr(reg, cls.__name__) is cls


def test_text_column_takes_lists_arrays_series_and_dataframes() -> None:
    import numpy as np
    import pandas as pd

    col = reg.TextColumn()
    s = ["a b", "c d"]
    for x in (s, np.array(s), pd.Series(s), pd.DataFrame({"text": s}), pd.DataFrame({"other": s}), [[t] for t in s]):
        assert col.transform(x) == s
    assert col.transform("a b") == ["a b"]


def test_compact_vectorizer_keeps_its_vocabulary_through_pickle_and_skops() -> None:
    import skops.io as sio
    from training.persistence import TRUSTED_TYPES

    texts, _ = corpus()
    vec = reg.build_features("word", {}).fit(texts)
    state = vec.__getstate__()
    assert "vocabulary_" not in state and isinstance(state["vocabulary_terms_"], str)
    for copy in (pickle.loads(pickle.dumps(vec)), sio.loads(sio.dumps(vec), trusted=TRUSTED_TYPES)):
        assert copy.vocabulary_ == vec.vocabulary_
        assert (copy.transform(texts) != vec.transform(texts)).nnz == 0
