"""Loading a stance model and labelling sentences with it: the Python API behind ``stance predict``.

``load_model`` takes a local export directory (``models/stance-classifier`` by default, read
without importing MLflow) or any MLflow model URI (``runs:/...``, ``models:/name@alias``...),
and returns a :class:`StanceModel`. Every path ends in the same skops loader with our trusted
type list, so a registered model is held to the same rules as a local one.
"""

from __future__ import annotations

import re
from pathlib import Path

from training.errors import StanceError
from training.persistence import DEFAULT_EXPORT, METADATA_FILE, MODEL_FILE
from training.stance_model import StanceModel

__all__ = ["StanceModel", "check_model_location", "is_mlflow_uri", "load_model"]

# A scheme such as ``runs:``, ``models:``, ``s3:`` or ``file:``; one letter is a Windows drive.
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")


def is_mlflow_uri(uri: str) -> bool:
    """True for ``scheme:...`` model URIs (not for local paths, Windows drives included)."""
    return bool(_URI.match(uri)) and not Path(uri).exists()


def check_model_location(uri: str | Path) -> None:
    """Fail fast, before reading any input, when a local model path does not exist."""
    text = str(uri)
    if is_mlflow_uri(text):
        return
    path = Path(text)
    if not path.exists():
        hint = "run `stance train` first" if path == DEFAULT_EXPORT else "check the path"
        raise StanceError(
            f"model not found: {path} ({hint}, or pass --model with an export directory or an MLflow model URI)"
        )


def load_model(uri: str | Path = DEFAULT_EXPORT) -> StanceModel:
    """Load a local export directory, a ``.skops`` file or an MLflow model URI.

    Local exports are checked against the sha256 in their metadata and never import MLflow.
    MLflow URIs are resolved by :mod:`training.tracking` (the only module importing MLflow)
    and loaded with the same trusted-type check.
    """
    text = str(uri)
    check_model_location(text)
    if is_mlflow_uri(text):
        from training import tracking

        estimator, metadata = tracking.load_sklearn_model(text)
        return StanceModel(estimator, metadata, source=text)
    path = Path(text)
    if path.is_dir() and (path / METADATA_FILE).exists():
        from training.persistence import read_export

        estimator, metadata = read_export(path)
        return StanceModel(estimator, metadata, source=text)
    if path.is_dir() and (path / "MLmodel").exists():  # a downloaded or saved MLflow model folder
        from training import tracking

        estimator, metadata = tracking.load_sklearn_model(str(path.resolve()))
        return StanceModel(estimator, metadata, source=text)
    if path.is_file():
        from training.persistence import load_model_file

        return StanceModel(load_model_file(path), {}, source=text)
    raise StanceError(
        f"not a model: {path} has neither {METADATA_FILE} nor an MLmodel file (pass an export directory "
        f"such as {DEFAULT_EXPORT}, a {MODEL_FILE} file or an MLflow model URI)"
    )
