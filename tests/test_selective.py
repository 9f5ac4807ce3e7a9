"""Risk and coverage: training.selective and ``stance evaluate`` (calibration, coverage, target accuracy)."""

from __future__ import annotations

import json
from pathlib import Path

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
    from training.config import LABELS

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
    from training.config import LABELS

    features = datasets.Features({"text": datasets.Value("string"), "label": datasets.ClassLabel(names=list(LABELS))})
    rows = {"text": [s for s, _ in SENTENCES], "label": [LABELS.index(y) for _, y in SENTENCES]}
    datasets.DatasetDict({"test": datasets.Dataset.from_dict(rows, features=features)}).save_to_disk(
        str(tmp_path / "ds")
    )
    from training.dataset import write_info

    write_info(tmp_path / "ds", {"fingerprint": "f" * 64})
    result = CliRunner().invoke(app, ["evaluate", "--data", str(tmp_path / "ds"), "--model", str(model_dir)])
    assert result.exit_code == 1 and f"{tmp_path / 'ds'}[test] has 9" in result.stderr
