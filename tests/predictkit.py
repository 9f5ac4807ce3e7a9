"""Tiny trained pipelines and exports for the predict, evaluate and CLI tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from training.classifiers import assemble, build_classifier, build_features

SENTENCES: list[tuple[str, str]] = [
    ("We welcome the normalization of ties and support the deal.", "favor"),
    ("Restoring relations is a good step for peace and trade.", "favor"),
    ("Flights between the two capitals resumed, a welcome step.", "favor"),
    ("They reject normalization and oppose any deal with them.", "against"),
    ("Normalization is a betrayal and must be stopped.", "against"),
    ("Protesters denounced the accord and refused recognition.", "against"),
    ("The ministers met on Tuesday in the capital.", "neutral"),
    ("The talks were held behind closed doors.", "neutral"),
    ("A press conference is scheduled for noon.", "neutral"),
]
TEXTS = [s for s, _ in SENTENCES] * 4
LABELS_Y = [y for _, y in SENTENCES] * 4


def train(classifier: str = "logreg", params: dict[str, Any] | None = None, features: str | None = "word") -> Any:
    """A fitted text-in pipeline from the registry."""
    feats = build_features(features, {}) if features else None
    return assemble(feats, build_classifier(classifier, params or {}, seed=0)).fit(TEXTS, LABELS_Y)


def export(directory: Path, model: Any = None) -> Path:
    """Write a complete export of ``model`` (a logistic regression by default)."""
    from training.persistence import write_export

    return write_export(model if model is not None else train(), directory, {"candidate": "test"}, "# test model\n")


def register(root: Path, fitted: Any, serialization_format: str = "skops") -> dict[str, Any]:
    """Log ``fitted`` to a SQLite store under ``root`` and register it as ``stance-classifier@champion``.

    Skops models are logged by :func:`training.tracking.log_model`, as ``stance train`` logs them;
    any other format goes through ``mlflow.sklearn.log_model`` (to test that it is refused).
    """
    import mlflow
    import mlflow.sklearn
    import pandas as pd

    uri = f"sqlite:///{root / 'mlflow.db'}"
    client = mlflow.MlflowClient(uri)
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    try:
        exp = client.get_experiment_by_name("predict-tests")
        # artifacts next to the database, not in ./mlruns of the folder pytest runs in
        exp_id = (
            exp.experiment_id
            if exp
            else client.create_experiment("predict-tests", artifact_location=(root / "artifacts").as_uri())
        )
        mlflow.set_experiment(experiment_id=exp_id)
        with mlflow.start_run(experiment_id=exp_id) as run:
            if serialization_format == "skops":
                from training.tracking import log_model

                # The function `stance train` logs every candidate with.
                model_uri = log_model(client, exp_id, run.info.run_id, fitted, TEXTS[:2])
                model_id = model_uri.removeprefix("models:/")
            else:
                info = mlflow.sklearn.log_model(
                    fitted,
                    name="model",
                    serialization_format=serialization_format,
                    pyfunc_predict_fn="predict_proba",
                    input_example=pd.DataFrame({"text": TEXTS[:2]}),
                )
                model_uri, model_id = info.model_uri, info.model_id
        out = {"run_id": run.info.run_id, "model_uri": model_uri, "tracking_uri": uri, "model_id": model_id}
        if serialization_format == "skops":
            version = mlflow.register_model(model_uri, "stance-classifier")
            client.set_registered_model_alias("stance-classifier", "champion", version.version)
    finally:
        mlflow.set_tracking_uri(previous)
    return out
