"""`stance train` and `stance compare` from the command line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from training.cli import app
from typer.testing import CliRunner

from conftest import free_port
from trainkit import make_dataset, save_dataset, small_config

THREE = [
    {"name": "dummy", "features": "none", "classifier": "dummy"},
    {"name": "lr-word", "features": "word", "classifier": "logreg", "search": {"C": [1.0, 10.0]}},
    {"name": "nb-negation", "features": "negation", "classifier": "complement_nb"},
]


def _setup(tmp: Path, **overrides) -> Path:
    """A saved tiny dataset and a config file for it; returns the config path."""
    if not (tmp / "dataset").exists():
        save_dataset(tmp / "dataset", *make_dataset(n_docs=12))
    cfg = small_config(tmp, **{"candidates": THREE, **overrides})
    path = tmp / "train.yaml"
    path.write_text(yaml.safe_dump(cfg.model_dump(mode="json")), encoding="utf-8")
    return path


def _one_error_line(result) -> str:
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


def test_help_imports_no_heavy_library() -> None:
    code = (
        "import sys; from typer.testing import CliRunner; from training.cli import app; "
        "r = CliRunner().invoke(app, ['train', '--help']); assert r.exit_code == 0, r.output; "
        "r = CliRunner().invoke(app, ['compare', '--help']); assert r.exit_code == 0, r.output; "
        "print(sorted(m for m in ('mlflow', 'sklearn', 'datasets', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_bad_config_is_one_line(tmp_path: Path, in_tmp_cwd: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("candidates:\n  - {name: a, features: word, classifier: logregr}\n", encoding="utf-8")
    line = _one_error_line(CliRunner().invoke(app, ["train", "-c", str(path)]))
    assert f"{path}:2: invalid value for 'candidates.0.classifier'" in line and "did you mean 'logreg'" in line


def test_missing_dataset(tmp_path: Path, in_tmp_cwd: Path) -> None:
    path = _setup(tmp_path)
    line = _one_error_line(CliRunner().invoke(app, ["train", "-c", str(path), "--dataset", str(tmp_path / "none")]))
    assert "dataset not found" in line and "run `stance build-dataset` first" in line


def test_bad_option_value_is_reported_like_a_config_value(tmp_path: Path, in_tmp_cwd: Path) -> None:
    path = _setup(tmp_path)
    line = _one_error_line(CliRunner().invoke(app, ["train", "-c", str(path), "--training-data", "silver"]))
    assert "training_data" in line and "'gold', 'gold+weak' or 'both'" in line


def test_too_few_examples_suggest_fewer_folds(tmp_path: Path, in_tmp_cwd: Path) -> None:
    path = _setup(tmp_path, cv={"folds": 11})
    result = CliRunner().invoke(app, ["train", "-c", str(path)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "only 10 documents in train+validation for cv.folds=11 (set cv.folds to 10 or fewer" in result.output
    assert not (tmp_path / "models").exists()


def test_unreachable_tracking_server_fails_before_training(
    tmp_path: Path, in_tmp_cwd: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _setup(tmp_path, tracking={"uri": None})
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{free_port()}")
    t0 = time.monotonic()
    result = CliRunner().invoke(app, ["train", "-c", str(path)])
    assert "tracking server not reachable" in _one_error_line(result)
    assert time.monotonic() - t0 < 30
    assert not (tmp_path / "models").exists()


def test_compare_without_a_store(tmp_path: Path, in_tmp_cwd: Path) -> None:
    line = _one_error_line(CliRunner().invoke(app, ["compare"]))
    assert "no tracking store at sqlite:///mlflow.db (run `stance train` first" in line


@pytest.mark.slow
def test_train_then_compare_against_a_real_mlflow_server(
    tmp_path: Path, in_tmp_cwd: Path, mlflow_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _setup(tmp_path, tracking={"uri": None, "experiment": "cli"})
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    result = CliRunner().invoke(app, ["train", "-c", str(path)])
    assert result.exit_code == 0, result.output
    out = result.output
    for name in ("dummy", "lr-word", "nb-negation"):
        assert name in out
    assert "best:" in out and f"MLflow: {mlflow_server}, experiment 'cli'" in out
    assert "not overlapped by training" in out
    assert not (tmp_path / "mlflow.db").exists()  # everything went to the server

    shown = CliRunner().invoke(app, ["compare", "--experiment", "cli", "--json"])
    assert shown.exit_code == 0, shown.output
    board = json.loads(shown.output)
    assert board["tracking_uri"] == mlflow_server
    assert isinstance(board["alpha"], float)  # a run parameter, read back from MLflow as a string
    assert [r["candidate"] for r in board["rows"]][-1] == "dummy"  # sorted by CV score; the floor is last
    assert sum(r["is_best"] for r in board["rows"]) == 1 and board["best"] == board["rows"][0]["candidate"]
    table = CliRunner().invoke(app, ["compare", "-e", "cli", "--run", board["run_id"]])
    assert table.exit_code == 0 and board["run_id"] in table.output and "lr-word" in table.output

    import mlflow
    import pandas as pd

    model = mlflow.pyfunc.load_model("models:/stance-classifier@champion")
    served = model.predict(pd.DataFrame({"text": ["Riyadh and Tehran agreed to restore full diplomatic relations."]}))
    assert list(served.columns) == ["label", "favor", "against", "neutral"] and served.shape == (1, 4)
    meta = json.loads((tmp_path / "models" / "stance-classifier" / "metadata.json").read_text())
    assert meta["mlflow"]["tracking_uri"] == mlflow_server


@pytest.mark.slow
def test_interrupt_marks_the_run_killed_and_keeps_the_old_export(tmp_path: Path) -> None:
    path = _setup(tmp_path, n_jobs=2)
    export = tmp_path / "models" / "stance-classifier"
    export.mkdir(parents=True)
    old = {"old": True, "model_file": "model.skops", "sha256": "0" * 64, "labels": []}  # an earlier export's marker
    (export / "metadata.json").write_text(json.dumps(old), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "training", "train", "-c", str(path)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen = []
    assert proc.stderr is not None
    for line in proc.stderr:
        seen.append(line)
        if line.startswith("[1/"):
            proc.send_signal(signal.SIGINT)
            break
    rest = proc.communicate(timeout=300)
    assert proc.returncode == 130, (seen, rest)
    assert "interrupted" in rest[1]
    assert json.loads((export / "metadata.json").read_text()) == old
    import mlflow

    client = mlflow.MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("test").experiment_id])
    parents = [r for r in runs if r.data.tags.get("stance.kind") == "comparison"]
    assert [p.info.status for p in parents] == ["KILLED"]
    assert all(r.info.status != "RUNNING" for r in runs)
