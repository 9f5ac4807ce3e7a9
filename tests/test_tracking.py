"""MLflow logging of a comparison: runs, params, metrics, tags, inputs, artifacts, models, registry."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from training import tracking
from training.config import config_hash, flatten
from training.errors import StanceError
from training.train import train

from conftest import free_port
from trainkit import make_dataset, save_dataset, small_config

FOUR = [
    {"name": "dummy", "features": "none", "classifier": "dummy"},
    {"name": "rules", "features": "none", "classifier": "rules"},
    {"name": "lr-word", "features": "word", "classifier": "logreg", "search": {"C": [1.0, 10.0]}},
    {"name": "svc-negation", "features": "negation", "classifier": "linear_svc", "params": {"calibration_folds": 2}},
]


def test_unreachable_store_is_reported_before_any_training(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    cfg = small_config(tmp_path, tracking={"uri": url}, candidates=FOUR)
    seen: list[str] = []
    with pytest.raises(StanceError, match="tracking server not reachable"):
        train(cfg, progress=seen.append, dataset=make_dataset())
    assert not any(line.startswith("[") for line in seen)
    assert not Path(cfg.export_dir).exists()


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("tracked")
    dsd, info = make_dataset(n_docs=12)
    save_dataset(tmp / "dataset", dsd, info)
    cfg = small_config(tmp, candidates=FOUR)
    result = train(cfg)
    return cfg, result, info


@pytest.fixture(scope="module")
def client(trained):
    import mlflow

    return mlflow.MlflowClient(trained[0].tracking.uri)


def _children(client, parent_id: str):
    exp = client.get_run(parent_id).info.experiment_id
    return client.search_runs([exp], filter_string=f"tags.`mlflow.parentRunId` = '{parent_id}'")


def test_parent_run_has_config_params_tags_inputs_and_leaderboard(trained, client) -> None:
    cfg, result, info = trained
    parent = client.get_run(result.parent_run_id)
    assert parent.info.status == "FINISHED"
    tags = parent.data.tags
    assert tags["dataset.fingerprint"] == info["fingerprint"]
    assert tags["config_hash"] == config_hash(cfg)
    assert tags["stance.best"] == result.best
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=False).stdout.strip()
    if commit:
        assert tags["mlflow.source.git.commit"] == commit
    params = parent.data.params
    flat = flatten(cfg)
    assert params["cv.folds"] == "3" and params["comparison.method"] == "corrected_ttest"
    assert set(flat) <= set(params)
    inputs = {d.dataset.name: d for d in parent.inputs.dataset_inputs}
    assert inputs["stance-dataset/train+validation"].dataset.digest == info["fingerprint"][:36]
    assert {t.value for d in inputs.values() for t in d.tags} == {"training", "testing"}
    for metric in ("seconds_total", "seconds_mlflow", "mlflow_share", "best_cv_macro_f1_mean", "best_test_macro_f1"):
        assert metric in parent.data.metrics
    folder = Path(client.download_artifacts(result.parent_run_id, ""))
    rows = list(csv.DictReader(io.StringIO((folder / "leaderboard.csv").read_text())))
    assert [r["candidate"] for r in rows] == [c["name"] for c in FOUR]
    assert (folder / "leaderboard.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_one_finished_child_run_per_candidate(trained, client) -> None:
    cfg, result, info = trained
    children = {c.data.tags["stance.candidate"]: c for c in _children(client, result.parent_run_id)}
    assert set(children) == {c["name"] for c in FOUR}
    rows = {r["candidate"]: r for r in result.rows}
    for name, run in children.items():
        assert run.info.status == "FINISHED"
        m = run.data.metrics
        assert m["cv_macro_f1_mean"] == pytest.approx(rows[name]["cv_macro_f1_mean"], abs=1e-12)
        assert m["test_f_avg"] == pytest.approx(rows[name]["test_f_avg"], abs=1e-12)
        assert m["tied_with_best"] == float(rows[name]["tied_with_best"])
        assert run.data.tags["stance.tied_with_best"] == str(rows[name]["tied_with_best"]).lower()
        assert run.data.tags["dataset.fingerprint"] == info["fingerprint"]
        history = client.get_metric_history(run.info.run_id, "cv_macro_f1_split")
        assert [h.step for h in history] == list(range(cfg.cv.folds * cfg.cv.repeats))
        assert run.data.params["candidate.classifier"] == rows[name]["classifier"]
    assert children["lr-word"].data.params["chosen.C"] in ("1.0", "10.0")


def test_child_artifacts(trained, client) -> None:
    _, result, _ = trained
    for run in _children(client, result.parent_run_id):
        folder = Path(client.download_artifacts(run.info.run_id, ""))
        assert (folder / "confusion_matrix.png").read_bytes()[:4] == b"\x89PNG"
        assert "macro-F1" in (folder / "classification_report.txt").read_text()
        report = json.loads((folder / "classification_report.json").read_text())
        assert set(report) == {"favor", "against", "neutral"}
        wrong = list(csv.DictReader(io.StringIO((folder / "misclassified_test.csv").read_text())))
        assert all(r["gold"] != r["predicted"] for r in wrong)
        errors = sum(report[k]["support"] for k in report) * (1 - run.data.metrics["test_accuracy"])
        assert len(wrong) == round(errors)


def test_models_are_logged_with_skops_signature_example_and_probabilities(trained, client) -> None:
    import mlflow
    import pandas as pd

    _, result, _ = trained
    from mlflow.models import Model

    for run in _children(client, result.parent_run_id):
        outputs = run.outputs.model_outputs
        # The champion's run also holds its calibrated form, the model that is registered.
        assert len(outputs) == (2 if run.data.tags["stance.candidate"] == result.best else 1)
        uri = f"models:/{outputs[0].model_id}"
        local = Path(mlflow.artifacts.download_artifacts(uri))
        meta = Model.load(local / "MLmodel")
        assert meta.signature is not None and meta.saved_input_example_info is not None
        flavor = meta.flavors["sklearn"]
        assert flavor["serialization_format"] == "skops"
        assert "training.classifiers.TextColumn" in flavor["skops_trusted_types"]
        assert meta.flavors["python_function"]["loader_module"] == "training.serving"
        assert meta.metadata["served_columns"] == ["label", "favor", "against", "neutral"]
        assert "scikit-learn==" in (local / "requirements.txt").read_text()
        assert str(local).startswith(str(Path(trained[0].tracking.uri[len("sqlite:///") :]).parent))
    model = mlflow.pyfunc.load_model("models:/stance-classifier@champion")
    out = model.predict(pd.DataFrame({"text": ["Riyadh and Tehran agreed to restore full diplomatic relations."]}))
    probs = out[["favor", "against", "neutral"]]
    assert out.shape == (1, 4) and abs(float(probs.to_numpy().sum()) - 1.0) < 1e-9
    assert out["label"].iloc[0] == probs.columns[probs.to_numpy().argmax()]
    version = client.get_model_version_by_alias("stance-classifier", "champion")
    assert version.tags["candidate"] == result.best


def test_export_of_the_champion(trained) -> None:
    from training.persistence import read_export

    cfg, result, info = trained
    model, meta = read_export(cfg.export_dir)
    assert meta["candidate"] == result.best
    assert meta["dataset_fingerprint"] == info["fingerprint"] and meta["config_hash"] == config_hash(cfg)
    assert set(meta["labels"]) == {"favor", "against", "neutral"}
    best = next(r for r in result.rows if r["candidate"] == result.best)
    assert meta["metrics"]["test_macro_f1"] == best["test_macro_f1"]
    assert {"scikit-learn", "skops"} <= set(meta["libraries"])
    assert meta["mlflow"]["model_uri"] == "models:/stance-classifier@champion"
    assert model.predict(["Protesters in Cairo rejected any deal with Ankara."])[0] in meta["labels"]
    assert (Path(cfg.export_dir) / "README.md").read_text().startswith("# stance-classifier")


def test_read_leaderboard_gives_back_the_rows(trained) -> None:
    cfg, result, _ = trained
    board = tracking.read_leaderboard(cfg.tracking.uri, cfg.tracking.experiment)
    assert board["run_id"] == result.parent_run_id and board["best"] == result.best
    got = {r["candidate"]: r for r in board["rows"]}
    for row in result.rows:
        for key in ("cv_macro_f1_mean", "cv_macro_f1_std", "test_macro_f1", "p_value", "model_size_bytes"):
            assert got[row["candidate"]][key] == pytest.approx(row[key], abs=1e-12, nan_ok=True)
        assert got[row["candidate"]]["tied_with_best"] == row["tied_with_best"]
    cvs = [r["cv_macro_f1_mean"] for r in board["rows"]]
    assert cvs == sorted(cvs, reverse=True)
    child = got["dummy"]["run_id"]
    assert tracking.read_leaderboard(cfg.tracking.uri, "ignored", child)["run_id"] == result.parent_run_id
    with pytest.raises(StanceError, match=r"no experiment named 'nope' .*known: .*test"):
        tracking.read_leaderboard(cfg.tracking.uri, "nope")
    with pytest.raises(StanceError, match="no run with id 0123"):
        tracking.read_leaderboard(cfg.tracking.uri, "test", "0123")


def test_interrupted_and_failed_runs_are_marked_and_leave_the_export(trained, client) -> None:
    cfg, _, _ = trained
    export = Path(cfg.export_dir)
    before = {p.name: p.read_bytes() for p in export.iterdir()}

    def stop_at_second(line: str) -> None:
        if line.startswith("[2/"):
            raise KeyboardInterrupt

    def fail_at_first(line: str) -> None:
        if line.startswith("[1/"):
            raise RuntimeError("boom")

    for experiment, progress, exc, status in (
        ("interrupted", stop_at_second, KeyboardInterrupt, "KILLED"),
        ("failed", fail_at_first, RuntimeError, "FAILED"),
    ):
        run_cfg = cfg.model_copy(update={"tracking": cfg.tracking.model_copy(update={"experiment": experiment})})
        with pytest.raises(exc):
            train(run_cfg, progress=progress)
        exp = client.get_experiment_by_name(experiment)
        runs = client.search_runs([exp.experiment_id])
        parents = [r for r in runs if r.data.tags.get("stance.kind") == "comparison"]
        assert [p.info.status for p in parents] == [status]
        assert all(r.info.status in ("FINISHED", "KILLED", "FAILED") for r in runs)
        assert {p.name: p.read_bytes() for p in export.iterdir()} == before


@pytest.mark.slow
def test_two_processes_on_one_sqlite_store_both_record_everything(tmp_path: Path) -> None:
    dsd, info = make_dataset(n_docs=12)
    save_dataset(tmp_path / "dataset", dsd, info)
    procs = []
    for i in range(2):
        cfg = small_config(tmp_path, candidates=FOUR, export_dir=str(tmp_path / f"models{i}" / "stance-classifier"))
        path = tmp_path / f"train{i}.yaml"
        path.write_text(yaml.safe_dump(cfg.model_dump(mode="json")), encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "training", "train", "-c", str(path)],
                cwd=tmp_path,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=env,
            )
        )
    outputs = [p.communicate(timeout=900)[0].decode(errors="replace") for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    import mlflow

    client = mlflow.MlflowClient(cfg.tracking.uri)
    exp = client.get_experiment_by_name("test")
    runs = client.search_runs([exp.experiment_id])
    parents = [r for r in runs if r.data.tags.get("stance.kind") == "comparison"]
    assert len(parents) == 2 and all(p.info.status == "FINISHED" for p in parents)
    for parent in parents:
        kids = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
        assert len(kids) == len(FOUR) and all(k.info.status == "FINISHED" for k in kids)
        assert all("tied_with_best" in k.data.metrics and k.outputs.model_outputs for k in kids)
    versions = client.search_model_versions("name='stance-classifier'")
    assert sorted(int(v.version) for v in versions) == [1, 2]


def test_a_damaged_store_is_reported_before_training(tmp_path: Path) -> None:
    (tmp_path / "mlflow.db").write_bytes(b"this is not a database" * 100)
    cfg = small_config(tmp_path, candidates=FOUR, n_jobs=2)
    seen: list[str] = []
    with pytest.raises(StanceError, match=r"tracking store not usable: sqlite:///.*mlflow.db: .*\(repair it"):
        train(cfg, progress=seen.append, dataset=make_dataset())
    assert not any(line.startswith("[") for line in seen)
    assert not Path(cfg.export_dir).exists()
