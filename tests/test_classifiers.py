"""The registry of extractors and classifiers: names, parameters, and every candidate fitted and saved."""

from __future__ import annotations

import pytest
from training import classifiers as reg
from training.labels import LABELS
from training.persistence import dump_bytes, untrusted_types

from trainkit import AGAINST, FAVOR, NEUTRAL, PAIRS, make_dataset

# Small enough parameters for 48 sentences.
SMALL = {
    "random_forest": {"n_components": 8, "n_estimators": 10},
    "knn": {"n_neighbors": 3},
    "linear_svc": {"calibration_folds": 2},
    "ridge": {"calibration_folds": 2},
}


def corpus() -> tuple[list[str], list[str]]:
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

    texts, labels = corpus()
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


def test_an_unknown_attribute_of_the_package_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
        reg.Nope  # noqa: B018


def test_invalid_ngram_range_is_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"ngram_min \(3\) must be at least 1 and at most ngram_max \(2\)"):
        reg.build_features("word", {"ngram_min": 3, "ngram_max": 2})


def test_the_soft_vote_averages_its_members_probabilities() -> None:
    import numpy as np

    texts, labels = corpus()
    vote = reg.build_classifier("soft_vote", {"encoder": "hashing", "tfidf": "word", "tfidf_weight": 0.25}, 0)
    reg.fit(vote, texts, labels, [1.0] * len(texts))  # weights are not passed on (pipelines take them by step name)
    assert reg.weight_keyword(vote) is None
    tfidf, enc = vote.named_estimators_["tfidf"], vote.named_estimators_["encoder"]
    assert type(enc.named_steps["features"]).__name__ == "SentenceEmbedder"
    expected = 0.25 * tfidf.predict_proba(texts) + 0.75 * enc.predict_proba(texts)
    assert np.allclose(vote.predict_proba(texts), expected)
    with pytest.raises(ValueError, match="tfidf must be one of"):
        reg.build_classifier("soft_vote", {"tfidf": "embedding"}, 0)
    onnx = reg.build_classifier("soft_vote", {"backend": "onnx"}, 0)
    assert onnx.named_estimators["encoder"].named_steps["features"].backend == "onnx"
    assert vote.named_estimators["encoder"].named_steps["features"].backend == "torch"
