"""The registry of extractors and classifiers, our transformers and the per-fold feature cache."""

from __future__ import annotations

import pickle

import pytest
from training import classifiers as reg
from training.config import LABELS
from training.persistence import dump_bytes, untrusted_types

from trainkit import AGAINST, FAVOR, NEUTRAL, PAIRS, make_dataset

# Small enough parameters for 48 sentences.
SMALL = {
    "random_forest": {"n_components": 8, "n_estimators": 10},
    "knn": {"n_neighbors": 3},
    "linear_svc": {"calibration_folds": 2},
    "ridge": {"calibration_folds": 2},
}


def _corpus() -> tuple[list[str], list[str]]:
    texts, labels = [], []
    for a, b in PAIRS[:4]:
        for group, label in ((FAVOR, "favor"), (AGAINST, "against"), (NEUTRAL, "neutral")):
            for template in group:
                texts.append(template.format(a=a, b=b))
                labels.append(label)
    return texts, labels


def _lexicons() -> dict:
    info = make_dataset(n_docs=5)[1]
    return {"lexicons": {k: v for k, v in info["labeling"].items() if k != "label_model"}}


def test_mark_scopes_marks_negation_and_modality_until_punctuation_or_contrast() -> None:
    assert reg.mark_scopes("The US will not normalize relations with Syria, but it might reconsider.") == (
        "the us will not neg_normalize neg_relations neg_with neg_syria , but it might mod_reconsider ."
    )
    assert reg.mark_scopes("They don’t support ties.") == "they don't neg_support neg_ties ."
    assert reg.mark_scopes("Ties were restored.") == "ties were restored ."
    assert reg.mark_scopes("No deal, however talks go on", negators=("no",)) == "no neg_deal , however talks go on"


def test_registry_names_and_parameters() -> None:
    assert {"logreg", "linear_svc", "complement_nb", "sgd", "ridge", "random_forest", "knn", "dummy", "rules"} <= set(
        reg.CLASSIFIERS
    )
    assert {"word", "char", "word_char", "negation", "embedding", "none"} == set(reg.FEATURES)
    assert "seed" not in reg.CLASSIFIERS["logreg"].param_names
    assert "C" in reg.CLASSIFIERS["logreg"].param_names
    assert reg.CLASSIFIERS["knn"].defaults["n_neighbors"] == 15
    assert reg.unknown_params(reg.CLASSIFIERS["logreg"], {"C": 1, "CC": 2}) == ["CC"]
    assert reg.CLASSIFIERS["dummy"].baseline and reg.CLASSIFIERS["rules"].baseline
    assert not reg.CLASSIFIERS["soft_vote"].needs_features and not reg.CLASSIFIERS["soft_vote"].baseline
    assert not reg.CLASSIFIERS["dummy"].needs_features


def _pairs() -> list[tuple[str, str]]:
    out = []
    for name, comp in reg.CLASSIFIERS.items():
        if name == "finetune":  # tests/test_finetune.py, on a tiny encoder
            continue
        if comp.needs_features:
            out += [(f, name) for f in reg.FEATURES if f != "none"]
        else:
            out.append(("none", name))
    return out


@pytest.mark.parametrize(("features", "classifier"), _pairs())
def test_every_classifier_fits_predicts_probabilities_and_round_trips_through_skops(
    features: str, classifier: str
) -> None:
    import numpy as np
    import skops.io as sio
    from training.persistence import TRUSTED_TYPES

    texts, labels = _corpus()
    params = dict(SMALL.get(classifier, {}))
    if classifier == "rules":
        params.update(_lexicons())
    if classifier == "soft_vote":
        params["encoder"] = "hashing"
    # Encoder features with the small hashing encoder here; tests/test_encoders.py runs the real one.
    fparams = {"encoder": "hashing", "nonnegative": classifier == "complement_nb"} if features == "embedding" else {}
    model = reg.assemble(reg.build_features(features, fparams), reg.build_classifier(classifier, params, seed=3))
    reg.fit(model, texts, labels)
    assert sorted(model.classes_) == sorted(LABELS)  # string labels in, label names out
    proba = model.predict_proba(texts)
    assert proba.shape == (len(texts), 3)
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert set(model.predict(texts)) <= set(LABELS)
    if classifier != "dummy":
        accuracy = sum(p == y for p, y in zip(model.predict(texts), labels)) / len(labels)
        assert accuracy > 0.6, f"{features}+{classifier} did not learn the training set ({accuracy:.2f})"
    data = dump_bytes(model)
    assert untrusted_types(data) == []
    loaded = sio.loads(data, trusted=TRUSTED_TYPES)
    assert np.array_equal(loaded.predict_proba(texts), proba)


