"""Runs of the commands besides ``stance train``: ``stance evaluate`` and ``stance learning-curve``."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from training.tracking import schema
from training.tracking.artifacts import write_evaluation
from training.tracking.entries import MAX_BATCH_ENTRIES, MAX_BATCH_PARAMS, now_ms
from training.tracking.schema import finite, param_value
from training.tracking.store import check_store, git_commit, open_experiment, quiet_mlflow, resolve_uri, retry


def log_evaluation(config: Any, report: Mapping[str, Any], model_metadata: Mapping[str, Any]) -> str:
    """Record a ``stance evaluate`` report as its own MLflow run, linked to the evaluated model.

    The link is a set of tags (model URI, the run that trained it, the model file's sha256)
    and, when the model is an MLflow logged model, its id on each metric. Returns the run id.
    """
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.utils.mlflow_tags import MLFLOW_GIT_COMMIT

    uri = resolve_uri(config.uri)
    check_store(uri)
    client, exp_id = open_experiment(uri, config.experiment)
    origin = dict(model_metadata.get("mlflow") or {})
    # a logged model's id only means something in the store that holds it
    model_id = (origin.get("model_id") or None) if origin.get("tracking_uri") == uri else None
    tags = schema.evaluation_tags(report, origin)
    commit = git_commit()
    if commit:
        tags[MLFLOW_GIT_COMMIT] = commit
    data_name = Path(str(report.get("data", "data"))).name
    run = retry(client.create_run, exp_id, run_name=f"evaluate {data_name}", tags={k: v for k, v in tags.items() if v})
    run_id: str = run.info.run_id
    status = "FAILED"
    try:
        now = now_ms()
        values = schema.evaluation_metrics(report)
        retry(
            client.log_batch,
            run_id,
            metrics=[Metric(k, v, now, 0, model_id=model_id) for k, v in values.items() if finite(v)],
            params=[
                Param("data", str(report.get("data", ""))[: schema.MAX_PARAM_CHARS]),
                Param("model", str(report.get("model", ""))[: schema.MAX_PARAM_CHARS]),
            ],
            tags=[RunTag("stance.skipped_empty", str(report.get("skipped_empty", 0)))],
        )
        with tempfile.TemporaryDirectory(prefix="stance-evaluation-") as tmp:
            write_evaluation(Path(tmp), report, f"{data_name} (n={int(values['n'])})", values["macro_f1"])
            retry(client.log_artifacts, run_id, tmp)
        status = "FINISHED"
    finally:
        retry(client.set_terminated, run_id, status)
    return run_id


def log_learning_curve(
    uri: str | None,
    experiment: str,
    params: Mapping[str, Any],
    metrics: Mapping[str, float],
    curves: Mapping[str, Sequence[tuple[int, float]]],
    artifacts: Sequence[Path],
) -> str:
    """Record a ``stance learning-curve`` simulation as one run: each strategy's mean curve as a
    metric stepped by the number of labels (MLflow draws it as a chart), the summary as metrics,
    and the chart and report files as artifacts. Returns the run id."""
    from mlflow.entities import Metric, Param, RunTag

    uri = resolve_uri(uri)
    check_store(uri)
    quiet_mlflow()
    client, exp_id = open_experiment(uri, experiment)
    run = retry(client.create_run, exp_id, run_name="learning-curve", tags={schema.KIND_TAG: schema.LEARNING_CURVE})
    run_id: str = run.info.run_id
    status = "FAILED"
    try:
        now = now_ms()
        points = [
            Metric(schema.curve_metric(name), float(score), now, int(n))
            for name, curve in curves.items()
            for n, score in curve
        ]
        values = [Metric(k, float(v), now, 0) for k, v in metrics.items() if finite(v)]
        entries = points + values
        # The first batch also carries the params and the tag, within MLflow's limit of entries per call.
        size = MAX_BATCH_ENTRIES - MAX_BATCH_PARAMS
        for start in range(0, len(entries), size):
            first = start == 0
            retry(
                client.log_batch,
                run_id,
                metrics=entries[start : start + size],
                params=[Param(k, param_value(v)) for k, v in params.items()] if first else [],
                tags=[RunTag("stance.strategies", ",".join(curves))] if first else [],
            )
        for path in artifacts:
            retry(client.log_artifact, run_id, str(path))
        status = "FINISHED"
    finally:
        retry(client.set_terminated, run_id, status)
    return run_id
