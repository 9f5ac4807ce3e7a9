"""training.label_model: majority vote and Dawid-Skene on labelling-function votes (-1 abstains)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from training.label_model import DawidSkene, fit_dawid_skene, majority_vote

FAVOR, AGAINST, NEUTRAL, ABSTAIN = 0, 1, 2, -1


def test_majority_vote_is_the_share_of_votes_with_a_small_lean_to_neutral() -> None:
    votes = np.array([[FAVOR, FAVOR, AGAINST, ABSTAIN]])
    np.testing.assert_allclose(majority_vote(votes), [[2 / 3.001, 1 / 3.001, 0.001 / 3.001]])


def test_no_votes_is_neutral_for_sure() -> None:
    np.testing.assert_array_equal(majority_vote(np.full((2, 3), ABSTAIN)), [[0.0, 0.0, 1.0], [0.0, 0.0, 1.0]])


def test_a_tie_with_neutral_goes_to_neutral_and_other_ties_stay_even() -> None:
    proba = majority_vote(np.array([[FAVOR, NEUTRAL], [FAVOR, AGAINST]]))
    assert proba[0].argmax() == NEUTRAL and proba[0, NEUTRAL] > proba[0, FAVOR]
    assert proba[1, FAVOR] == proba[1, AGAINST] == pytest.approx(1 / 2.001)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_majority_vote_with_two_classes() -> None:
    proba = majority_vote(np.array([[0, 1, 1], [ABSTAIN, ABSTAIN, ABSTAIN]]), k=2)
    np.testing.assert_allclose(proba, [[1 / 3.001, 2.001 / 3.001], [0.0, 1.0]])


def _two_class_model() -> DawidSkene:
    # One function: class 0 votes 0 / 1 / abstains with 0.9 / 0.05 / 0.05, class 1 with 0.2 / 0.7 / 0.1.
    conf = np.array([[[0.9, 0.05, 0.05], [0.2, 0.7, 0.1]]])
    return DawidSkene(priors=np.array([0.5, 0.5]), log_confusion=np.log(conf))


def test_dawid_skene_posterior_by_hand() -> None:
    got = _two_class_model().predict_proba(np.array([[0], [1], [ABSTAIN]]))
    np.testing.assert_allclose(got, [[0.9 / 1.1, 0.2 / 1.1], [0.05 / 0.75, 0.7 / 0.75], [1 / 3, 2 / 3]])


def test_dawid_skene_posterior_weighs_the_priors() -> None:
    model = DawidSkene(priors=np.array([0.8, 0.2]), log_confusion=_two_class_model().log_confusion)
    got = model.predict_proba(np.array([[ABSTAIN]]))
    np.testing.assert_allclose(got, [[0.8 * 0.05 / (0.8 * 0.05 + 0.2 * 0.1), 0.2 * 0.1 / (0.8 * 0.05 + 0.2 * 0.1)]])


def test_dawid_skene_posterior_stays_finite_for_tiny_likelihoods() -> None:
    # Twenty functions that each make class 1 e^-50 times less likely: e^-1000 underflows unless rescaled.
    log_conf = np.tile(np.array([[[0.0, -50.0, 0.0], [-50.0, 0.0, 0.0]]]), (20, 1, 1))
    got = DawidSkene(np.array([0.5, 0.5]), log_conf).predict_proba(np.zeros((1, 20), dtype=np.int64))
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, [[1.0, 0.0]], atol=1e-300)


def test_a_fitted_model_has_normalised_priors_and_confusions() -> None:
    votes = np.array([[FAVOR, FAVOR, ABSTAIN], [AGAINST, AGAINST, AGAINST], [NEUTRAL, ABSTAIN, NEUTRAL]] * 10)
    model = fit_dawid_skene(votes, k=3, iterations=50)
    assert model.priors.shape == (3,) and model.log_confusion.shape == (3, 3, 4)
    assert math.isclose(model.priors.sum(), 1.0)
    np.testing.assert_allclose(np.exp(model.log_confusion).sum(axis=2), 1.0)
    assert model.predict_proba(votes[:3]).argmax(axis=1).tolist() == [FAVOR, AGAINST, NEUTRAL]
    # Ten rows of each pattern and Laplace smoothing: each class has a prior near 1/3.
    np.testing.assert_allclose(model.priors, 1 / 3, atol=0.01)


def test_smoothing_keeps_never_seen_outcomes_possible() -> None:
    votes = np.array([[FAVOR], [AGAINST]] * 5)
    model = fit_dawid_skene(votes, k=3, iterations=20)
    assert np.isfinite(model.log_confusion).all()
    # Function 0 never abstained, yet abstaining stays possible for every class.
    assert (np.exp(model.log_confusion[0, :, 3]) > 0).all()
    unsmoothed = fit_dawid_skene(votes, k=3, iterations=20, smoothing=1e-12)
    assert np.exp(unsmoothed.log_confusion[0, FAVOR, 3]) < np.exp(model.log_confusion[0, FAVOR, 3]) / 1e6


def test_a_zero_weight_row_counts_for_nothing() -> None:
    rng = np.random.default_rng(7)
    truth = rng.integers(0, 3, 60)
    votes = np.where(rng.random((60, 4)) < 0.3, ABSTAIN, np.where(rng.random((60, 4)) < 0.8, truth[:, None], 0))
    extra = np.array([[AGAINST, NEUTRAL, FAVOR, AGAINST]])
    with_zero = fit_dawid_skene(np.vstack([votes, extra]), 3, 30, weights=np.r_[np.ones(60), 0.0])
    without = fit_dawid_skene(votes, 3, 30)
    np.testing.assert_allclose(with_zero.priors, without.priors, rtol=1e-9)
    np.testing.assert_allclose(with_zero.log_confusion, without.log_confusion, rtol=1e-9)


def test_dawid_skene_learns_that_a_function_is_reliably_wrong() -> None:
    # Three reliable functions, and a fourth that always votes against when the truth is favor.
    rng = np.random.default_rng(1)
    truth = rng.integers(0, 3, 300)
    good = np.where(rng.random((300, 3)) < 0.9, truth[:, None], rng.integers(0, 3, (300, 3)))
    flipped = np.where(truth == FAVOR, AGAINST, ABSTAIN)[:, None]
    model = fit_dawid_skene(np.hstack([good, flipped]), 3, 50)
    # P(the fourth votes against | favor) is learnt high, P(it votes against | against) low.
    p = np.exp(model.log_confusion[3])
    assert p[FAVOR, AGAINST] > 0.9 and p[AGAINST, AGAINST] < 0.05
    # So its vote alone now points to favor, which the majority vote cannot know.
    alone = np.array([[ABSTAIN, ABSTAIN, ABSTAIN, AGAINST]])
    assert model.predict_proba(alone).argmax() == FAVOR
    assert majority_vote(alone).argmax() == AGAINST


def test_the_fit_is_deterministic() -> None:
    votes = np.array([[FAVOR, ABSTAIN], [AGAINST, AGAINST], [NEUTRAL, FAVOR], [ABSTAIN, ABSTAIN]])
    a, b = fit_dawid_skene(votes), fit_dawid_skene(votes)
    np.testing.assert_array_equal(a.priors, b.priors)
    np.testing.assert_array_equal(a.log_confusion, b.log_confusion)


def test_the_fitted_model_is_frozen() -> None:
    import dataclasses

    model = fit_dawid_skene(np.array([[FAVOR], [AGAINST]]))
    with pytest.raises(dataclasses.FrozenInstanceError):
        model.priors = np.ones(3)  # type: ignore[misc]
