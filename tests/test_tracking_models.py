"""MLflow models: a fitted classifier logged as a served skops folder."""

from __future__ import annotations

from pathlib import Path

import yaml
from training import tracking


def test_log_model_writes_a_served_skops_folder_per_call(tmp_path: Path) -> None:
    import mlflow
    import pandas as pd

    from predictkit import TEXTS
    from predictkit import train as fit

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = mlflow.MlflowClient(uri)
    exp_id = client.create_experiment("t", artifact_location=(tmp_path / "artifacts").as_uri())
    run_id = client.create_run(exp_id).info.run_id
    model = fit()
    uris = [tracking.log_model(client, exp_id, run_id, model, TEXTS[:2], metadata={"candidate": "c"}) for _ in "ab"]
    assert len(set(uris)) == 2
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    try:
        folders = [Path(mlflow.artifacts.download_artifacts(u)) for u in uris]
    finally:
        mlflow.set_tracking_uri(previous)
    own = {"artifact_path", "model_uuid", "model_id", "utc_time_created"}
    specs = [{k: v for k, v in yaml.safe_load((f / "MLmodel").read_text()).items() if k not in own} for f in folders]
    assert specs[0] == specs[1]
    assert specs[0]["flavors"]["python_function"]["loader_module"] == "training.serving"
    meta = specs[0]["metadata"]
    assert meta["candidate"] == "c" and meta["served_columns"] == ["label", "favor", "against", "neutral"]
    assert sorted(meta["labels"]) == ["against", "favor", "neutral"]
    outputs = {r.model_id for r in client.get_run(run_id).outputs.model_outputs}
    assert outputs == {u.removeprefix("models:/") for u in uris}
    out = mlflow.pyfunc.load_model(str(folders[1])).predict(pd.DataFrame({"text": TEXTS[:2]}))
    assert list(out.columns) == ["label", "favor", "against", "neutral"]
