import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from training.errors import StanceError
from training.persistence import TRUSTED_TYPES, save_model_file
from training.serving import _load_pyfunc

from predictkit import LABELS_Y, TEXTS, train
from test_persistence import foreign_class_file


def _mlflow_folder(folder: Path, model_file: Path, trusted: list[str], fmt: str = "skops") -> Path:
    """The two files of an MLflow model folder that the loader reads, as MLflow writes them."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.skops").write_bytes(model_file.read_bytes())
    spec = {
        "flavors": {
            "sklearn": {"pickled_model": "model.skops", "serialization_format": fmt, "skops_trusted_types": trusted},
            "python_function": {"loader_module": "training.serving", "model_path": "model.skops"},
        }
    }
    (folder / "MLmodel").write_text(yaml.safe_dump(spec), encoding="utf-8")
    return folder


def test_served_predictions_carry_the_label_and_named_probabilities(tmp_path: Path) -> None:
    fitted = train()
    folder = _mlflow_folder(tmp_path / "model", save_model_file(fitted, tmp_path / "m.skops"), TRUSTED_TYPES)
    served = _load_pyfunc(str(folder))
    got = served.predict(pd.DataFrame({"text": TEXTS[:4]}))
    assert list(got.columns) == ["label", "favor", "against", "neutral"]
    assert got["label"].tolist() == list(fitted.predict(TEXTS[:4])) == LABELS_Y[:4]
    expected = pd.DataFrame(fitted.predict_proba(TEXTS[:4]), columns=list(fitted.classes_))
    np.testing.assert_allclose(
        got[["favor", "against", "neutral"]].to_numpy(),
        expected[["favor", "against", "neutral"]].to_numpy(),
        atol=1e-12,
    )
    # A bare list of sentences, and a one-column frame under another name, are read the same way.
    assert served.predict(TEXTS[:4])["label"].tolist() == LABELS_Y[:4]
    assert served.predict(pd.DataFrame({"sentence": TEXTS[:4]}))["label"].tolist() == LABELS_Y[:4]
    with pytest.raises(StanceError, match=r"no 'text' column in the input \(columns: a, b\)"):
        served.predict(pd.DataFrame({"a": ["x"], "b": ["y"]}))


def test_the_trusted_list_inside_the_model_folder_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad, marker = foreign_class_file(train(), tmp_path, monkeypatch)
    # Whoever made the folder also listed their class as trusted; only our own list counts.
    folder = _mlflow_folder(tmp_path / "model", bad, [*TRUSTED_TYPES, "stance_evil_payload.Boom"])
    with pytest.raises(StanceError, match=r"untrusted types in model file .*model\.skops: stance_evil_payload\.Boom"):
        _load_pyfunc(str(folder))
    assert not marker.exists() and "stance_evil_payload" not in sys.modules


def test_a_pickled_model_folder_is_refused(tmp_path: Path) -> None:
    folder = _mlflow_folder(tmp_path / "model", save_model_file(train(), tmp_path / "m.skops"), [], fmt="cloudpickle")
    with pytest.raises(StanceError, match=r"refused: .*model is not stored as skops"):
        _load_pyfunc(str(folder))
