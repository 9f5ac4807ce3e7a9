"""`stance train --cluster` and `stance predict --cluster` on a real Dask scheduler and workers."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from training.cli import app
from training.cluster import normalize_address
from training.errors import StanceError
from typer.testing import CliRunner

from conftest import free_port
from teamkit import add_worker, running_cluster, worker_pids
from trainkit import REPO, make_dataset, save_dataset, small_config

# Every kind of task: a search, a forest (which runs joblib inside the task), raw-text and feature candidates.
CANDIDATES = [
    {"name": "dummy", "features": "none", "classifier": "dummy"},
    {"name": "lr-word", "features": "word", "classifier": "logreg", "search": {"C": [1.0, 10.0]}},
    {
        "name": "forest-word",
        "features": "word",
        "classifier": "random_forest",
        "params": {"n_components": 8, "n_estimators": 10},
    },
    {"name": "nb-negation", "features": "negation", "classifier": "complement_nb"},
]
TIMING = ("fit_seconds", "predict_sentences_per_s", "model_size_bytes")  # measured, not computed
PROBES = [
    "Riyadh and Tehran agreed to restore full diplomatic relations.",
    "Protesters rejected any deal.",
    "The weather in Cairo was mild on Tuesday.",
]


def _one_error_line(result: Any) -> str:
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


def _train(root: Path, **overrides: Any) -> tuple[list[dict[str, Any]], Any]:
    """Train the four candidates on the tiny dataset under ``root``; rows without timings, and the result."""
    from training.train import train

    root.mkdir(parents=True, exist_ok=True)
    progress = overrides.pop("progress", None)
    cfg = small_config(root, **{"candidates": CANDIDATES, **overrides})
    result = train(cfg, progress=progress, dataset=make_dataset(n_docs=12))
    return [{k: v for k, v in row.items() if k not in TIMING} for row in result.rows], result


def _same(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> bool:
    # NaN p-values (the best against itself) compare equal through JSON
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def _probabilities(export: Path) -> list[list[float]]:
    from training.predict import load_model

    return load_model(export).predict_proba_array(PROBES).tolist()


@pytest.fixture(scope="module")
def local_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, Any]], Path]:
    """The reference: the same comparison with one local process."""
    root = tmp_path_factory.mktemp("local")
    rows, result = _train(root)
    return rows, Path(result.export_dir)


def test_scheduler_addresses_are_normalised_or_refused() -> None:
    assert normalize_address("127.0.0.1:8786") == "tcp://127.0.0.1:8786"
    assert normalize_address(" tls://sched.example.org:8786 ") == "tls://sched.example.org:8786"
    for bad in ("tcp://host", "http://host:8786", "host:99999", ""):
        with pytest.raises(StanceError, match="invalid Dask scheduler address"):
            normalize_address(bad)


def test_a_bad_or_unreachable_scheduler_is_one_line_before_training(tmp_path: Path, in_tmp_cwd: Path) -> None:
    save_dataset(tmp_path / "dataset", *make_dataset(n_docs=12))
    cfg = small_config(tmp_path, candidates=CANDIDATES[:2])
    path = tmp_path / "train.yaml"
    import yaml

    path.write_text(yaml.safe_dump(cfg.model_dump(mode="json")), encoding="utf-8")
    line = _one_error_line(CliRunner().invoke(app, ["train", "-c", str(path), "--cluster", "tcp://nowhere"]))
    assert "invalid value for 'cluster'" in line and "tcp://HOST:PORT" in line
    address = f"tcp://127.0.0.1:{free_port()}"
    line = _one_error_line(CliRunner().invoke(app, ["train", "-c", str(path)], env={"STANCE_CLUSTER": address}))
    assert line.startswith(f"error: Dask scheduler not reachable: {address}") and "leave out --cluster" in line
    assert not (tmp_path / "models").exists() and not (tmp_path / "mlflow.db").exists()
    line = _one_error_line(CliRunner().invoke(app, ["predict", "--cluster", "nowhere:1:2", "some text"]))
    assert "invalid Dask scheduler address 'nowhere:1:2'" in line


@contextlib.contextmanager
def _killing_a_busy_worker(address: str) -> Iterator[list[int]]:
    """While the block runs, SIGKILL the first worker seen running one of our tasks; yields the pids killed."""
    from distributed import Client

    pids = worker_pids(address)
    killed: list[int] = []
    done = threading.Event()

    def watch() -> None:
        with Client(address, timeout="10s", set_as_default=False) as client:
            while not done.is_set():
                busy = [w for w, tasks in client.processing().items() if tasks]
                if busy:
                    killed.append(pids[busy[0]])
                    os.kill(pids[busy[0]], signal.SIGKILL)
                    return
                time.sleep(0.02)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield killed
    finally:
        done.set()
        watcher.join(timeout=30)


@pytest.mark.slow
def test_train_on_the_cluster_gives_the_local_leaderboard_even_when_a_worker_is_killed(
    local_run: Any, dask_cluster: Any, tmp_path: Path
) -> None:
    with _killing_a_busy_worker(dask_cluster.address) as killed:
        rows, result = _train(tmp_path, cluster=dask_cluster.address)
    assert killed, "no worker was seen running a task"
    assert _same(rows, local_run[0]) and [r["candidate"] for r in rows] == [c["name"] for c in CANDIDATES]
    assert _probabilities(Path(result.export_dir)) == _probabilities(local_run[1])
    assert set(worker_pids(dask_cluster.address).values()).isdisjoint(killed)  # the nanny started a new one


@pytest.mark.slow
def test_a_worker_that_dies_on_every_try_stops_the_run_and_keeps_the_export(local_run: Any, tmp_path: Path) -> None:
    import mlflow

    root = local_run[1].parent.parent  # the local run's store and export: the previous champion
    export = local_run[1]
    before = {p.name: p.read_bytes() for p in export.iterdir()}
    no_retry = {"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0"}
    with running_cluster(tmp_path / "dask", workers=1, scheduler_env=no_retry) as cluster:
        # A forest of many trees: a task long enough to be surely running when its worker is killed.
        slow = [
            {**c, "params": {"n_components": 8, "n_estimators": 400}} if c["name"] == "forest-word" else c
            for c in CANDIDATES
        ]
        with pytest.raises(StanceError) as caught, _killing_a_busy_worker(cluster.address) as killed:
            _train(root, cluster=cluster.address, candidates=slow)
    assert killed
    (line,) = caught.value.problems
    # The one worker held the only copy of the task's input: Dask cancels the task (or, had the input
    # survived, would give up on it after allowed-failures deaths); either is one line.
    assert (
        "a Dask worker died on every try of one task" in line or "the Dask cluster lost the work" in line
    ) and "the previous export and champion were kept" in line
    assert {p.name: p.read_bytes() for p in export.iterdir()} == before
    client = mlflow.MlflowClient(f"sqlite:///{root / 'mlflow.db'}")
    assert str(client.get_model_version_by_alias("stance-classifier", "champion").version) == "1"
    runs = client.search_runs(
        [client.get_experiment_by_name("test").experiment_id],
        filter_string="tags.`stance.kind` = 'comparison'",
        order_by=["attributes.start_time"],
    )
    assert [r.info.status for r in runs] == ["FINISHED", "FAILED"]


def _hidden_stance(tmp: Path) -> Path:
    """A worker preload script that makes this project's package unimportable in the worker."""
    script = tmp / "hide_stance.py"
    script.write_text(
        "import sys\n"
        f"sys.path[:] = [p for p in sys.path if p.rstrip('/') != {str(REPO)!r}]\n"
        # an editable install maps the package through a finder of its own, not through sys.path
        "sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in getattr(f, '__module__', '')]\n"
        "for name in [m for m in sys.modules if m == 'training' or m.startswith('training.')]:\n"
        "    del sys.modules[name]\n",
        encoding="utf-8",
    )
    return script


