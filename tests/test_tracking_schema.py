"""The MLflow tag/param schema: payloads built for parent and candidate runs, and parsed back."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import pytest
from training.tracking import schema
from training.tracking.readback import read_leaderboard

ROW = {
    "candidate": "lr-word",
    "cv_macro_f1_mean": 0.71,
    "cv_macro_f1_std": 0.02,
    "test_macro_f1": 0.69,
    "model_size_bytes": 1234,
    "tied_with_best": True,  # a flag, not a metric
    "params": {"C": 1.0},
}
REPORT = {"favor": {"precision": 0.5, "recall": 0.25, "f1": 1 / 3, "support": 4}}


def test_candidate_payloads_carry_the_row_scores_and_names() -> None:
    numbers = schema.candidate_metrics(ROW, REPORT, [{"score": 0.6}, {"score": 0.7}], {"news": 0.8})
    assert numbers == {
        "cv_macro_f1_mean": 0.71,
        "cv_macro_f1_std": 0.02,
        "test_macro_f1": 0.69,
        "model_size_bytes": 1234,
        "test_precision_favor": 0.5,
        "test_recall_favor": 0.25,
        "test_f1_favor": 1 / 3,
        "search_best_score": 0.7,
        "cv_macro_f1_register_news": 0.8,
    }
    tags = schema.candidate_tags("lr-word", "word", "logreg", "gold", baseline=False, weighted=True, note="n")
    assert tags["stance.candidate"] == "lr-word" and tags["stance.baseline"] == "false"
    assert tags["stance.sample_weight_used"] == "true" and tags["mlflow.note.content"] == "n"
    assert schema.split_metrics([{"macro_f1": 0.5}, {"macro_f1": 0.7}], ["macro_f1"]) == {
        "cv_macro_f1_split": [0.5, 0.7]
    }


def test_candidate_params_drop_the_candidate_list_and_prefix_their_own() -> None:
    params = schema.candidate_params(
        {"seed": 1, "candidates": "[...]", "cv.folds": 3}, {"name": "lr", "classifier": "logreg"}, "gold", {"C": 2.0}
    )
    assert params == {
        "seed": 1,
        "cv.folds": 3,
        "candidate.name": "lr",
        "candidate.classifier": "logreg",
        "candidate.training_data": "gold",
        "chosen.C": 2.0,
    }


def test_calibration_and_comparison_payloads() -> None:
    assert schema.calibration_metrics({}) == {}
    report = {"cv": {"sigmoid": {"ece": 0.1}}, "test": {"ece": 0.05}, "test_uncalibrated": {"ece": 0.2}}
    assert schema.calibration_metrics(report) == {
        "calibration_cv_sigmoid_ece": 0.1,
        "calibration_test_ece": 0.05,
        "calibration_test_uncalibrated_ece": 0.2,
    }
    report["validation_threshold"] = {"threshold": 0.8, "accuracy": 0.9, "coverage": 0.6, "n": 60.0}
    report["test_at_validation_threshold"] = {"threshold": 0.8, "accuracy": 0.88, "coverage": 0.55}
    with_threshold = schema.calibration_metrics(report)
    assert with_threshold["calibration_validation_threshold"] == 0.8
    assert with_threshold["calibration_validation_coverage"] == 0.6
    assert with_threshold["calibration_test_accuracy_at_threshold"] == 0.88
    assert with_threshold["calibration_test_coverage_at_threshold"] == 0.55
    verdict = {"tied": True, "is_best": False, "is_champion": False}
    metrics = schema.comparison_metrics(verdict)
    assert metrics["tied_with_best"] == 1.0 and math.isnan(metrics["p_value"])
    assert schema.comparison_tags(verdict) == {"stance.tied_with_best": "true", "stance.is_best": "false"}


def test_param_values_are_cut_to_mlflow_limit_and_non_finite_numbers_are_no_metrics() -> None:
    assert schema.param_value("x" * 7000) == "x" * 5997 + "..."
    assert schema.param_value({"b": 1, "a": [2]}) == '{"a": [2], "b": 1}'
    assert [schema.finite(v) for v in (1, 0.5, math.nan, math.inf, None, "1")] == [
        True,
        True,
        False,
        False,
        False,
        False,
    ]


def test_rows_without_the_metric_sort_last() -> None:
    def run(name: str, cv: float | None) -> SimpleNamespace:
        metrics = {} if cv is None else {"cv_macro_f1_mean": cv}
        data = SimpleNamespace(metrics=metrics, tags={schema.CANDIDATE_TAG: name}, params={})
        return SimpleNamespace(data=data, info=SimpleNamespace(run_name=name, run_id=name, status="FINISHED"))

    parent = run("parent", None)
    parent.info.experiment_id, parent.info.start_time = "1", 0
    board = schema.leaderboard("sqlite:///x.db", parent, [run("b", None), run("a", 0.5), run("c", 0.9)])
    assert [r["candidate"] for r in board["rows"]] == ["c", "a", "b"]
    assert board["rows"][2]["cv_macro_f1_mean"] is None and board["metric"] == "macro_f1"


def test_a_payload_written_by_the_builders_reads_back_to_the_same_values(tmp_path: Path) -> None:
    import mlflow
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = mlflow.MlflowClient(uri)
    exp = client.create_experiment("schema", artifact_location=(tmp_path / "mlruns").as_uri())
    parent_tags = {**schema.parent_tags("f" * 16, "d", "c", "gold"), schema.KIND_TAG: schema.COMPARISON}
    parent = client.create_run(exp, tags=parent_tags).info.run_id
    client.log_batch(
        parent,
        params=[Param(schema.METHOD_PARAM, "corrected_ttest"), Param(schema.ALPHA_PARAM, "0.05")],
        tags=[RunTag(schema.BEST_TAG, "lr-word"), RunTag(schema.METRIC_TAG, "macro_f1")],
    )
    verdict = {"tied": True, "is_best": True, "is_champion": True, "p_value": 1.0, "mean_diff": 0.0}
    tags = schema.candidate_tags("lr-word", "word", "logreg", "gold", baseline=False, weighted=False, note="")
    child = client.create_run(exp, tags={**tags, MLFLOW_PARENT_RUN_ID: parent, schema.KIND_TAG: schema.CANDIDATE})
    child_id = child.info.run_id
    metrics = {**schema.candidate_metrics(ROW, REPORT, [], {}), **schema.comparison_metrics(verdict)}
    params = schema.candidate_params({}, {"name": "lr-word"}, "gold", ROW["params"])
    client.log_batch(
        child_id,
        metrics=[Metric(k, float(v), 0, 0) for k, v in metrics.items()],
        params=[Param(k, schema.param_value(v)) for k, v in params.items()],
        tags=[RunTag(k, v) for k, v in schema.comparison_tags(verdict).items()],
    )
    client.set_terminated(child_id)
    client.set_terminated(parent)

    board = read_leaderboard(uri, "schema")
    assert (board["run_id"], board["best"], board["metric"]) == (parent, "lr-word", "macro_f1")
    assert (board["method"], board["alpha"], board["dataset_fingerprint"]) == ("corrected_ttest", "0.05", "f" * 16)
    (row,) = board["rows"]
    assert {k: row[k] for k in ("candidate", "features", "classifier", "training_data")} == {
        "candidate": "lr-word",
        "features": "word",
        "classifier": "logreg",
        "training_data": "gold",
    }
    for key in ("cv_macro_f1_mean", "cv_macro_f1_std", "test_macro_f1", "model_size_bytes", "p_value"):
        assert row[key] == pytest.approx(metrics[key])
    assert row["tied_with_best"] is True and row["is_best"] is True
    assert row["params"] == {"C": "1.0"}  # MLflow keeps params as text
    assert read_leaderboard(uri, "ignored", child_id)["run_id"] == parent
