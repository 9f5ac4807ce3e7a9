"""training.train.plan: every problem that would stop training, found before the first fit."""

from __future__ import annotations

from pathlib import Path

import pytest
from training.errors import StanceError
from training.train import check_plan, prepare

from trainkit import make_dataset, small_config


@pytest.fixture(scope="module")
def data():
    dsd, info = make_dataset(n_docs=12, weak_share=0.2)
    return prepare(dsd, info, "tiny")


def test_too_few_examples_of_a_class_suggest_fewer_folds(tmp_path: Path) -> None:
    dsd, info = make_dataset(n_docs=12)
    # Keep 'favor' in three training documents only.
    keep = {"doc00", "doc01", "doc02"}
    dsd["train"] = dsd["train"].filter(lambda r: r["label"] != 0 or r["doc_id"] in keep)
    dsd["validation"] = dsd["validation"].filter(lambda r: r["label"] != 0)
    d = prepare(dsd, info, "tiny")
    cfg = small_config(tmp_path, cv={"folds": 5})
    with pytest.raises(
        StanceError,
        match=r"too few examples of class 'favor' for cv.folds=5: \d+ gold sentences in 3 "
        r"documents .*set cv.folds to 3 or fewer",
    ):
        check_plan(cfg, d)


def test_too_few_documents(tmp_path: Path) -> None:
    d = prepare(*make_dataset(n_docs=6), "tiny")  # two documents in train, two in validation
    with pytest.raises(
        StanceError,
        match=r"only 4 documents in train\+validation for cv.folds=5 "
        r"\(set cv.folds to 4 or fewer",
    ):
        check_plan(small_config(tmp_path, cv={"folds": 5}), d)


def test_impossible_parameters_are_reported_before_training(tmp_path: Path, data) -> None:
    cands = [
        {"name": "lr", "features": "word", "classifier": "logreg", "search": {"C": [1.0, -1.0]}},
        {"name": "knn", "features": "word", "classifier": "knn", "params": {"n_neighbors": 5000}},
        {"name": "wc", "features": "word", "classifier": "logreg", "feature_params": {"ngram_min": 3, "ngram_max": 1}},
    ]
    with pytest.raises(StanceError) as err:
        check_plan(small_config(tmp_path, candidates=cands), data)
    lines = err.value.problems
    assert len(lines) == 3
    assert lines[0].startswith(
        "impossible parameters for candidate 'lr' (C=-1.0): The 'C' parameter of LogisticRegression"
    )
    assert "n_neighbors=5000 is more than the" in lines[1]
    assert "ngram_min (3) must be at least 1 and at most ngram_max (1)" in lines[2]


def test_weak_training_needs_weak_rows(tmp_path: Path) -> None:
    d = prepare(*make_dataset(n_docs=12), "tiny")
    with pytest.raises(StanceError, match="training_data is 'both' but tiny has no weak labels"):
        check_plan(small_config(tmp_path, training_data="both"), d)


def test_scikit_learn_still_has_the_private_parameter_check_the_plan_relies_on() -> None:
    # check_plan calls the estimators' _validate_params (private, no public equivalent) so that
    # impossible parameters are refused before any fit; without it they would only fail mid-run.
    from sklearn.linear_model import LogisticRegression

    est = LogisticRegression(C=-1.0)
    assert hasattr(est, "_parameter_constraints"), "scikit-learn dropped _parameter_constraints: update plan.py"
    with pytest.raises(ValueError, match="The 'C' parameter of LogisticRegression must be"):
        est._validate_params()
