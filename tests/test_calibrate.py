"""The calibrated champion: method chosen by grouped-CV log loss, no test data, stored with skops."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from training import calibrate
from training.labels import LABELS

from trainkit import make_dataset, small_config


@pytest.fixture(scope="module")
def pool():  # type: ignore[no-untyped-def]
    import numpy as np
    from training.train import prepare

    data = prepare(*make_dataset(n_docs=12), "tiny")
    rows = np.flatnonzero(data.gold)
    return [data.texts[i] for i in rows], data.labels[rows], data.docs[rows]


def _logreg():  # type: ignore[no-untyped-def]
    from training import classifiers as reg

    return reg.assemble(reg.build_features("word", {}), reg.build_classifier("logreg", {}, 0))


def test_the_method_with_the_lowest_cv_log_loss_wins_and_is_refitted_on_every_sentence(pool) -> None:  # type: ignore[no-untyped-def]
    from sklearn.calibration import CalibratedClassifierCV

    texts, labels, groups = pool
    model, report = calibrate.choose_and_fit(_logreg, texts, labels, groups, folds=3, seed=0)
    assert isinstance(model, CalibratedClassifierCV) and model.method == report["method"]
    assert set(report["cv"]) == {"none", "sigmoid", "isotonic", "temperature"}
    losses = {m: report["cv"][m]["log_loss"] for m in calibrate.METHODS}
    assert losses[report["method"]] == min(losses.values())
    assert len(model.calibrated_classifiers_) == 1  # one base model fitted on all the sentences, one map
    again, _ = calibrate.choose_and_fit(_logreg, texts, labels, groups, folds=3, seed=0)
    assert (again.predict_proba(texts[:5]) == model.predict_proba(texts[:5])).all()


def test_the_validation_threshold_is_chosen_on_out_of_fold_predictions(pool) -> None:  # type: ignore[no-untyped-def]
    texts, labels, groups = pool
    _, report = calibrate.choose_and_fit(_logreg, texts, labels, groups, folds=3, seed=0, target_accuracy=0.5)
    found = report["validation_threshold"]
    assert found is not None and found["accuracy"] >= 0.5 and 0.0 < found["coverage"] <= 1.0
    _, never = calibrate.choose_and_fit(_logreg, texts, labels, groups, folds=3, seed=0, target_accuracy=1.0 + 1e-9)
    assert never["validation_threshold"] is None


def test_accuracy_and_coverage_at_a_threshold_count_only_the_confident_sentences() -> None:
    import numpy as np

    proba = np.array([[0.9, 0.05, 0.05], [0.2, 0.7, 0.1], [0.4, 0.3, 0.3], [0.1, 0.1, 0.8]])
    gold = [LABELS[0], LABELS[0], LABELS[0], LABELS[2]]
    kept = calibrate.at_threshold(gold, proba, 0.7)
    assert kept == {"accuracy": pytest.approx(2 / 3), "coverage": 0.75, "threshold": 0.7}
    assert calibrate.at_threshold(gold, proba, 0.95)["coverage"] == 0.0


def test_a_calibrated_model_saves_and_loads_with_our_trusted_types(pool, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from training.persistence import dump_bytes, load_model_file

    texts, labels, groups = pool
    model, _ = calibrate.choose_and_fit(_logreg, texts, labels, groups, folds=3, seed=0, methods=("isotonic",))
    path = tmp_path / "model.skops"
    path.write_bytes(dump_bytes(model))
    back = load_model_file(path)
    assert (back.predict_proba(texts) == model.predict_proba(texts)).all()


def test_stance_train_exports_the_calibrated_champion_and_reports_the_method(tmp_path: Path) -> None:
    from training import load_model
    from training.train import train

    lines: list[str] = []
    cands = [{"name": "lr-word", "features": "word", "classifier": "logreg"}]
    train(small_config(tmp_path, candidates=cands), progress=lines.append, dataset=make_dataset(n_docs=12))
    export = tmp_path / "models" / "stance-classifier"
    meta = json.loads((export / "metadata.json").read_text(encoding="utf-8"))
    report = meta["calibration"]
    assert report["method"] in calibrate.METHODS
    assert set(report["test"]) == {"ece", "brier", "log_loss"} and set(report["test_uncalibrated"]) == set(
        report["test"]
    )
    line = next(x for x in lines if x.startswith("calibration: "))
    assert line.startswith(f"calibration: {report['method']} (CV log loss none ")
    chosen = report["validation_threshold"]  # chosen on out-of-fold predictions, checked on the test split
    if chosen is None:
        assert "no threshold reaches accuracy 0.90" in line and "test_at_validation_threshold" not in report
    else:
        at = report["test_at_validation_threshold"]
        assert at["threshold"] == chosen["threshold"] and 0.0 <= at["coverage"] <= 1.0
        assert f"--min-confidence {chosen['threshold']:.3f}" in line
    model = load_model(export)
    assert type(model.estimator).__name__ == "CalibratedClassifierCV" and model.labels == LABELS
    assert meta["metrics"]["test_accuracy"] == pytest.approx(
        sum(
            p == y
            for p, y in zip(
                model.predict(make_dataset(n_docs=12)[0]["test"]["text"]),
                [LABELS[v] for v in make_dataset(n_docs=12)[0]["test"]["label"]],
            )
        )
        / 12
    )
