"""Reliability: a command killed hard leaves no process behind, and the next command cleans up.

Real processes, real signals: ``kill -9`` and SIGTERM of ``train``, ``predict --jobs 2`` and
``build-dataset``, then the next command on the same paths.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from reliakit import REPO, one_error, project, run, run_statuses, snapshot, train_config

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")]


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", "from training.cli import main; main()", *args],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _children(pid: int) -> set[int]:
    out: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out |= {int(c) for c in (task / "children").read_text().split()}
        except OSError:
            continue
    return out


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended


def _wait_for(what: Callable[[], bool], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not what():
        if time.monotonic() > deadline:
            raise AssertionError("gave up waiting")
        time.sleep(0.05)


def _kill(proc: subprocess.Popen[str], sig: int) -> set[int]:
    """Send ``sig`` to ``proc`` (the command only, not its workers) and return the workers it had."""
    workers = _children(proc.pid)
    proc.send_signal(sig)
    proc.wait(timeout=60)
    return workers


def test_train_killed_hard_leaves_no_worker_and_the_next_train_closes_its_runs(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    before = snapshot(root / "models")
    slow = train_config(
        root,
        n_jobs=2,
        candidates=[
            {"name": "logreg-word", "features": "word", "classifier": "logreg"},
            {
                "name": "forest",
                "features": "word",
                "classifier": "random_forest",
                "params": {"n_components": 8, "n_estimators": 3000},
            },
            {
                "name": "forest-b",
                "features": "char",
                "classifier": "random_forest",
                "params": {"n_components": 8, "n_estimators": 3000},
            },
        ],
        tracking={"uri": f"sqlite:///{root / 'mlflow.db'}", "experiment": "reliability", "log_models": "all"},
    )
    proc = _start("train", "--config", str(slow))
    _wait_for(lambda: "RUNNING" in run_statuses(root) and len(_children(proc.pid)) >= 2)
    workers = _kill(proc, signal.SIGKILL)
    assert workers
    _wait_for(lambda: not any(_alive(w) for w in workers), 60)
    assert snapshot(root / "models") == before
    assert "RUNNING" in run_statuses(root)
    done = run("train", "--config", str(train_config(root)))
    assert done.returncode == 0, done.stderr
    assert "left RUNNING by a process that died as FAILED" in done.stderr
    assert "RUNNING" not in run_statuses(root)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return project(tmp_path_factory.mktemp("kills") / "p")


@pytest.fixture(scope="module")
def big_input(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("kills-in") / "big.txt"
    lines = [
        f"Delegation {i} from Ankara met officials in Yerevan to discuss reopening the border." for i in range(400_000)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _predict(trained: Path, big: Path, out: Path) -> subprocess.Popen[str]:
    return _start(
        "predict",
        "--model",
        str(trained / "models" / "stance-classifier"),
        "--input",
        str(big),
        "--output",
        str(out),
        "--jobs",
        "2",
        "--batch-size",
        "512",
    )


def _temps(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.startswith(".out.jsonl.")]


def test_predict_killed_hard_ends_its_workers_and_the_next_run_removes_the_temp_file(
    trained: Path, big_input: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text("earlier\n", encoding="utf-8")
    proc = _predict(trained, big_input, out)
    _wait_for(lambda: bool(_temps(tmp_path)) and len(_children(proc.pid)) >= 2)
    workers = _kill(proc, signal.SIGKILL)
    _wait_for(lambda: not any(_alive(w) for w in workers), 60)
    assert out.read_text(encoding="utf-8") == "earlier\n" and _temps(tmp_path)
    small = tmp_path / "small.txt"
    small.write_text("Ankara and Yerevan agreed to open the border.\n", encoding="utf-8")
    done = run(
        "predict", "--model", str(trained / "models" / "stance-classifier"), "--input", str(small), "--output", str(out)
    )
    assert done.returncode == 0, done.stderr
    assert not _temps(tmp_path) and '"label"' in out.read_text(encoding="utf-8")


def test_predict_terminated_cleans_up_and_keeps_the_earlier_output(
    trained: Path, big_input: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text("earlier\n", encoding="utf-8")
    proc = _predict(trained, big_input, out)
    _wait_for(lambda: bool(_temps(tmp_path)) and len(_children(proc.pid)) >= 2)
    workers = _kill(proc, signal.SIGTERM)
    assert proc.returncode == 130
    assert proc.stderr is not None
    one_error(proc.stderr.read(), "interrupted")
    _wait_for(lambda: not any(_alive(w) for w in workers), 60)
    assert out.read_text(encoding="utf-8") == "earlier\n" and not _temps(tmp_path)


def test_build_killed_hard_leaves_scratch_that_the_next_build_removes(tmp_path: Path) -> None:
    from seedkit import make_seeds

    seeds = make_seeds(tmp_path / "seeds")
    sentences = [f"Officials in city number {i} said the consulate would reopen in spring." for i in range(150_000)]
    (seeds / "big.txt").write_text(" ".join(sentences) + "\n", encoding="utf-8")
    out = tmp_path / "ds"
    proc = _start("build-dataset", "--seeds", str(seeds), "--out", str(out))
    scratch = lambda: [p for p in tmp_path.iterdir() if p.name.startswith(".ds.")]  # noqa: E731
    _wait_for(lambda: bool(scratch()))
    time.sleep(0.5)
    _kill(proc, signal.SIGKILL)
    assert scratch() and not out.exists()
    (seeds / "big.txt").unlink()
    done = run("build-dataset", "--seeds", str(seeds), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert not scratch() and (out / "stance_dataset.json").is_file()


def test_a_scratch_folder_of_a_live_process_is_left_alone(tmp_path: Path) -> None:
    from training.atomic import scratch_prefix, sweep_stale

    target = tmp_path / "ds"
    live = tmp_path / (scratch_prefix(target, "tmp") + "x")  # this process: alive
    live.mkdir()
    dead_pid = 2**22 + 12345  # above the kernel's pid limit: never a live process
    dead = tmp_path / scratch_prefix(target, "tmp").replace(f"-{os.getpid()}-", f"-{dead_pid}-")
    dead.mkdir()
    other = tmp_path / ".ds.tmp-notours"
    other.mkdir()
    assert sweep_stale(target) == [dead]
    assert live.exists() and other.exists() and not dead.exists()
