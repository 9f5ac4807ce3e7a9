"""training.rules: the builder's labelling functions and label model as a scikit-learn classifier."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from pydantic import ValidationError
from sklearn.base import clone
from training.config import LabelingConfig
from training.label_model import fit_dawid_skene, majority_vote
from training.labeling import apply_lfs
from training.rules import RuleClassifier

# Small lexicons, so that each sentence's votes are known: one cue per side and one negator.
LEX = {"favor_cues": ["welcome"], "against_cues": ["reject"], "negators": ["not"]}
TEXTS = [
    "We welcome the deal.",
    "They reject the deal.",
    "They do not welcome the deal.",
    "The weather was mild.",
    "Is the summit today?",
    "Leaders welcome the accord.",
]
Y = ["favor", "against", "against", "neutral", "neutral", "favor"]


def test_cues_and_negation_give_the_labels() -> None:
    clf = RuleClassifier(lexicons=LEX, label_model="majority").fit(TEXTS, Y)
    assert clf.predict(TEXTS).tolist() == Y
    assert clf.score(TEXTS, Y) == 1.0
    assert clf.classes_.tolist() == ["favor", "against", "neutral"]


def test_without_lexicons_every_sentence_is_neutral() -> None:
    clf = RuleClassifier().fit(TEXTS)
    assert clf.predict(TEXTS).tolist() == ["neutral"] * len(TEXTS)
    np.testing.assert_allclose(clf.predict_proba(TEXTS[:1]), [[0.0, 0.0, 1.0]])


def test_majority_probabilities_are_the_majority_vote_of_the_functions() -> None:
    clf = RuleClassifier(lexicons=LEX, label_model="majority").fit(TEXTS, Y)
    assert clf.chosen_model_ == "majority"
    votes = apply_lfs(TEXTS, LabelingConfig.model_validate(LEX))
    np.testing.assert_allclose(clf.predict_proba(TEXTS), majority_vote(votes, 3))


def test_dawid_skene_probabilities_come_from_the_fit_on_the_training_votes() -> None:
    clf = RuleClassifier(lexicons=LEX, label_model="dawid_skene").fit(TEXTS, Y)
    assert clf.chosen_model_ == "dawid_skene"
    config = LabelingConfig.model_validate({**LEX, "label_model": "dawid_skene"})
    expected = fit_dawid_skene(apply_lfs(TEXTS, config), 3, config.dawid_skene_iterations)
    new = ["Crowds welcome the news.", "Nobody will reject this."]
    np.testing.assert_allclose(clf.predict_proba(new), expected.predict_proba(apply_lfs(new, config)))


def test_without_labels_auto_takes_the_majority_vote() -> None:
    assert RuleClassifier(lexicons=LEX).fit(TEXTS).chosen_model_ == "majority"


def test_probabilities_are_rows_that_sum_to_one() -> None:
    clf = RuleClassifier(lexicons=LEX).fit(TEXTS, Y)
    proba = clf.predict_proba(TEXTS)
    assert proba.shape == (6, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert (clf.predict(TEXTS) == clf.classes_[proba.argmax(axis=1)]).all()


def test_parameters_clone_and_set_like_any_estimator() -> None:
    clf = RuleClassifier(lexicons=LEX, label_model="dawid_skene")
    assert clf.get_params() == {"lexicons": LEX, "label_model": "dawid_skene"}
    copy = clone(clf).set_params(label_model="majority")
    assert copy.get_params()["label_model"] == "majority" and clf.label_model == "dawid_skene"
    assert not hasattr(copy, "chosen_model_")


def test_a_fitted_classifier_survives_pickling() -> None:
    clf = RuleClassifier(lexicons=LEX, label_model="dawid_skene").fit(TEXTS, Y)
    back = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(back.predict_proba(TEXTS), clf.predict_proba(TEXTS))


def test_an_unknown_lexicon_or_label_model_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match=r"favour_cues\n  Extra inputs are not permitted"):
        RuleClassifier(lexicons={"favour_cues": ["welcome"]}).fit(TEXTS, Y)
    with pytest.raises(ValidationError, match=r"label_model\n  Input should be 'auto', 'majority' or 'dawid_skene'"):
        RuleClassifier(label_model="snorkel").fit(TEXTS, Y)
