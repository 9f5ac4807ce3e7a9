"""training.train.workers: every candidate in every mode, in this process or in workers, with the same numbers."""

from __future__ import annotations

from pathlib import Path

import pytest
from training.train import prepare, run_comparison

from trainkit import make_dataset, small_config


@pytest.fixture(scope="module")
def data():
    dsd, info = make_dataset(n_docs=12, weak_share=0.2)
    return prepare(dsd, info, "tiny")


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
