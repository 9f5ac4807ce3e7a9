"""training.train.data: the CV pool and test rows as arrays, and grouped, stratified splits."""

from __future__ import annotations

import pytest
from training.labels import LABELS
from training.train import make_splits, prepare

from trainkit import make_dataset


@pytest.fixture(scope="module")
def data():
    dsd, info = make_dataset(n_docs=12, weak_share=0.2)
    return prepare(dsd, info, "tiny")


def test_prepare_pools_train_and_validation_and_keeps_gold_test_rows(data) -> None:
    dsd, _ = make_dataset(n_docs=12, weak_share=0.2)
    assert len(data.texts) == len(dsd["train"]) + len(dsd["validation"])
    assert data.labels.tolist()[:6] == [dsd["train"].features["label"].int2str(v) for v in dsd["train"]["label"][:6]]
    assert data.has_weak and 0 < (~data.gold).sum() < len(data.texts)
    assert set(data.weight[~data.gold].tolist()) == {0.6} and set(data.weight[data.gold].tolist()) == {1.0}
    assert len(data.test_texts) == len(dsd["test"])  # all test rows are gold here
    assert data.fingerprint == "f" * 64
    assert data.test_meta[0] == {"doc_id": dsd["test"]["doc_id"][0], "sentence_index": 0}


def test_splits_are_grouped_by_document_stratified_and_score_gold_only(data) -> None:
    splits = make_splits(data, folds=4, seed=1)
    assert len(splits) == 4
    held_all = []
    for train, held in splits:
        assert not set(data.docs[train]) & set(data.docs[held])
        assert data.gold[held].all()
        assert set(data.labels[held]) == set(LABELS)
        held_all += held.tolist()
    assert sorted(held_all) == sorted(i for i in range(len(data.texts)) if data.gold[i])
    again = make_splits(data, folds=4, seed=1)
    assert all((a[1] == b[1]).all() for a, b in zip(splits, again))
    other = make_splits(data, folds=4, seed=2)
    assert any(len(a[1]) != len(b[1]) or (a[1] != b[1]).any() for a, b in zip(splits, other))