def _other_stance(tmp: Path) -> Path:
    """A copy of the package with one changed line, as a worker left on an older checkout would have."""
    root = tmp / "other"
    shutil.copytree(REPO / "training", root / "training", ignore=shutil.ignore_patterns("__pycache__"))
    with open(root / "training" / "labels.py", "a", encoding="utf-8") as fh:
        fh.write("# another version\n")
    return root


@pytest.mark.slow
def test_workers_without_stance_or_with_another_version_are_refused_before_any_work(
    tmp_path: Path, in_tmp_cwd: Path
) -> None:
    from training.predict_io import PredictOptions, run_predict

    from predictkit import export

    with running_cluster(tmp_path / "dask", workers=0) as cluster:
        add_worker(cluster, tmp_path / "dask", env={"PYTHONPATH": str(_other_stance(tmp_path))})
        add_worker(cluster, tmp_path / "dask", extra=("--preload", str(_hidden_stance(tmp_path))))
        save_dataset(tmp_path / "dataset", *make_dataset(n_docs=12))
        cfg = small_config(tmp_path, candidates=CANDIDATES[:2], cluster=cluster.address)
        from training.train import train

        with pytest.raises(StanceError) as caught:
            train(cfg)
        model = export(tmp_path / "export")
        with pytest.raises(StanceError) as refused:
            run_predict(PredictOptions(texts=("A sentence.",), model=str(model), cluster=cluster.address), None, None)
    (line,) = caught.value.problems
    assert "runs another version: stance code" in line and "install the same stance and libraries" in line
    assert "cannot load stance (No module named 'training'" in line
    assert refused.value.problems == caught.value.problems
    assert not (tmp_path / "models").exists() and not (tmp_path / "mlflow.db").exists()


