"""MLflow models: logging a fitted classifier as a logged model, fetching one back for prediction."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from training.errors import StanceError
from training.tracking.store import resolve_uri, retry

MLMODEL_FILE = "MLmodel"


def log_model(
    client: Any,
    experiment_id: str,
    run_id: str,
    model: Any,
    input_example: Sequence[str],
    tags: Mapping[str, str] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> str:
    """Log a fitted text classifier as an MLflow model (a LoggedModel) of ``run_id``; return its URI.

    The folder, written by ``mlflow.sklearn.save_model``, holds the skops file checked against
    our trusted types, the signature, the input example and pinned requirements. The
    ``python_function`` flavor names :mod:`training.serving` as loader, so ``mlflow.pyfunc`` and
    ``mlflow models serve`` load the skops file with our trusted-type list (not the list stored
    in the folder) and answer each sentence with its label and one probability per label. The
    client records the folder the way ``mlflow.sklearn.log_model`` does (a LoggedModel, its
    artifacts, the run's model output, READY) without what ``log_model`` adds on top: loading
    the folder back to predict on the example, copying the run's metrics onto the model, and a
    new client and two reads of the run per model.
    """
    from mlflow.entities import LoggedModelOutput, LoggedModelStatus
    from mlflow.models import Model

    signature, example, meta = _signature(model, input_example, metadata)
    logged = retry(client.create_logged_model, experiment_id, name="model", source_run_id=run_id, tags=dict(tags or {}))
    status = LoggedModelStatus.FAILED
    try:
        spec = Model(
            artifact_path=logged.artifact_location,
            model_uuid=logged.model_id,
            run_id=run_id,
            model_id=logged.model_id,
            signature=signature,
            metadata=meta,
        )
        with tempfile.TemporaryDirectory(prefix="stance-model-") as tmp:
            folder = Path(tmp) / "model"
            save_folder(folder, spec, model, example)
            retry(client.log_model_artifacts, logged.model_id, str(folder))
        retry(client.log_outputs, run_id, models=[LoggedModelOutput(logged.model_id, step=0)])
        status = LoggedModelStatus.READY
    finally:
        retry(client.finalize_logged_model, logged.model_id, status)
    return f"models:/{logged.model_id}"


def _signature(model: Any, input_example: Sequence[str], metadata: Mapping[str, Any] | None) -> tuple[Any, Any, dict]:
    """The signature, the input example as a DataFrame and the metadata of ``model``'s folder.

    The output schema is that of :class:`training.serving.ServedModel`: the label and one
    probability column per label, named in the metadata.
    """
    import pandas as pd
    from mlflow.models import infer_signature

    from training.persistence import labels_of
    from training.serving import ServedModel
    from training.stance_model import StanceModel

    example = pd.DataFrame({"text": list(input_example)})
    served = ServedModel(StanceModel(model)).predict(example)
    signature = infer_signature(example, served, params={"min_confidence": 0.0})
    meta = {"labels": labels_of(model), "served_columns": list(served.columns), **(metadata or {})}
    return signature, example, meta


def save_folder(folder: Path, spec: Any, model: Any, example: Any) -> None:
    """A model folder written by ``mlflow.sklearn.save_model``, served by :mod:`training.serving`."""
    import mlflow.sklearn

    from training.persistence import TRUSTED_TYPES, library_versions

    versions = library_versions()
    # Explicit requirements: inferring them loads the model in a subprocess.
    reqs = [f"{dist}=={versions[dist]}" for dist in ("scikit-learn", "skops", "numpy", "scipy") if dist in versions]
    mlflow.sklearn.save_model(
        model,
        str(folder),
        mlflow_model=spec,
        serialization_format="skops",
        skops_trusted_types=list(TRUSTED_TYPES),
        signature=spec.signature,
        input_example=example,
        pip_requirements=reqs,
        metadata=spec.metadata,
    )
    # Served through our loader, whose predict returns the label and every probability.
    spec.flavors["python_function"]["loader_module"] = "training.serving"
    spec.flavors["python_function"]["predict_fn"] = "predict"
    spec.save(str(folder / MLMODEL_FILE))


def load_sklearn_model(uri: str, tracking_uri: str | None = None) -> tuple[Any, dict[str, Any]]:
    """Fetch an MLflow scikit-learn model (``runs:/``, ``models:/name@alias``, a model folder...).

    Returns the estimator and metadata naming where it came from. The skops file is loaded by
    :func:`training.persistence.load_model_file` with our trusted-type list, not by
    ``mlflow.sklearn.load_model``, which would trust the list stored inside the model itself;
    models stored with pickle are refused. ``tracking_uri`` defaults to $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db.
    """
    tracking_uri = resolve_uri(tracking_uri)
    from mlflow.models import Model

    from training.persistence import load_model_file, sha256_file
    from training.serving import skops_file

    with tempfile.TemporaryDirectory(prefix="stance-model-") as tmp:
        local = _download(uri, tracking_uri, tmp)
        if not (local / MLMODEL_FILE).is_file():
            raise StanceError(
                f"not an MLflow model: {uri} has no MLmodel file (point at the model, e.g. runs:/<id>/model)"
            )
        spec = Model.load(str(local / MLMODEL_FILE))
        model_file = skops_file(spec.flavors, local, uri)
        estimator = load_model_file(model_file)
        digest = sha256_file(model_file)
    meta = {
        "sha256": digest,
        "mlflow": {
            "tracking_uri": tracking_uri,
            "model_uri": uri,
            "run_id": spec.run_id,
            "model_id": getattr(spec, "model_id", None),
        },
        "mlflow_metadata": dict(spec.metadata or {}),
    }
    return estimator, meta


def _download(uri: str, tracking_uri: str, into: str) -> Path:
    """The local copy of the artifacts at ``uri``; one clear line when they cannot be fetched."""
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        return Path(
            retry(
                mlflow.artifacts.download_artifacts,
                artifact_uri=uri,
                dst_path=into,
                tracking_uri=tracking_uri,
                registry_uri=tracking_uri,
            )
        )
    except (MlflowException, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StanceError(
            f"cannot fetch MLflow model {uri}: {first} (check the URI; tracking store "
            f"{tracking_uri}, set MLFLOW_TRACKING_URI to use another)"
        ) from None
