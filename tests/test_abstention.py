"""Abstention: training.selective, ``stance predict --min-confidence``, the Python API and the served model."""

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


def test_abstain_marks_rows_below_the_threshold_and_keeps_the_others() -> None:
    assert selective.abstain(PRED, PROBA, 0.7) == ["uncertain", "against", "uncertain", "against"]
    assert selective.abstain(PRED, PROBA, None) == PRED
    assert selective.abstain(PRED, PROBA, 0.5) == PRED  # "below": a probability equal to P is kept


@pytest.mark.parametrize("value", [0.0, 1.0, -0.2, 1.5])
def test_min_confidence_outside_zero_one_is_refused(value: float) -> None:
    with pytest.raises(StanceError, match=r"invalid value for --min-confidence: .* strictly between 0 and 1"):
        selective.check_min_confidence(value)


# ---------------------------------------------------------------- through the CLI and the API


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export(tmp_path_factory.mktemp("models") / "stance-classifier")


def _threshold(model_dir: Path) -> tuple[list[str], float, list[float]]:
    from training import load_model

    texts = [s for s, _ in SENTENCES]
    tops = [max(p.values()) for p in load_model(model_dir).predict_proba(texts)]
    return texts, sorted(tops)[len(tops) // 2], tops


def test_predict_min_confidence_writes_uncertain_and_keeps_probabilities(model_dir: Path) -> None:
    texts, p, tops = _threshold(model_dir)
    result = CliRunner().invoke(
        app,
        ["predict", *texts, "--model", str(model_dir), "--min-confidence", str(p), "--format", "jsonl", "--jobs", "1"],
    )
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    expected = [t < p for t in tops]
    assert [r["label"] == "uncertain" for r in rows] == expected and 0 < sum(expected) < len(texts)
    assert all(max(r["probabilities"].values()) == pytest.approx(t, abs=1e-6) for r, t in zip(rows, tops))
    assert f"{sum(expected)} uncertain (top probability below {p:g})" in result.stderr


def test_the_python_api_and_the_served_model_take_the_same_option(model_dir: Path) -> None:
    from training import load_model
    from training.serving import ServedModel

    texts, p, tops = _threshold(model_dir)
    model = load_model(model_dir)
    labels = model.predict(texts, min_confidence=p)
    assert [lab == "uncertain" for lab in labels] == [t < p for t in tops]
    served = ServedModel(model).predict(texts, params={"min_confidence": p})
    assert served["label"].tolist() == labels
    assert ServedModel(model).predict(texts)["label"].tolist() == model.predict(texts)
    with pytest.raises(StanceError, match=r"invalid value for min_confidence: 1\.5"):
        model.predict(texts, min_confidence=1.5)


def test_predict_bad_min_confidence_is_one_line(model_dir: Path) -> None:
    result = CliRunner().invoke(app, ["predict", "a sentence", "--model", str(model_dir), "--min-confidence", "1"])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "error: invalid value for --min-confidence: 1.0 (use a probability strictly between 0 and 1, "
        "e.g. 0.8, or leave it out to label every sentence)"
    ]


def test_the_exported_default_applies_when_the_option_is_absent(tmp_path: Path) -> None:
    folder = export(tmp_path / "m")
    meta = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    texts, p, tops = _threshold(folder)
    meta["min_confidence"] = p
    (folder / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")
    result = CliRunner().invoke(app, ["predict", *texts, "--model", str(folder), "--format", "jsonl", "--jobs", "1"])
    assert result.exit_code == 0, result.stderr
    assert [json.loads(line)["label"] == "uncertain" for line in result.stdout.splitlines()] == [t < p for t in tops]