def test_our_estimators_are_trusted_by_their_path_and_by_the_package_path() -> None:
    from training.classifiers.estimators import OWN_CLASSES
    from training.persistence import TRUSTED_TYPES

    assert {c.__name__ for c in OWN_CLASSES} == set(reg.MOVED_CLASSES)
    for cls in OWN_CLASSES:
        assert f"training.classifiers.estimators.{cls.__name__}" in TRUSTED_TYPES
        assert f"training.classifiers.{cls.__name__}" in TRUSTED_TYPES  # models saved before the move
        assert getattr(reg, cls.__name__) is cls


def test_an_unknown_attribute_of_the_package_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
        reg.Nope  # noqa: B018


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

    texts, _ = _corpus()
    vec = reg.build_features("word", {}).fit(texts)
    state = vec.__getstate__()
    assert "vocabulary_" not in state and isinstance(state["vocabulary_terms_"], str)
    for copy in (pickle.loads(pickle.dumps(vec)), sio.loads(sio.dumps(vec), trusted=TRUSTED_TYPES)):
        assert copy.vocabulary_ == vec.vocabulary_
        assert (copy.transform(texts) != vec.transform(texts)).nnz == 0


def test_sample_weights_are_routed_to_the_last_step() -> None:
    forest = reg.assemble(
        reg.build_features("word", {}), reg.build_classifier("random_forest", SMALL["random_forest"], 0)
    )
    assert reg.weight_keyword(forest) == "clf__forest__sample_weight"
    assert reg.weight_keyword(reg.build_classifier("logreg", {}, 0)) == "sample_weight"
    assert reg.weight_keyword(reg.build_classifier("knn", {}, 0)) is None
    assert reg.weight_keyword(reg.build_classifier("rules", {}, 0)) is None  # accepts the keyword, ignores it
    texts, labels = _corpus()
    knn = reg.assemble(reg.build_features("word", {}), reg.build_classifier("knn", {"n_neighbors": 3}, 0))
    assert reg.fit(knn, texts, labels, [0.5] * len(texts)) is False  # kNN takes no weights
    lr = reg.assemble(reg.build_features("word", {}), reg.build_classifier("logreg", {}, 0))
    assert reg.fit(lr, texts, labels, [1.0] * len(texts)) is True
    # Weights change the model: down-weighting every 'favor' example lowers its probability.
    base = lr.predict_proba(texts)[:, list(lr.classes_).index("favor")].mean()
    weights = [0.05 if y == "favor" else 1.0 for y in labels]
    reg.fit(lr, texts, labels, weights)
    assert lr.predict_proba(texts)[:, list(lr.classes_).index("favor")].mean() < base


def test_invalid_ngram_range_is_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"ngram_min \(3\) must be at least 1 and at most ngram_max \(2\)"):
        reg.build_features("word", {"ngram_min": 3, "ngram_max": 2})


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

    texts, _ = _corpus()
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

    texts, _ = _corpus()
    ff = reg.FoldFeatures(CountVectorizer(), texts)
    assert not ff.fast
    a, b = ff.fold(list(range(30)), list(range(30, 48)))
    assert a.shape[0] == 30 and b.shape[0] == 18 and a.shape[1] == b.shape[1]


def test_the_soft_vote_averages_its_members_probabilities() -> None:
    import numpy as np

    texts, labels = _corpus()
    vote = reg.build_classifier("soft_vote", {"encoder": "hashing", "tfidf": "word", "tfidf_weight": 0.25}, 0)
    reg.fit(vote, texts, labels, [1.0] * len(texts))  # weights are not passed on (pipelines take them by step name)
    assert reg.weight_keyword(vote) is None
    tfidf, enc = vote.named_estimators_["tfidf"], vote.named_estimators_["encoder"]
    assert type(enc.named_steps["features"]).__name__ == "SentenceEmbedder"
    expected = 0.25 * tfidf.predict_proba(texts) + 0.75 * enc.predict_proba(texts)
    assert np.allclose(vote.predict_proba(texts), expected)
    with pytest.raises(ValueError, match="tfidf must be one of"):
        reg.build_classifier("soft_vote", {"tfidf": "embedding"}, 0)
