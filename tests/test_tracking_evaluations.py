"""Runs of ``stance evaluate`` and ``stance learning-curve``: tags, metrics, params and files."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from training.tracking.evaluations import log_evaluation, log_learning_curve

REPORT = {
    "model": "models/stance-classifier",
    "model_sha256": "ab" * 32,
    "data": "data/gold.jsonl",
    "macro_f1": 0.5,
    "f_avg": 0.4,
    "accuracy": 0.6,
    "n": 10,
    "per_class": {"favor": {"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 4}},
    "skipped_empty": 2,
}


def test_an_evaluation_run_links_the_model_and_keeps_its_scores(tmp_path: Path) -> None:
    import mlflow

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    origin = {"mlflow": {"tracking_uri": uri, "model_uri": "models:/m/1", "run_id": "r1"}}
    run_id = log_evaluation(SimpleNamespace(uri=uri, experiment="ev"), REPORT, origin)
    run = mlflow.MlflowClient(uri).get_run(run_id)
    tags, metrics = run.data.tags, run.data.metrics
    assert run.info.status == "FINISHED" and run.info.run_name == "evaluate gold.jsonl"
    assert (tags["stance.kind"], tags["stance.model_uri"], tags["stance.model_run_id"]) == (
        "evaluation",
        "models:/m/1",
        "r1",
    )
    assert tags["stance.skipped_empty"] == "2" and "stance.data_fingerprint" not in tags  # empty tags are left out
    assert metrics["macro_f1"] == 0.5 and metrics["favor_support"] == 4.0
    assert run.data.params == {"data": "data/gold.jsonl", "model": "models/stance-classifier"}


def test_a_learning_curve_run_steps_each_strategy_by_its_labels(tmp_path: Path) -> None:
    import mlflow

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    chart = tmp_path / "curve.png"
    chart.write_bytes(b"png")
    curves = {"random": [(10, 0.3), (20, 0.4)], "least-confident": [(10, 0.35)]}
    run_id = log_learning_curve(uri, "lc", {"seed": 1}, {"gain": 0.05, "bad": float("nan")}, curves, [chart])
    client = mlflow.MlflowClient(uri)
    run = client.get_run(run_id)
    history = client.get_metric_history(run_id, "curve_macro_f1.random")
    assert sorted((m.step, m.value) for m in history) == [(10, 0.3), (20, 0.4)]
    assert run.data.metrics["curve_macro_f1.least_confident"] == 0.35
    assert run.data.metrics["gain"] == 0.05 and "bad" not in run.data.metrics
    assert run.data.tags["stance.strategies"] == "random,least-confident" and run.data.params == {"seed": "1"}
    assert [a.path for a in client.list_artifacts(run_id)] == ["curve.png"]
