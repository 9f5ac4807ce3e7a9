import numpy as np
from training.config import DatasetConfig, load_config
from training.label_model import fit_dawid_skene, majority_vote
from training.labeling import ABSTAIN, NEUTRAL
from training.rules import RuleClassifier

LEX = load_config("configs/dataset.yaml", DatasetConfig).labeling


def test_majority_vote_and_dawid_skene_recover_a_clear_signal() -> None:
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, size=600)
    votes = np.full((600, 4), ABSTAIN)
    for j in range(4):
        mask = rng.random(600) < 0.7
        noisy = np.where(rng.random(600) < 0.85, truth, rng.integers(0, 3, size=600))
        votes[mask, j] = noisy[mask]
    mv = majority_vote(votes).argmax(axis=1)
    ds = fit_dawid_skene(votes).predict_proba(votes).argmax(axis=1)
    assert (mv == truth).mean() > 0.8
    assert (ds == truth).mean() > 0.8
    no_votes = majority_vote(np.full((1, 4), ABSTAIN))
    assert no_votes.argmax() == NEUTRAL and np.isclose(no_votes.sum(), 1.0)


def test_rule_classifier_is_a_sklearn_estimator() -> None:
    from sklearn.base import clone

    texts = ["Riyadh reopened its embassy.", "The US will not normalize ties.", "It rained in Amman."] * 5
    y = ["favor", "against", "neutral"] * 5
    clf = clone(RuleClassifier(lexicons=LEX.model_dump(), label_model="auto")).fit(texts, y)
    assert list(clf.classes_) == ["favor", "against", "neutral"]
    assert clf.predict(texts[:3]).tolist() == ["favor", "against", "neutral"]
    proba = clf.predict_proba(texts)
    assert np.allclose(proba.sum(axis=1), 1.0)


def test_dawid_skene_on_distinct_patterns_equals_the_fit_on_every_row() -> None:
    from training.label_model import fit_dawid_skene

    rng = np.random.default_rng(3)
    truth = rng.integers(0, 3, 400)
    # Six functions that vote the true class, a wrong one, or abstain, at different rates.
    votes = np.where(
        rng.random((400, 6)) < 0.5,
        -1,
        np.where(rng.random((400, 6)) < 0.8, truth[:, None], rng.integers(0, 3, (400, 6))),
    )
    patterns, inverse, counts = np.unique(votes, axis=0, return_inverse=True, return_counts=True)
    assert len(patterns) < len(votes)
    rows = fit_dawid_skene(votes, 3, 50)
    weighted = fit_dawid_skene(patterns, 3, 50, weights=counts)
    np.testing.assert_allclose(weighted.priors, rows.priors, rtol=1e-9)
    np.testing.assert_allclose(
        weighted.predict_proba(patterns)[inverse.reshape(-1)], rows.predict_proba(votes), rtol=1e-9, atol=1e-12
    )
