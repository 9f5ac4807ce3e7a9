"""The served form of a stance model: what ``mlflow.pyfunc.load_model`` and ``mlflow models serve`` run.

Every model ``stance train`` logs keeps MLflow's scikit-learn flavor (a skops file), but its
``python_function`` flavor names this module as loader. That changes two things for the people
who serve it:

- The skops file is loaded with the trusted-type list kept in :mod:`training.persistence`,
  not with the list stored inside the model's own MLmodel file (which whoever made the file
  could have extended), so MLflow's ``MLFLOW_ALLOW_PICKLE_DESERIALIZATION`` gate is not needed.
- Each prediction is the label with one named probability per label, not a bare row of
  numbers in the model's alphabetical class order.

MLflow calls :func:`_load_pyfunc` with the model folder; this module never imports MLflow.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from training.errors import StanceError

MLMODEL = "MLmodel"


def skops_file(flavors: Mapping[str, Any], folder: Path, where: str) -> Path:
    """The skops file an MLflow model folder's sklearn flavor names; any other format is refused.

    ``where`` names the model in the messages (its URI, or the folder).
    """
    flavor = flavors.get("sklearn")
    if flavor is None:
        raise StanceError(
            f"not a scikit-learn model: {where} has flavors {', '.join(flavors)} (log it with mlflow.sklearn)"
        )
    fmt = flavor.get("serialization_format", "pickle")
    if fmt != "skops":
        raise StanceError(
            f"refused: {where} is not stored as skops: it is stored as {fmt}, which can run code when "
            "loaded (log the model with serialization_format='skops', as `stance train` does)"
        )
    return folder / flavor.get("pickled_model", "model.skops")


def _model_file(path: Path) -> Path:
    """The skops file of an MLflow model folder (read without MLflow), or ``path`` itself."""
    if path.is_file():
        return path
    import yaml

    spec = yaml.safe_load((path / MLMODEL).read_text(encoding="utf-8")) or {}
    return skops_file(spec.get("flavors") or {}, path, str(path))


class ServedModel:
    """A stance model behind MLflow's pyfunc ``predict``: label plus named probabilities."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        """Label the ``text`` column of a DataFrame (or a list or Series of sentences).

        Returns a DataFrame with ``label`` and one probability column per label, one row per
        input sentence in input order. ``params={"min_confidence": P}`` labels a sentence
        ``uncertain`` when its top probability is below ``P`` (0, the default: never).
        """
        import pandas as pd

        from training.selective import abstain, check_min_confidence

        if isinstance(model_input, pd.DataFrame):
            if "text" in model_input.columns:
                texts = model_input["text"]
            elif model_input.shape[1] == 1:
                texts = model_input.iloc[:, 0]
            else:
                raise StanceError(
                    f"no 'text' column in the input (columns: {', '.join(map(str, model_input.columns))})"
                )
        else:
            texts = model_input
        batch = [str(t) for t in (texts.tolist() if hasattr(texts, "tolist") else list(texts))]
        proba = self.model.predict_proba_array(batch)
        frame = pd.DataFrame(proba, columns=list(self.model.labels))
        threshold = float((params or {}).get("min_confidence") or 0.0) or None
        check_min_confidence(threshold, "min_confidence")
        frame.insert(0, "label", abstain(self.model.label_array(proba), proba, threshold))
        return frame


def _load_pyfunc(path: str) -> ServedModel:
    """MLflow's entry point: load the skops file under ``path`` with our trusted types."""
    from training.persistence import load_model_file
    from training.stance_model import StanceModel

    return ServedModel(StanceModel(load_model_file(_model_file(Path(path))), source=str(path)))
