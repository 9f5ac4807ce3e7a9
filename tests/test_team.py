"""A team's setup: one MLflow server on PostgreSQL with proxied artifacts, shared by every command and user."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from training.cli import app
from typer.testing import CliRunner

from conftest import free_port
from trainkit import make_dataset, save_dataset, small_config

CANDIDATES = [
    {"name": "dummy", "features": "none", "classifier": "dummy"},
    {"name": "lr-word", "features": "word", "classifier": "logreg", "search": {"C": [1.0, 10.0]}},
    {"name": "nb-negation", "features": "negation", "classifier": "complement_nb"},
]
SENTENCE = "Riyadh and Tehran agreed to restore full diplomatic relations."


def _config(tmp: Path, name: str, **overrides: Any) -> Path:
    """A dataset and a config whose runs go to experiment and registered model ``name`` of the server."""
    if not (tmp / "dataset").exists():
        save_dataset(tmp / "dataset", *make_dataset(n_docs=12))
    cfg = small_config(tmp, **{"candidates": CANDIDATES, **overrides})
    data = cfg.model_dump(mode="json")
    data["tracking"] |= {"uri": None, "experiment": name, "registered_model": name}
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _one_error_line(result: Any) -> str:
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


def test_a_database_store_that_is_down_is_one_line_before_training(tmp_path: Path, in_tmp_cwd: Path) -> None:
    uri = f"postgresql://stance:secret@127.0.0.1:{free_port()}/mlflow"
    line = _one_error_line(
        CliRunner().invoke(app, ["train", "-c", str(_config(tmp_path, "down")), "--tracking-uri", uri])
    )
    assert line.startswith("error: tracking database not reachable: postgresql://stance:***@127.0.0.1:")
    assert "secret" not in line and not (tmp_path / "models").exists()


def test_a_wrong_password_is_one_line_before_training(postgres: Any, tmp_path: Path, in_tmp_cwd: Path) -> None:
    uri = postgres.uri(password="not-the-password")
    result = CliRunner().invoke(app, ["train", "-c", str(_config(tmp_path, "login")), "--tracking-uri", uri])
    line = _one_error_line(result)
    assert f"tracking database refused the login: postgresql://stance:***@127.0.0.1:{postgres.port}/mlflow" in line
    assert "password authentication failed" in line and "not-the-password" not in line
    assert not (tmp_path / "models").exists()


@pytest.mark.slow
def test_every_command_works_against_the_postgres_backed_server(
    pg_tracking_server: Any, dask_cluster: Any, tmp_path: Path, in_tmp_cwd: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow

    url = pg_tracking_server.url
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    trained = CliRunner().invoke(
        app, ["train", "-c", str(_config(tmp_path, "flow")), "--cluster", dask_cluster.address]
    )
    assert trained.exit_code == 0, trained.output
    assert f"MLflow: {url}, experiment 'flow'" in trained.output
    assert not any((tmp_path / name).exists() for name in ("mlflow.db", "mlruns", "mlartifacts"))
    # The driver alone talks to MLflow: no worker ever imported it.
    from distributed import Client

    with Client(dask_cluster.address, timeout="10s", set_as_default=False) as client:
        assert set(client.run(lambda: "mlflow" in sys.modules).values()) == {False}

    board = json.loads(CliRunner().invoke(app, ["compare", "-e", "flow", "--json"]).output)
    direct = CliRunner().invoke(
        app, ["compare", "-e", "flow", "--json", "--tracking-uri", pg_tracking_server.postgres.uri()]
    )
    assert direct.exit_code == 0, direct.output
    assert json.loads(direct.output)["run_id"] == board["run_id"] and len(board["rows"]) == len(CANDIDATES)

    # Artifacts went through the server into its own folder; the client never wrote them itself.
    client = mlflow.MlflowClient(url)
    parent = client.get_run(board["run_id"])
    assert parent.info.artifact_uri.startswith("mlflow-artifacts:")
    assert list(pg_tracking_server.artifacts.rglob("leaderboard.csv"))

    model_uri = "models:/flow@champion"
    predicted = CliRunner().invoke(app, ["predict", "--model", model_uri, "--format", "jsonl", SENTENCE])
    assert predicted.exit_code == 0, predicted.output
    row = json.loads(predicted.stdout.splitlines()[0])
    on_cluster = CliRunner().invoke(
        app, ["predict", "--model", model_uri, "--format", "jsonl", "--cluster", dask_cluster.address, SENTENCE]
    )
    assert on_cluster.exit_code == 0 and on_cluster.stdout == predicted.stdout

    labelled = tmp_path / "labelled.jsonl"
    # sixteen labelled sentences: evaluate's calibration scores need one per confidence bin
    pairs = [(SENTENCE, "favor"), ("Protesters rejected any deal with Tehran.", "against")] * 8
    labelled.write_text(
        "".join(json.dumps({"text": f"{text} ({i})", "label": label}) + "\n" for i, (text, label) in enumerate(pairs)),
        encoding="utf-8",
    )
    evaluated = CliRunner().invoke(
        app,
        [
            "evaluate",
            "--data",
            str(labelled),
            "--model",
            model_uri,
            "--log",
            "--json",
            "-c",
            str(tmp_path / "flow.yaml"),
        ],
    )
    assert evaluated.exit_code == 0, evaluated.output
    run = client.get_run(json.loads(evaluated.stdout)["mlflow_run_id"])
    assert run.data.tags["stance.kind"] == "evaluation" and run.data.metrics["n"] == 16.0

    # Serving: the pyfunc flavor `mlflow models serve` loads, fetched from the server.
    import pandas as pd

    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(url)
    try:
        served = mlflow.pyfunc.load_model(model_uri).predict(pd.DataFrame({"text": [SENTENCE]})).iloc[0]
    finally:
        mlflow.set_tracking_uri(previous)
    assert served["label"] == row["label"]
    assert [round(float(served[k]), 6) for k in ("favor", "against", "neutral")] == list(row["probabilities"].values())


@pytest.mark.slow
def test_three_concurrent_trains_share_the_server_without_losing_a_run(pg_tracking_server: Any, tmp_path: Path) -> None:
    import mlflow

    name = "concurrent"
    export = tmp_path / "models" / "stance-classifier"  # one export folder for all three, the hardest case
    config = _config(tmp_path, name, export_dir=str(export), n_jobs=1, candidates=CANDIDATES[::2])
    env = {**os.environ, "MLFLOW_TRACKING_URI": pg_tracking_server.url}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "training", "train", "-c", str(config), "--seed", str(seed)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in (1, 2, 3)
    ]
    outputs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outputs

    client = mlflow.MlflowClient(pg_tracking_server.url)
    exp = client.get_experiment_by_name(name)
    runs = client.search_runs([exp.experiment_id], max_results=1000)
    parents = [r for r in runs if r.data.tags.get("stance.kind") == "comparison"]
    assert sorted(r.info.status for r in parents) == ["FINISHED"] * 3
    assert all(r.info.status == "FINISHED" for r in runs) and len(runs) == 3 * (1 + 2)
    for parent in parents:  # each comparison kept all its children
        children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
        assert sorted(c.data.tags["stance.candidate"] for c in children) == ["dummy", "nb-negation"]

    versions = client.search_model_versions(f"name = '{name}'")
    assert sorted(int(v.version) for v in versions) == [1, 2, 3]
    best_runs = {r.info.run_id for r in runs if r.data.tags.get("stance.is_best") == "true"}
    assert {v.tags["run_id"] for v in versions} == best_runs and len(best_runs) == 3
    registered = {r.data.tags["stance.registered"] for r in parents}
    assert registered == {f"models:/{name}/{v}" for v in (1, 2, 3)}
    # The alias and the shared export name the same model: the last train to export moved both.
    champion = client.get_model_version_by_alias(name, "champion")
    meta = json.loads((export / "metadata.json").read_text(encoding="utf-8"))
    assert champion.tags["run_id"] == meta["mlflow"]["run_id"]
