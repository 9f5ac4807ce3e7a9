"""MLflow entries built from plain data: dataset inputs through MLflow's public dataset API."""

from __future__ import annotations

from pathlib import Path

from training import tracking
from training.tracking import schema
from training.tracking.entries import MAX_DIGEST_CHARS, dataset_inputs, log_batch

from trainkit import small_config


def test_dataset_inputs_carry_name_digest_context_and_schema() -> None:
    frames = schema.dataset_frames(
        {"text": ["a", "b"], "label": ["favor", "against"], "doc_id": ["d1", "d2"]},
        {"text": ["c"], "label": ["neutral"], "doc_id": ["d3"]},
    )
    fingerprint = "0123456789abcdef" * 4
    inputs = dataset_inputs(frames, fingerprint, "")
    assert [d.dataset.name for d in inputs] == [schema.TRAINING_INPUT, schema.TESTING_INPUT]
    assert {d.dataset.digest for d in inputs} == {fingerprint[:MAX_DIGEST_CHARS]}
    assert [[(t.key, t.value) for t in d.tags] for d in inputs] == [
        [("mlflow.data.context", "training")],
        [("mlflow.data.context", "testing")],
    ]
    assert '"text"' in inputs[0].dataset.schema and inputs[0].dataset.source_type


def test_batches_respect_mlflow_limits_and_keep_every_value(tmp_path: Path) -> None:
    from mlflow.entities import Metric, Param

    cfg = small_config(tmp_path)
    tracker = tracking.Tracker(cfg.tracking)
    tracker.open()
    run_id = tracker.client.create_run(tracker.experiment_id).info.run_id
    params = [Param(f"p{i:03d}", str(i)) for i in range(250)]  # three batches of at most 100 params
    metrics = [Metric("m", float(i), 0, i) for i in range(1950)]  # and 1000 entries in all
    log_batch(tracker.client, run_id, params=params, metrics=metrics)
    run = tracker.client.get_run(run_id)
    assert run.data.params == {f"p{i:03d}": str(i) for i in range(250)}
    history = tracker.client.get_metric_history(run_id, "m")
    assert sorted((m.step, m.value) for m in history) == [(i, float(i)) for i in range(1950)]
