"""Shared pieces of the reliability suite: a snapshot of files, the one-line error check, runs.

Every case of the suite asserts three things: one ``error:`` line on standard error (no
traceback), the exit code, and that earlier outputs are unchanged byte for byte.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from training.cli import app
from typer.testing import CliRunner

from seedkit import make_seeds

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()


def snapshot(*roots: Path) -> dict[str, str]:
    """What is at each path under ``roots`` (hidden files included): content hashes, links, kinds."""
    out: dict[str, str] = {}
    for root in roots:
        if root.is_symlink():
            out[str(root)] = "link:" + os.readlink(root)
            continue
        if not root.exists():
            out[str(root)] = "absent"
            continue
        paths = [root, *sorted(root.rglob("*"))] if root.is_dir() else [root]
        for p in paths:
            mode = p.lstat().st_mode
            if stat.S_ISLNK(mode):
                out[str(p)] = "link:" + os.readlink(p)
            elif stat.S_ISDIR(mode):
                out[str(p)] = "dir"
            elif stat.S_ISREG(mode):
                out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
            else:
                out[str(p)] = f"special:{stat.S_IFMT(mode)}"
    return out


def one_error(stderr: str, match: str, progress: bool = False) -> str:
    """The single ``error:`` line of ``stderr``; fails on a traceback or any other line.

    With ``progress`` the command's own progress lines may come first (``stance train``
    reports each step on standard error); the error is still the one and last line of its kind.
    """
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr, stderr
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and (lines == errors or (progress and lines[-1] == errors[0])), stderr
    assert match.lower() in errors[0].lower(), (match, errors[0])
    return errors[0]


def invoke(*args: str, env: dict[str, str] | None = None) -> Any:
    """Run a command in this process (Typer's runner); standard error kept apart."""
    return runner.invoke(app, list(args), env=env)


def run(
    *args: str,
    cwd: Path | None = None,
    stdout: Any = subprocess.PIPE,
    timeout: float = 300,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``stance`` as a real process, through the console entry point."""
    return subprocess.run(
        [sys.executable, "-c", "from training.cli import main; main()", *args],
        cwd=cwd or REPO,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def train_config(root: Path, **overrides: Any) -> Path:
    """A small training config (two candidates, 3 folds, one repetition) with stores under ``root``."""
    cfg: dict[str, Any] = {
        "n_jobs": 1,
        "dataset": str(root / "dataset"),
        "export_dir": str(root / "models" / "stance-classifier"),
        "cv": {"folds": 3, "repeats": 1},
        "tracking": {"uri": f"sqlite:///{root / 'mlflow.db'}", "experiment": "reliability", "log_models": "champion"},
        "candidates": [
            {"name": "dummy", "features": "none", "classifier": "dummy"},
            {"name": "logreg-word", "features": "word", "classifier": "logreg"},
        ],
    }
    cfg.update(overrides)
    path = root / "train.yaml"
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


def project(root: Path, train: bool = True) -> Path:
    """Seeds, a built dataset and (with ``train``) a trained export and MLflow store under ``root``."""
    seeds = make_seeds(root / "seeds")
    res = invoke("build-dataset", "--seeds", str(seeds), "--out", str(root / "dataset"))
    assert res.exit_code == 0, res.output
    if train:
        res = invoke("train", "--config", str(train_config(root)))
        assert res.exit_code == 0, res.output
    return root


def copy_project(src: Path, dst: Path) -> Path:
    """A copy of a prepared project (its SQLite store points at its own folder through the config)."""
    shutil.copytree(src, dst, symlinks=True)
    train_config(dst)
    return dst


def champion_version(root: Path) -> str:
    """The registered version the ``champion`` alias points at in ``root``'s store."""
    import mlflow

    client = mlflow.MlflowClient(f"sqlite:///{root / 'mlflow.db'}")
    return str(client.get_model_version_by_alias("stance-classifier", "champion").version)


def run_statuses(root: Path) -> list[str]:
    """Statuses of every run in ``root``'s store."""
    import mlflow

    client = mlflow.MlflowClient(f"sqlite:///{root / 'mlflow.db'}")
    exp = client.get_experiment_by_name("reliability")
    return [r.info.status for r in client.search_runs([exp.experiment_id])] if exp else []


@contextlib.contextmanager
def small_tmpfs(path: Path, size: str = "256k") -> Iterator[Path]:
    """A tiny tmpfs mounted at ``path`` (root only): a real file system that fills up."""
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    if done.returncode != 0:
        import pytest

        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.decode().strip() or 'not root'})")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def can_mount() -> bool:
    """Whether this process may mount a tmpfs (root on Linux)."""
    return sys.platform.startswith("linux") and os.geteuid() == 0


def jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path
