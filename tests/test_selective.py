"""training.selective: abstention, scores at coverage, AURC, thresholds, and ``stance evaluate``'s risk-coverage part."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from training import selective
from training.cli import app
from training.errors import StanceError
from typer.testing import CliRunner

from predictkit import SENTENCES, export

# Input order is scrambled on purpose: by top probability the rows are 1 (0.9, right), 3 (0.8,
# wrong), 0 (0.6, right), 2 (0.5, wrong).
Y = ["favor", "against", "neutral", "favor"]
PRED = ["favor", "against", "favor", "against"]
PROBA = [[0.6, 0.3, 0.1], [0.05, 0.9, 0.05], [0.5, 0.2, 0.3], [0.1, 0.8, 0.1]]


def test_scores_at_coverage_keep_the_most_confident_rows() -> None:
    rows = {r["coverage"]: r for r in selective.at_coverage(Y, PRED, PROBA)}
    assert [(c, r["n"], r["threshold"], r["accuracy"]) for c, r in rows.items()] == [
        (1.0, 4.0, 0.5, 0.5),
        (0.9, 4.0, 0.5, 0.5),
        (0.8, 3.0, 0.6, pytest.approx(2 / 3)),
        (0.7, 3.0, 0.6, pytest.approx(2 / 3)),
        (0.5, 2.0, 0.8, 0.5),
    ]
    # Half coverage keeps rows 1 and 3: against right, favor called against; only 'against' scores (2/3).
    assert rows[0.5]["macro_f1"] == pytest.approx((2 / 3) / 3)


def test_area_under_the_risk_coverage_curve_by_hand() -> None:
    # Error rates of the 1, 2, 3, 4 most confident rows: 0, 1/2, 1/3, 2/4.
    assert selective.aurc(Y, PRED, PROBA) == pytest.approx((0 + 1 / 2 + 1 / 3 + 1 / 2) / 4)


def test_the_smallest_threshold_reaching_an_accuracy() -> None:
    assert selective.threshold_for(Y, PRED, PROBA, 1.0) == {
        "threshold": 0.9,
        "accuracy": 1.0,
        "coverage": 0.25,
        "n": 1.0,
    }
    got = selective.threshold_for(Y, PRED, PROBA, 0.6)
    assert got is not None and (got["threshold"], got["coverage"]) == (0.6, 0.75)
    assert selective.threshold_for(Y, PRED, PROBA, 0.5)["threshold"] == 0.5  # type: ignore[index]
    assert selective.threshold_for(Y, ["neutral"] * 4, PROBA, 0.5) is None


def test_tied_probabilities_are_kept_or_dropped_together() -> None:
    proba = [[0.9, 0.05, 0.05], [0.7, 0.2, 0.1], [0.7, 0.2, 0.1]]
    # Keeping rows at 0.7 keeps both: accuracy 2/3, which misses 0.9 although the first of them is right.
    got = selective.threshold_for(["favor", "favor", "against"], ["favor"] * 3, proba, 0.9)
    assert got == {"threshold": 0.9, "accuracy": 1.0, "coverage": pytest.approx(1 / 3), "n": 1.0}


@pytest.mark.parametrize("value", [0.0, 1.01])
def test_target_accuracy_outside_zero_one_is_refused(value: float) -> None:
    with pytest.raises(StanceError, match=r"invalid value for --target-accuracy: .* at most 1"):
        selective.check_target_accuracy(value)
    assert selective.check_target_accuracy(1.0) == 1.0


@pytest.mark.parametrize("value", [0.0, 1.0, -0.2, 1.5, float("nan")])
def test_min_confidence_outside_the_open_interval_is_refused(value: float) -> None:
    with pytest.raises(
        StanceError,
        match=r"^invalid value for --min-confidence: .* \(use a probability strictly between 0 and 1, e\.g\. 0\.8, "
        r"or leave it out to label every sentence\)$",
    ):
        selective.check_min_confidence(value)


def test_min_confidence_inside_the_interval_is_returned_as_a_float() -> None:
    assert selective.check_min_confidence(None) is None
    got = selective.check_min_confidence(0.75)
    assert got == 0.75 and type(got) is float
    assert selective.check_min_confidence(1e-9) == 1e-9


def test_min_confidence_errors_name_the_setting_they_came_from() -> None:
    with pytest.raises(StanceError, match=r"^invalid value for min_confidence in train\.yaml: 1 "):
        selective.check_min_confidence(1, where="min_confidence in train.yaml")


@pytest.mark.parametrize("value", [-0.5, float("nan"), 2])
def test_target_accuracy_bounds(value: float) -> None:
    with pytest.raises(
        StanceError,
        match=r"^invalid value for --target-accuracy: .* \(use an accuracy above 0 and at most 1, e\.g\. 0\.9\)$",
    ):
        selective.check_target_accuracy(value)
    assert selective.check_target_accuracy(None) is None
    assert selective.check_target_accuracy(1e-6) == 1e-6


def test_abstain_marks_rows_below_the_threshold_and_keeps_ties() -> None:
    # Top probabilities: 0.6, 0.9, 0.5, 0.8.
    assert selective.abstain(PRED, PROBA, 0.8) == ["uncertain", "against", "uncertain", "against"]
    assert selective.abstain(PRED, PROBA, 0.6) == ["favor", "against", "uncertain", "against"]  # 0.6 is kept
    assert selective.abstain(PRED, PROBA, 0.95) == ["uncertain"] * 4
    assert selective.UNCERTAIN == "uncertain"


def test_abstain_without_a_threshold_returns_a_copy() -> None:
    labels = list(PRED)
    got = selective.abstain(labels, PROBA, None)
    assert got == PRED and got is not labels
    got[0] = "changed"
    assert labels[0] == "favor"
    assert selective.abstain([], [], 0.5) == []


def test_scores_at_chosen_coverages_keep_at_least_one_row() -> None:
    rows = selective.at_coverage(Y, PRED, PROBA, coverages=(0.01, 0.25, 0.6))
    # 0.01 of 4 rounds to 0: one row is still kept (the most confident, row 1, which is right).
    assert [(r["coverage"], r["n"], r["threshold"], r["accuracy"]) for r in rows] == [
        (0.01, 1.0, 0.9, 1.0),
        (0.25, 1.0, 0.9, 1.0),
        (0.6, 2.0, 0.8, 0.5),
    ]


def test_aurc_of_perfect_wrong_and_empty_predictions() -> None:
    assert selective.aurc(Y, Y, PROBA) == 0.0
    assert selective.aurc(Y, ["neutral", "neutral", "favor", "neutral"], PROBA) == 1.0
    assert math.isnan(selective.aurc([], [], np.zeros((0, 3))))


def test_aurc_is_lower_when_the_mistakes_are_the_least_confident() -> None:
    y = ["favor", "favor", "favor", "favor"]
    pred = ["favor", "favor", "against", "against"]
    confident_right = [[0.9, 0.1, 0.0], [0.8, 0.2, 0.0], [0.4, 0.6, 0.0], [0.45, 0.55, 0.0]]
    confident_wrong = [[0.6, 0.4, 0.0], [0.55, 0.45, 0.0], [0.1, 0.9, 0.0], [0.2, 0.8, 0.0]]
    # Errors at ranks 3, 4: (0 + 0 + 1/3 + 2/4) / 4; at ranks 1, 2: (1 + 1 + 2/3 + 2/4) / 4.
    assert selective.aurc(y, pred, confident_right) == pytest.approx((1 / 3 + 1 / 2) / 4)
    assert selective.aurc(y, pred, confident_wrong) == pytest.approx((1 + 1 + 2 / 3 + 1 / 2) / 4)


def test_aurc_does_not_depend_on_the_order_of_tied_rows() -> None:
    proba = [[0.5, 0.3, 0.2]] * 2  # a model that is equally sure of both rows
    right_first = selective.aurc(["favor", "against"], ["favor", "favor"], proba)
    wrong_first = selective.aurc(["against", "favor"], ["favor", "favor"], proba)
    assert right_first == pytest.approx(wrong_first)


def test_a_tie_at_the_top_is_kept_whole_or_not_at_all() -> None:
    # Every row has top probability 0.6: the first is right, but no threshold keeps it alone.
    proba = [[0.6, 0.4, 0.0]] * 3
    y, pred = ["favor", "against", "against"], ["favor"] * 3
    assert selective.threshold_for(y, pred, proba, 0.5) is None
    assert selective.threshold_for(y, pred, proba, 1 / 3) == {
        "threshold": 0.6,
        "accuracy": pytest.approx(1 / 3),
        "coverage": 1.0,
        "n": 3.0,
    }


def test_a_tie_below_the_best_rows_is_dropped_whole() -> None:
    # Ranked: 0.9 (right), 0.7 (right), 0.7 (wrong), 0.6 (right). Accuracy of 0.75 needs every row;
    # 0.8 needs the threshold 0.9, because keeping only the first 0.7 row is not a threshold.
    proba = [[0.7, 0.3, 0.0], [0.9, 0.1, 0.0], [0.6, 0.4, 0.0], [0.3, 0.7, 0.0]]
    y = ["favor", "favor", "favor", "favor"]
    pred = ["favor", "favor", "favor", "against"]
    assert selective.threshold_for(y, pred, proba, 0.75)["coverage"] == 1.0  # type: ignore[index]
    assert selective.threshold_for(y, pred, proba, 0.8) == {
        "threshold": 0.9,
        "accuracy": 1.0,
        "coverage": 0.25,
        "n": 1.0,
    }


def test_threshold_for_no_rows_is_none() -> None:
    assert selective.threshold_for([], [], np.zeros((0, 3)), 0.5) is None


def test_risk_coverage_names_the_target_only_when_given() -> None:
    without = selective.risk_coverage(Y, PRED, PROBA)
    assert set(without) == {"at_coverage", "aurc"}
    assert without["at_coverage"] == selective.at_coverage(Y, PRED, PROBA)
    with_target = selective.risk_coverage(Y, PRED, PROBA, target=0.6)
    assert with_target["target_accuracy"] == 0.6
    assert with_target["target_threshold"] == selective.threshold_for(Y, PRED, PROBA, 0.6)


# ---------------------------------------------------------------- stance evaluate


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export(tmp_path_factory.mktemp("models") / "stance-classifier")


def _gold(tmp_path: Path, rows: list[tuple[str, str]]) -> Path:
    path = tmp_path / "gold.jsonl"
    path.write_text("".join(json.dumps({"text": t, "label": y}) + "\n" for t, y in rows), encoding="utf-8")
    return path


def test_evaluate_json_has_calibration_and_risk_coverage(model_dir: Path, tmp_path: Path) -> None:
    from training import calibration, load_model
    from training.labels import LABELS

    rows = SENTENCES * 2
    rows[0] = (rows[0][0], "neutral")  # one row the model gets wrong
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            "--data",
            str(_gold(tmp_path, rows)),
            "--model",
            str(model_dir),
            "--json",
            "--target-accuracy",
            "0.99",
        ],
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    texts, truth = [t for t, _ in rows], [y for _, y in rows]
    model = load_model(model_dir)
    proba = model.predict_proba_array(texts)
    pred = model.label_array(proba)
    assert report["calibration"]["ece"] == pytest.approx(calibration.ece(truth, proba, LABELS))
    rc = report["risk_coverage"]
    assert [r["coverage"] for r in rc["at_coverage"]] == [1.0, 0.9, 0.8, 0.7, 0.5]
    assert rc["at_coverage"][0]["accuracy"] == pytest.approx(report["accuracy"])
    assert rc["aurc"] == pytest.approx(selective.aurc(truth, pred, proba))
    assert rc["target_threshold"] == selective.threshold_for(truth, pred, proba, 0.99)
    text = CliRunner().invoke(
        app, ["evaluate", "--data", str(_gold(tmp_path, rows)), "--model", str(model_dir), "--target-accuracy", "0.99"]
    )
    assert "area under the risk-coverage curve" in text.stdout and "accuracy 0.99" in text.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target-accuracy", "0"], r"error: invalid value for --target-accuracy: 0.0"),
        (["--target-accuracy", "1.2"], r"error: invalid value for --target-accuracy: 1.2"),
    ],
)
def test_evaluate_bad_target_is_one_line(model_dir: Path, tmp_path: Path, args: list[str], message: str) -> None:
    import re

    result = CliRunner().invoke(
        app, ["evaluate", "--data", str(_gold(tmp_path, SENTENCES * 2)), "--model", str(model_dir), *args]
    )
    assert result.exit_code == 1 and re.match(message, result.stderr)
    assert len(result.stderr.strip().splitlines()) == 1


def test_evaluate_refuses_data_smaller_than_the_bins(model_dir: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["evaluate", "--data", str(_gold(tmp_path, SENTENCES)), "--model", str(model_dir)])
    assert result.exit_code == 1
    assert "too few sentences for calibration scores" in result.stderr and "has 9" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_too_small_dataset_split_is_named_with_its_split(model_dir: Path, tmp_path: Path) -> None:
    import datasets
    from training.labels import LABELS

    features = datasets.Features({"text": datasets.Value("string"), "label": datasets.ClassLabel(names=list(LABELS))})
    rows = {"text": [s for s, _ in SENTENCES], "label": [LABELS.index(y) for _, y in SENTENCES]}
    datasets.DatasetDict({"test": datasets.Dataset.from_dict(rows, features=features)}).save_to_disk(
        str(tmp_path / "ds")
    )
    from training.dataset import write_info

    write_info(tmp_path / "ds", {"fingerprint": "f" * 64})
    result = CliRunner().invoke(app, ["evaluate", "--data", str(tmp_path / "ds"), "--model", str(model_dir)])
    assert result.exit_code == 1 and f"{tmp_path / 'ds'}[test] has 9" in result.stderr
