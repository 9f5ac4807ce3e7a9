"""training.reports: the DVC metrics JSON and the confusion, per-class and reliability CSVs."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from training import reports


def _report(calibration: bool = True, risk: bool = True) -> dict[str, Any]:
    """An evaluation report of 5 sentences: favor 2 (1 called against), against 2, neutral 1."""
    report: dict[str, Any] = {
        "macro_f1": 0.7777777777,
        "f_avg": 0.73333333333,
        "accuracy": 0.8,
        "n": 5,
        "per_class": {
            "favor": {"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2},
            "against": {"precision": 2 / 3, "recall": 1.0, "f1": 0.8, "support": 2},
            "neutral": {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1},
        },
        "confusion": {"labels": ["favor", "against", "neutral"], "matrix": [[1, 1, 0], [0, 2, 0], [0, 0, 1]]},
    }
    if calibration:
        report["calibration"] = {
            "ece": 0.123456789,
            "brier": 0.3,
            "log_loss": 0.5555555555,
            "bins": [
                {"low": 0.6, "high": 2 / 3, "n": 2.0, "confidence": 0.65, "accuracy": 0.5},
                {"low": 0.8666, "high": 0.9333, "n": 3.0, "confidence": 0.9, "accuracy": 1.0},
            ],
        }
    if risk:
        report["risk_coverage"] = {"at_coverage": [], "aurc": 0.0412345678}
    return report


def test_metrics_round_the_headline_numbers_and_keep_three_scores_per_class() -> None:
    got = reports.metrics_of(_report())
    assert got == {
        "macro_f1": 0.777778,
        "f_avg": 0.733333,
        "accuracy": 0.8,
        "n": 5,
        "ece": 0.123457,
        "brier": 0.3,
        "log_loss": 0.555556,
        "aurc": 0.041235,
        "per_class": {
            "favor": {"precision": 1.0, "recall": 0.5, "f1": 0.666667},
            "against": {"precision": 0.666667, "recall": 1.0, "f1": 0.8},
            "neutral": {"precision": 1.0, "recall": 1.0, "f1": 1.0},
        },
    }


def test_metrics_without_calibration_or_risk_coverage_leave_them_out() -> None:
    got = reports.metrics_of(_report(calibration=False, risk=False))
    assert set(got) == {"macro_f1", "f_avg", "accuracy", "n", "per_class"}


def test_nothing_asked_nothing_written() -> None:
    assert reports.write_reports(_report()) == []


def test_the_metrics_file_is_the_metrics_as_json(tmp_path: Path) -> None:
    path = tmp_path / "metrics" / "evaluate.json"  # its folder does not exist yet
    assert reports.write_reports(_report(), metrics=path) == [path]
    text = path.read_text(encoding="utf-8")
    assert json.loads(text) == reports.metrics_of(_report()) and text.endswith("}\n")
    assert text.startswith('{\n  "macro_f1": 0.777778,')


def _rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def test_plots_are_one_confusion_row_per_sentence_per_class_scores_and_reliability(tmp_path: Path) -> None:
    plots = tmp_path / "plots"
    written = reports.write_reports(_report(), plots=plots)
    assert written == [plots / "confusion.csv", plots / "per_class.csv", plots / "reliability.csv"]
    assert _rows(plots / "confusion.csv") == [
        ["actual", "predicted"],
        ["favor", "favor"],
        ["favor", "against"],
        ["against", "against"],
        ["against", "against"],
        ["neutral", "neutral"],
    ]
    assert _rows(plots / "per_class.csv") == [
        ["label", "f1", "precision", "recall"],
        ["favor", "0.666667", "1.000000", "0.500000"],
        ["against", "0.800000", "0.666667", "1.000000"],
        ["neutral", "1.000000", "1.000000", "1.000000"],
    ]
    assert _rows(plots / "reliability.csv") == [
        ["confidence", "accuracy", "n"],
        ["0.650000", "0.500000", "2"],
        ["0.900000", "1.000000", "3"],
    ]
    assert "\r" not in (plots / "confusion.csv").read_text(encoding="utf-8")


def test_without_calibration_there_is_no_reliability_file(tmp_path: Path) -> None:
    metrics, plots = tmp_path / "m.json", tmp_path / "plots"
    written = reports.write_reports(_report(calibration=False), metrics=metrics, plots=plots)
    assert written == [metrics, plots / "confusion.csv", plots / "per_class.csv"]
    assert not (plots / "reliability.csv").exists()


def test_writing_again_replaces_the_files_and_leaves_no_temporary_ones(tmp_path: Path) -> None:
    plots = tmp_path / "plots"
    reports.write_reports(_report(), plots=plots)
    smaller = _report()
    smaller["confusion"]["matrix"] = [[1, 0, 0], [0, 0, 0], [0, 0, 0]]
    reports.write_reports(smaller, plots=plots)
    assert _rows(plots / "confusion.csv") == [["actual", "predicted"], ["favor", "favor"]]
    assert sorted(p.name for p in plots.iterdir()) == ["confusion.csv", "per_class.csv", "reliability.csv"]


def test_a_real_evaluation_report_writes_every_file(tmp_path: Path) -> None:
    from training import load_model
    from training.evaluate import Labelled, evaluate

    from predictkit import SENTENCES, export

    model = load_model(export(tmp_path / "model"))
    data = Labelled(texts=[t for t, _ in SENTENCES] * 2, labels=[y for _, y in SENTENCES] * 2, source="tiny")
    report = evaluate(model, data)
    written = reports.write_reports(report, metrics=tmp_path / "m.json", plots=tmp_path / "plots")
    assert len(written) == 4
    metrics = json.loads((tmp_path / "m.json").read_text(encoding="utf-8"))
    assert metrics["n"] == 18 and metrics["accuracy"] == pytest.approx(report["accuracy"], abs=1e-6)
    assert metrics["aurc"] == pytest.approx(report["risk_coverage"]["aurc"], abs=1e-6)
    assert len(_rows(tmp_path / "plots" / "confusion.csv")) == 1 + 18
    bins = _rows(tmp_path / "plots" / "reliability.csv")[1:]
    assert sum(int(n) for _, _, n in bins) == 18
