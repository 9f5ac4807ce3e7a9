"""Calibration scores (ECE, Brier, log loss) and their place in the comparison."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from training import calibration
from training.errors import StanceError
from training.labels import LABELS

from trainkit import make_dataset, small_config

Y = ["favor", "against", "favor", "neutral"]
P = [[0.9, 0.05, 0.05], [0.62, 0.28, 0.1], [0.2, 0.7, 0.1], [0.09, 0.09, 0.82]]


def test_reliability_bins_and_ece_by_hand() -> None:
    rows = calibration.reliability_bins(Y, P, LABELS, bins=5)
    # 0.62 and 0.7 fall in (0.6, 0.8], both wrong; 0.82 and 0.9 in (0.8, 1.0], both right.
    assert [(r["low"], r["high"], r["n"], r["accuracy"]) for r in rows] == [(0.6, 0.8, 2.0, 0.0), (0.8, 1.0, 2.0, 1.0)]
    assert rows[0]["confidence"] == pytest.approx(0.66) and rows[1]["confidence"] == pytest.approx(0.86)
    assert calibration.ece(Y, P, LABELS, bins=5) == pytest.approx((2 * 0.66 + 2 * 0.14) / 4)


def test_brier_and_log_loss_by_hand() -> None:
    assert calibration.brier(Y, P, LABELS) == pytest.approx((0.015 + 0.9128 + 1.14 + 0.0486) / 4)
    expected = -(math.log(0.9) + math.log(0.28) + math.log(0.2) + math.log(0.82)) / 4
    assert calibration.log_loss(Y, P, LABELS) == pytest.approx(expected)
    assert calibration.scores(Y, P, LABELS, bins=5)["ece"] == pytest.approx(0.4)


def test_perfectly_confident_and_right_scores_zero() -> None:
    p = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    assert calibration.scores(["favor", "against"], p, LABELS) == {
        "ece": 0.0,
        "brier": 0.0,
        "log_loss": pytest.approx(0.0),
    }


def test_columns_are_aligned_to_our_label_order() -> None:
    out = calibration.aligned([[0.2, 0.8]], ["neutral", "favor"], LABELS)
    assert out.tolist() == [[0.8, 0.0, 0.2]]


def test_mismatched_shapes_and_too_few_rows_are_refused() -> None:
    with pytest.raises(ValueError, match=r"do not match 2 labels x 3 classes"):
        calibration.brier(["favor", "against"], [[1.0, 0.0, 0.0]], LABELS)
    with pytest.raises(StanceError, match=r"too few sentences for calibration scores: .* has 14, .* need at least 15"):
        calibration.check_enough(14)


def test_the_leaderboard_has_calibration_columns_from_out_of_fold_and_test(tmp_path: Path) -> None:
    from training.train import prepare, run_comparison

    data = prepare(*make_dataset(n_docs=12), "tiny")
    cands = [
        {"name": "dummy", "features": "none", "classifier": "dummy"},
        {"name": "logreg-word", "features": "word", "classifier": "logreg"},
    ]
    result = run_comparison(small_config(tmp_path, candidates=cands), data)
    for e in result.entries:
        row = e.row()
        # Out-of-fold rows: every gold pool row once per repeat.
        assert len(e.oof_rows) == 2 * int(data.gold.sum()) and e.oof_proba.shape == (len(e.oof_rows), 3)
        gold = data.labels[e.oof_rows].tolist()
        assert row["cv_ece"] == pytest.approx(calibration.ece(gold, e.oof_proba, LABELS))
        test = calibration.aligned(e.test_proba, e.classes, LABELS)
        assert row["test_brier"] == pytest.approx(calibration.brier(data.test_labels.tolist(), test, LABELS))
        assert 0.0 <= row["test_ece"] <= 1.0 and row["test_log_loss"] > 0
        assert e.reliability_png.startswith(b"\x89PNG")
    # The dummy predicts the class shares: its confidence is about its accuracy's level, but never sharp.
    dummy = result.entries[0].row()
    assert dummy["test_log_loss"] == pytest.approx(math.log(3), abs=0.05)


def test_train_and_compare_show_calibration_and_log_a_reliability_diagram(tmp_path: Path, in_tmp_cwd: Path) -> None:
    import json

    import mlflow
    import yaml
    from training.cli import app
    from typer.testing import CliRunner

    from trainkit import save_dataset

    save_dataset(tmp_path / "dataset", *make_dataset(n_docs=12))
    cands = [
        {"name": "dummy", "features": "none", "classifier": "dummy"},
        {"name": "lr-word", "features": "word", "classifier": "logreg"},
    ]
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump(small_config(tmp_path, candidates=cands).model_dump(mode="json")), encoding="utf-8")
    result = CliRunner().invoke(app, ["train", "-c", str(path)], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    assert "CV ECE" in result.output and "test ECE" in result.output
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    shown = CliRunner().invoke(app, ["compare", "-e", "test", "--tracking-uri", store, "--json"])
    assert shown.exit_code == 0, shown.output
    rows = json.loads(shown.output)["rows"]
    client = mlflow.MlflowClient(store)
    for row in rows:
        assert all(0.0 <= row[k] <= 1.0 for k in ("cv_ece", "test_ece")) and row["test_log_loss"] > 0
        run = client.get_run(row["run_id"])
        assert run.data.metrics["test_brier"] == pytest.approx(row["test_brier"])
        assert "reliability_diagram.png" in {a.path for a in client.list_artifacts(row["run_id"])}
