"""dvc.yaml, the configs and the CLI agree; `dvc repro` reproduces `stance pipeline`."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from training.cli import METRICS, PLOTS
from training.config import DatasetConfig, load_config
from training.train_config import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
DVC = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
DATASET = load_config(ROOT / "configs/dataset.yaml", DatasetConfig)
TRAIN = load_config(ROOT / "configs/train.yaml", TrainConfig)
PATH_OPTIONS = {
    "--config",
    "--seeds",
    "--out",
    "--dataset",
    "--export-dir",
    "--model",
    "--data",
    "--metrics",
    "--plots",
}


def cmd_paths(stage: str) -> dict[str, str]:
    args = shlex.split(DVC[stage]["cmd"])
    assert args[0] == "stance"
    return {a: args[i + 1] for i, a in enumerate(args) if a in PATH_OPTIONS}


def names(entries: list[object]) -> set[str]:
    return {e if isinstance(e, str) else next(iter(e)) for e in entries}


def declared_data(stage: str) -> set[str]:
    spec = DVC[stage]
    deps = {d for d in spec.get("deps", []) if not d.startswith("training/")}
    params = {next(iter(p)) for p in spec.get("params", []) if isinstance(p, dict)}
    plots = {str(Path(p).parent) for p in names(spec.get("plots", []))}
    return deps | names(spec.get("outs", [])) | names(spec.get("metrics", [])) | plots | params


@pytest.mark.parametrize("stage", ["build_dataset", "train", "evaluate"])
def test_each_command_passes_exactly_the_paths_it_declares(stage: str) -> None:
    assert set(cmd_paths(stage).values()) == declared_data(stage)
    produced = {o for spec in DVC.values() for o in names(spec.get("outs", []))}
    for dep in DVC[stage]["deps"]:
        assert dep in produced or (ROOT / dep).exists(), dep


def test_paths_match_the_configs_and_the_pipeline_defaults() -> None:
    build, train, evaluate = cmd_paths("build_dataset"), cmd_paths("train"), cmd_paths("evaluate")
    assert build["--seeds"] == DATASET.seeds_dir and build["--out"] == DATASET.out_dir
    assert train["--dataset"] == TRAIN.dataset == DATASET.out_dir
    assert train["--export-dir"] == TRAIN.export_dir == evaluate["--model"]
    assert evaluate["--data"] == DATASET.out_dir
    assert evaluate["--metrics"] == str(METRICS) and evaluate["--plots"] == str(PLOTS)


@pytest.mark.parametrize(("stage", "model"), [("build_dataset", DatasetConfig), ("train", TrainConfig)])
def test_params_name_keys_the_code_reads(stage: str, model: type) -> None:
    (entry,) = DVC[stage]["params"]
    ((path, keys),) = entry.items()
    data = yaml.safe_load((ROOT / path).read_text(encoding="utf-8"))
    for key in keys:
        assert key in data, f"{key} missing from {path}"
        assert key in model.model_fields, f"{key} is not a field of {model.__name__}"


def _copy_repo(dst: Path) -> Path:
    skip = {
        ".venv",
        ".git",
        "data",
        "mlflow.db",
        "mlruns",
        "mlartifacts",
        "metrics",
        "dvc.lock",
        ".pytest_cache",
        "dvc_plots",
        ".team",
    }
    shutil.copytree(
        ROOT,
        dst,
        ignore=lambda d, names: [n for n in names if n in skip or n in {"stance-classifier", "__pycache__"}],
    )
    small = TRAIN.model_dump(mode="json")
    small["cv"] |= {"folds": 3, "repeats": 1}
    small["n_jobs"] = 1
    small["candidates"] = [c for c in small["candidates"] if c["name"] in ("dummy", "rules", "logreg-word")]
    (dst / "configs/train.yaml").write_text(yaml.safe_dump(small, sort_keys=False), encoding="utf-8")
    for cmd in (
        ["git", "init", "-q"],
        ["git", "add", "-A"],
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "copy"],
    ):
        subprocess.run(cmd, cwd=dst, check=True)
    return dst


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    res = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    return res.stdout + res.stderr


@pytest.mark.slow
def test_dvc_repro_reproduces_the_pipeline(tmp_path: Path) -> None:
    if shutil.which("dvc", path=str(Path(sys.executable).parent)) is None:
        pytest.fail("dvc is not installed: run `pip install -e '.[dvc]'` (make test does)")
    repo = _copy_repo(tmp_path / "repo")
    bin_dir = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "PATH": bin_dir + os.pathsep + os.environ["PATH"],
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/mlflow.db",
    }
    dvc = str(Path(bin_dir) / "dvc")
    out = _run([dvc, "repro"], repo, env)
    assert "Running stage 'train'" in out
    repro_metrics = json.loads((repo / "metrics/evaluate.json").read_text())

    again = _run([dvc, "repro"], repo, env)
    assert "Running stage" not in again
    shown = _run([dvc, "metrics", "show"], repo, env)
    assert "metrics/evaluate.json" in shown and f"{repro_metrics['macro_f1']:.5f}"[:5] in shown
    _run([dvc, "plots", "show", "-o", str(tmp_path / "plots")], repo, env)
    assert (tmp_path / "plots" / "index.html").exists()

    cfg = yaml.safe_load((repo / "configs/train.yaml").read_text())
    cfg["comparison"]["alpha"] = 0.1
    (repo / "configs/train.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    changed = _run([dvc, "repro"], repo, env)
    assert "Running stage 'build_dataset'" not in changed
    assert "Running stage 'train'" in changed and "Running stage 'evaluate'" in changed

    # The one-command pipeline on the same configs gives the same numbers.
    _run(
        [
            str(Path(bin_dir) / "stance"),
            "pipeline",
            "--metrics",
            str(tmp_path / "pipeline.json"),
            "--plots",
            str(tmp_path / "p"),
        ],
        repo,
        env,
    )
    assert json.loads((tmp_path / "pipeline.json").read_text()) == repro_metrics
