"""Assembled text-in models fitted with sample weights where a step takes them."""

from __future__ import annotations

from training import classifiers as reg

from test_classifiers import SMALL, corpus


def test_sample_weights_are_routed_to_the_last_step() -> None:
    forest = reg.assemble(
        reg.build_features("word", {}), reg.build_classifier("random_forest", SMALL["random_forest"], 0)
    )
    assert reg.weight_keyword(forest) == "clf__forest__sample_weight"
    assert reg.weight_keyword(reg.build_classifier("logreg", {}, 0)) == "sample_weight"
    assert reg.weight_keyword(reg.build_classifier("knn", {}, 0)) is None
    assert reg.weight_keyword(reg.build_classifier("rules", {}, 0)) is None  # accepts the keyword, ignores it
    texts, labels = corpus()
    knn = reg.assemble(reg.build_features("word", {}), reg.build_classifier("knn", {"n_neighbors": 3}, 0))
    assert reg.fit(knn, texts, labels, [0.5] * len(texts)) is False  # kNN takes no weights
    lr = reg.assemble(reg.build_features("word", {}), reg.build_classifier("logreg", {}, 0))
    assert reg.fit(lr, texts, labels, [1.0] * len(texts)) is True
    # Weights change the model: down-weighting every 'favor' example lowers its probability.
    base = lr.predict_proba(texts)[:, list(lr.classes_).index("favor")].mean()
    weights = [0.05 if y == "favor" else 1.0 for y in labels]
    reg.fit(lr, texts, labels, weights)
    assert lr.predict_proba(texts)[:, list(lr.classes_).index("favor")].mean() < base
