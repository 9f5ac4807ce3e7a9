"""`stance pipeline` end to end on a small corpus, tracked by a real `mlflow server`."""

from __future__ import annotations

import json
import shutil
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml
from training.cli import app
from typer.testing import CliRunner

SEEDS = Path(__file__).resolve().parents[1] / "seeds"


def make_corpus(root: Path, docs: int = 18, per_doc: int = 14) -> Path:
    """Copy the first sentences of some seed documents into a new corpus with their gold labels."""
    root.mkdir(parents=True)
    golds = sorted(SEEDS.glob("0[1-9]*.gold.jsonl"))[:docs]
    for gold in golds:
        rows = [json.loads(line) for line in gold.read_text(encoding="utf-8").splitlines()[1 : per_doc + 1]]
        stem = gold.name.removesuffix(".gold.jsonl")
        (root / f"{stem}.txt").write_text(
            "Title of " + stem + "\n\n" + "\n\n".join(r["text"] for r in rows) + "\n", encoding="utf-8"
        )
        lines = [{"text": "Title of " + stem, "label": "neutral"}] + [
            {"text": r["text"], "label": r["label"]} for r in rows
        ]
        (root / f"{stem}.gold.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    return root


def get(url: str, path: str, **params: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{url}{path}?{urllib.parse.urlencode(params)}", timeout=30) as response:
        return json.loads(response.read())


@pytest.mark.slow
def test_pipeline_end_to_end_against_a_real_mlflow_server(
    tmp_path: Path, mlflow_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    seeds = make_corpus(tmp_path / "seeds")
    dataset_cfg = yaml.safe_load((SEEDS.parent / "configs/dataset.yaml").read_text(encoding="utf-8"))
    dataset_cfg |= {"seeds_dir": str(seeds), "out_dir": str(tmp_path / "data/dataset")}
    train_cfg = yaml.safe_load((SEEDS.parent / "configs/train.yaml").read_text(encoding="utf-8"))
    train_cfg |= {
        "dataset": str(tmp_path / "data/dataset"),
        "export_dir": str(tmp_path / "models/stance-classifier"),
        "n_jobs": 1,
    }
    train_cfg["cv"] |= {"folds": 3, "repeats": 1}
    train_cfg["tracking"] |= {"uri": mlflow_server, "experiment": "pipeline-test"}
    train_cfg["candidates"] = [c for c in train_cfg["candidates"] if c["name"] in ("dummy", "rules", "logreg-word")]
    (tmp_path / "dataset.yaml").write_text(yaml.safe_dump(dataset_cfg), encoding="utf-8")
    (tmp_path / "train.yaml").write_text(yaml.safe_dump(train_cfg), encoding="utf-8")

    result = CliRunner().invoke(
        app,
        [
            "pipeline",
            "--dataset-config",
            "dataset.yaml",
            "--train-config",
            "train.yaml",
            "--metrics",
            "metrics/evaluate.json",
            "--plots",
            "metrics/plots",
        ],
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "metrics/evaluate.json").read_text())
    assert set(metrics["per_class"]) == {"favor", "against", "neutral"} and 0.0 <= metrics["macro_f1"] <= 1.0
    assert metrics["f_avg"] == pytest.approx(
        (metrics["per_class"]["favor"]["f1"] + metrics["per_class"]["against"]["f1"]) / 2, abs=1e-5
    )
    confusion = (tmp_path / "metrics/plots/confusion.csv").read_text().splitlines()
    assert confusion[0] == "actual,predicted" and len(confusion) - 1 == metrics["n"]
    assert (tmp_path / "models/stance-classifier/model.skops").exists()

    # The runs and the registered model, found through the server's REST API.
    experiment = get(mlflow_server, "/api/2.0/mlflow/experiments/get-by-name", experiment_name="pipeline-test")[
        "experiment"
    ]
    body = json.dumps({"experiment_ids": [experiment["experiment_id"]], "max_results": 100}).encode()
    request = urllib.request.Request(
        f"{mlflow_server}/api/2.0/mlflow/runs/search", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        runs = json.loads(response.read())["runs"]
    names = {tag["value"] for run in runs for tag in run["data"].get("tags", []) if tag["key"] == "mlflow.runName"}
    assert {"dummy", "rules", "logreg-word"} <= names
    parents = [r for r in runs if not any(t["key"] == "mlflow.parentRunId" for t in r["data"].get("tags", []))]
    assert len(parents) == 1 and all(r["info"]["status"] == "FINISHED" for r in runs)
    alias = get(mlflow_server, "/api/2.0/mlflow/registered-models/alias", name="stance-classifier", alias="champion")
    assert alias["model_version"]["name"] == "stance-classifier"
    shutil.rmtree(tmp_path / "data")
