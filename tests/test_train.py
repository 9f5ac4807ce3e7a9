"""The comparison protocol in training.train: data, splits, checks, search, CV, test, ties."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from training.config import LABELS, load_config
from training.errors import StanceError
from training.train import check_plan, make_splits, prepare, run_comparison
from training.train.run import interrupts
from training.train_config import TrainConfig

from trainkit import make_dataset, small_config


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


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        (
            "candidates:\n  - {name: a, features: word, classifier: logregr}\n",
            r"train.yaml:2: invalid value for 'candidates.0.classifier': .*unknown classifier 'logregr' \(did you mean 'logreg'\?",
        ),
        (
            "candidates:\n  - {name: a, features: words, classifier: logreg}\n",
            r"unknown feature extractor 'words' \(did you mean 'word'\?",
        ),
        (
            "candidates:\n  - {name: a, features: word, classifier: logreg, search: {CC: [1, 2]}}\n",
            r"unknown parameter 'CC' in params/search of 'logreg' \(did you mean 'C'\? valid: C, class_weight",
        ),
        (
            "candidates:\n  - {name: a, features: word, classifier: logreg, feature_params: {ngram: 2}}\n",
            r"unknown parameter 'ngram' in feature_params/feature_search of 'word'",
        ),
        (
            "candidates:\n  - {name: a, features: word, classifier: logreg, search: {C: []}}\n",
            r"empty search list for 'C'",
        ),
        (
            "candidates:\n  - {name: a, features: word, classifier: logreg, params: {C: 1}, search: {C: [1, 2]}}\n",
            r"'C' is both fixed in params and searched in search",
        ),
        (
            "candidates:\n  - {name: a, features: word, classifier: dummy}\n",
            r"reads raw sentences \(set features: none\)",
        ),
        ("candidates:\n  - {name: a, features: none, classifier: knn}\n", r"classifier 'knn' needs features"),
        (
            "candidates:\n  - {name: a, features: word, classifier: knn}\n  - {name: a, features: word, classifier: sgd}\n",
            r"candidate name 'a' is used twice",
        ),
        (
            "cv: {max_grid: 2}\ncandidates:\n  - {name: a, features: word, classifier: logreg, search: {C: [1, 2, 3]}}\n",
            r"search grid of 'a' has 3 combinations, more than cv.max_grid=2",
        ),
        ("cv: {foldz: 3}\n", r"train.yaml:1: unknown key 'cv.foldz'; did you mean 'folds'\?"),
    ],
)
def test_config_errors_name_the_line_and_the_fix(tmp_path: Path, yaml_text: str, message: str) -> None:
    path = tmp_path / "train.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    with pytest.raises(StanceError, match=message):
        load_config(path, TrainConfig)


def test_shipped_config_is_the_default() -> None:
    shipped = load_config(Path(__file__).resolve().parents[1] / "configs" / "train.yaml", TrainConfig)
    assert shipped == TrainConfig()
    assert {c.classifier for c in shipped.candidates} >= {
        "logreg",
        "linear_svc",
        "complement_nb",
        "sgd",
        "ridge",
        "random_forest",
        "knn",
        "dummy",
        "rules",
    }
    assert {c.features for c in shipped.candidates} >= {"word", "char", "word_char", "negation"}


def _numbers(entries) -> list:
    return [
        (e.key, e.params, e.cv, e.test, e.report, e.confusion, e.test_pred, e.test_proba.tolist(), e.comparison)
        for e in entries
    ]


@pytest.fixture(scope="module")
def compared(data, tmp_path_factory):
    cfg = small_config(tmp_path_factory.mktemp("cfg"), training_data="both")
    seen: list[str] = []
    result = run_comparison(cfg, data, progress=seen.append)
    assert result.started <= result.finished
    return cfg, result.entries, result.best, seen


def test_every_candidate_runs_in_both_label_modes(compared) -> None:
    cfg, entries, _best, seen = compared
    assert [e.key for e in entries] == [f"{c.name}@{m}" for c in cfg.candidates for m in ("gold", "gold+weak")]
    assert seen[0].startswith("encoder hashing: 72 sentences ready")  # encoded once, before any candidate
    seen = seen[1:]
    assert len(seen) == len(entries) and seen[0].startswith(f"[1/{len(entries)}] ")
    by_key = {e.key: e for e in entries}
    assert by_key["logreg-word@gold+weak"].weighted and not by_key["logreg-word@gold"].weighted
    assert not by_key["knn-word@gold+weak"].weighted  # kNN cannot take weights; the row says so
    for e in entries:
        assert len(e.cv) == cfg.cv.folds * cfg.cv.repeats
        assert len(e.search) == (e.candidate.grid_size if e.candidate.grid_size > 1 else 0)
        assert e.size_bytes > 0 and e.fit_seconds > 0 and e.predict_per_second > 0
        assert len(e.test_pred) == len(e.test_proba) > 0
        assert sum(sum(r) for r in e.confusion) == len(e.test_pred)


def test_search_picks_the_best_grid_point(compared) -> None:
    _, entries, _, _ = compared
    knn = next(e for e in entries if e.key == "knn-word@gold")
    best_point = max(knn.search, key=lambda p: p["score"])  # first of equals, like the search
    assert knn.params["n_neighbors"] == best_point["params"]["n_neighbors"]


def test_best_is_chosen_on_cv_and_ties_are_tested(compared) -> None:
    cfg, entries, best, _ = compared
    means = {e.key: e.cv_summary()["macro_f1"][0] for e in entries}
    assert means[best.key] == max(means.values())
    assert best.comparison["is_best"] and best.comparison["tied"] and best.comparison["p_value"] == 1.0
    assert sum(e.comparison["is_best"] for e in entries) == 1
    dummy = next(e for e in entries if e.key == "dummy@gold")
    assert dummy.comparison["tied"] is False and dummy.comparison["p_value"] < cfg.comparison.alpha
    assert dummy.baseline and not best.baseline
    row = best.row()
    assert row["is_best"] and row["tied_with_best"] and row["cv_macro_f1_mean"] == means[best.key]


def test_test_scores_are_those_of_the_final_model(compared, data) -> None:
    from training import metrics

    _, entries, _, _ = compared
    for e in entries[:4]:
        pred = [str(p) for p in e.model.predict(data.test_texts)]
        assert e.test == metrics.scores(data.test_labels.tolist(), pred)


def test_same_config_seed_and_data_give_the_same_numbers(compared, data) -> None:
    cfg, entries, _, _ = compared
    again = run_comparison(cfg, data).entries
    assert _numbers(again) == _numbers(entries)


@pytest.mark.slow
def test_worker_processes_give_the_same_numbers(compared, data) -> None:
    cfg, entries, _, _ = compared
    parallel = run_comparison(cfg.model_copy(update={"n_jobs": 2}), data).entries
    assert _numbers(parallel) == _numbers(entries)


def test_bootstrap_comparison(data, tmp_path: Path) -> None:
    cfg = small_config(
        tmp_path,
        comparison={"method": "bootstrap"},
        candidates=[
            {"name": "dummy", "features": "none", "classifier": "dummy"},
            {"name": "lr", "features": "word", "classifier": "logreg"},
        ],
    )
    result = run_comparison(cfg, data)
    assert result.best.key == "lr"
    dummy = result.entries[0].comparison
    assert dummy["tied"] is False and dummy["ci_low"] > 0 and "p_value" not in dummy


def test_workers_lower_their_priority_and_the_parent_keeps_its_own() -> None:
    import subprocess
    import sys

    code = (
        "import os; from training.train.workers import yield_to_parent; "
        "before = os.getpriority(os.PRIO_PROCESS, 0); yield_to_parent(os.getpid()); "
        "same = os.getpriority(os.PRIO_PROCESS, 0); yield_to_parent(-1); yield_to_parent(-1); "
        "print(before, same, os.getpriority(os.PRIO_PROCESS, 0))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    before, same, worker = (int(v) for v in out.stdout.split())
    from training.train import WORKER_NICENESS

    assert same == before  # the process that logs to MLflow is never lowered
    assert worker == max(before, WORKER_NICENESS)  # a worker is, once, and never raised


# ---------------------------------------------------------------- interrupts


def _let_the_handler_run(steps: int = 10_000) -> None:
    for _ in range(steps):  # bytecodes for the interpreter to run the pending signal handler in
        pass


def test_signals_become_keyboard_interrupts_and_the_old_handlers_come_back() -> None:
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    with interrupts() as check, pytest.raises(KeyboardInterrupt, match=f"signal {int(signal.SIGTERM)}"):
        check()  # nothing received yet
        os.kill(os.getpid(), signal.SIGTERM)
        _let_the_handler_run()
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_an_interrupt_dropped_inside_a_finalizer_is_raised_at_the_next_check() -> None:
    class Collected:
        def __del__(self) -> None:
            os.kill(os.getpid(), signal.SIGINT)
            _let_the_handler_run()  # the KeyboardInterrupt is raised here, and Python drops it

    with interrupts() as check:
        Collected()
        _let_the_handler_run()  # not raised again by itself
        with pytest.raises(KeyboardInterrupt, match=f"signal {int(signal.SIGINT)}"):
            check()