def _sentences(n: int) -> str:
    from trainkit import AGAINST, FAVOR, NEUTRAL, PAIRS

    templates = FAVOR + AGAINST + NEUTRAL
    lines = []
    for i in range(n):
        a, b = PAIRS[i % len(PAIRS)]
        lines.append(templates[(i * 7) % len(templates)].format(a=a, b=b) + ("" if i % 5 else f" ({i})"))
        if i % 97 == 0:
            lines.append("")  # empty lines are skipped and counted, the same way on both sides
    return "\n".join(lines) + "\n"


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_predict_on_the_cluster_writes_the_local_bytes(
    local_run: Any, dask_cluster: Any, tmp_path: Path, in_tmp_cwd: Path, suffix: str
) -> None:
    big = tmp_path / "big.txt"
    big.write_text(_sentences(5000), encoding="utf-8")
    model = str(local_run[1])
    outputs = {}
    for name, where in (("local", ["--jobs", "1"]), ("cluster", ["--cluster", dask_cluster.address])):
        out = tmp_path / f"{name}{suffix}"
        result = CliRunner().invoke(
            app, ["predict", "--model", model, "--input", str(big), "--output", str(out), "--batch-size", "400", *where]
        )
        assert result.exit_code == 0, result.output
        outputs[name] = out.read_bytes()
    assert "on the Dask cluster" in result.output and "labelled 5000 sentences" in result.output
    assert outputs["cluster"] == outputs["local"] and len(outputs["local"]) > 100_000


@pytest.mark.slow
def test_predict_a_folder_of_documents_on_the_cluster(
    local_run: Any, dask_cluster: Any, tmp_path: Path, in_tmp_cwd: Path
) -> None:
    docs = tmp_path / "docs"
    (docs / "more").mkdir(parents=True)
    text = _sentences(300).replace("\n\n", "\n").replace("\n", " ")
    (docs / "a.txt").write_text(text[:6000], encoding="utf-8")
    (docs / "more" / "b.md").write_text("# Talks\n\n" + text[6000:12000], encoding="utf-8")
    (docs / "c.html").write_text(f"<html><body><p>{text[12000:]}</p></body></html>", encoding="utf-8")
    outputs = {}
    for name, where in (("local", ["--jobs", "1"]), ("cluster", ["--cluster", dask_cluster.address])):
        out = tmp_path / f"{name}.jsonl"
        result = CliRunner().invoke(
            app,
            [
                "predict",
                "--model",
                str(local_run[1]),
                "--input",
                str(docs),
                "--documents",
                "--output",
                str(out),
                "--batch-size",
                "50",
                *where,
            ],
        )
        assert result.exit_code == 0, result.output
        outputs[name] = out.read_bytes()
    assert "from 3 documents" in result.output
    rows = [json.loads(line) for line in outputs["local"].decode().splitlines()]
    assert len({r["doc_id"] for r in rows}) == 3 and len(rows) > 100
    assert outputs["cluster"] == outputs["local"]
    line = _one_error_line(
        CliRunner().invoke(
            app,
            [
                "predict",
                "--model",
                str(local_run[1]),
                "--input",
                str(docs),
                "--documents",
                "--output",
                str(docs / "out.jsonl"),
            ],
        )
    )
    assert "inside the input folder" in line
