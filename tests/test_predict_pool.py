"""``stance predict --jobs``: batches labelled by forked workers, written in input order."""

from __future__ import annotations

import io
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from training.errors import StanceError
from training.labels import LABELS
from training.predict import StanceModel, load_model
from training.predict_io import PredictOptions, run_predict
from training.predict_pool import proba_batches, usable_cores

from predictkit import SENTENCES, export

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> StanceModel:
    return load_model(export(tmp_path_factory.mktemp("models") / "stance-classifier"))


def _lines(n: int) -> bytes:
    words = [s for s, _ in SENTENCES]
    return "".join(f"{i}: {words[i % len(words)]}\n" if i % 13 else "\n" for i in range(n)).encode()


def _predict(model: StanceModel, data: bytes, jobs: int, batch_size: int = 40) -> tuple[str, Any]:
    out = io.StringIO()
    stats = run_predict(PredictOptions(batch_size=batch_size, jobs=jobs), io.BytesIO(data), out, model=model)
    return out.getvalue(), stats


def test_jobs_give_the_output_of_one_process_in_input_order(model: StanceModel) -> None:
    data = _lines(1000)
    one, stats_one = _predict(model, data, jobs=1)
    two, stats_two = _predict(model, data, jobs=2)
    three, _ = _predict(model, data, jobs=3, batch_size=7)
    assert two == one and three == one
    rows = [json.loads(line) for line in two.splitlines()]
    assert [r["line"] for r in rows] == [i + 1 for i in range(1000) if i % 13]
    assert (stats_one.jobs, stats_two.jobs) == (1, 2)
    assert stats_two.labels == stats_one.labels and stats_two.sentences == len(rows) and stats_two.empty == 77


def test_one_batch_starts_no_worker(model: StanceModel) -> None:
    out, stats = _predict(model, _lines(30), jobs=4)
    assert stats.jobs == 1 and len(out.splitlines()) == stats.sentences == 27


def test_batches_come_back_in_order_with_their_own_probabilities(model: StanceModel) -> None:
    batches = [[s] * (k + 1) for k, (s, _) in enumerate(SENTENCES)]
    got = list(proba_batches(model, iter(batches), lambda b: b, jobs=2))
    assert [b for b, _ in got] == batches
    for batch, proba in got:
        np.testing.assert_array_equal(proba, model.predict_proba_array(batch))


class _Picky(ClassifierMixin, BaseEstimator):
    """Equal probabilities, except for sentences that make it fail (as a broken model would)."""

    def __init__(self, parent: int = 0) -> None:
        self.parent = parent

    def fit(self, X: Any, y: Any) -> _Picky:
        self.classes_ = np.array(LABELS)
        return self

    def predict_proba(self, X: list[str]) -> Any:
        if any("PLEASE-REFUSE" in x for x in X):
            raise StanceError("cannot label: the model refused a sentence", "second line of the same error")
        if any("PLEASE-CRASH" in x for x in X) and os.getpid() != self.parent:
            os._exit(3)  # a worker killed mid-batch, as the out-of-memory killer would
        return np.full((len(X), len(LABELS)), 1 / len(LABELS))


def _picky() -> StanceModel:
    return StanceModel(_Picky(parent=os.getpid()).fit(None, None), {}, source="picky")


def test_an_error_in_a_worker_arrives_whole(tmp_path: Path) -> None:
    data = _lines(300) + b"PLEASE-REFUSE this one\n" + _lines(300)
    out = tmp_path / "out.jsonl"
    with pytest.raises(StanceError, match="cannot label: the model refused a sentence") as caught:
        run_predict(PredictOptions(batch_size=20, jobs=2, output=out), io.BytesIO(data), io.StringIO(), model=_picky())
    assert caught.value.problems == ("cannot label: the model refused a sentence", "second line of the same error")
    assert type(caught.value.__cause__).__name__ == "_RemoteTraceback"  # raised in a worker, not here
    assert not out.exists() and list(tmp_path.iterdir()) == []  # nothing half-written


def test_a_worker_that_dies_is_one_line(tmp_path: Path) -> None:
    data = _lines(300) + b"PLEASE-CRASH the worker\n" + _lines(300)
    with pytest.raises(StanceError, match=r"^a prediction worker stopped unexpectedly \(.*--jobs 1"):
        run_predict(
            PredictOptions(batch_size=20, jobs=2, output=tmp_path / "out.jsonl"),
            io.BytesIO(data),
            io.StringIO(),
            model=_picky(),
        )
    assert list(tmp_path.iterdir()) == []


def test_jobs_must_be_positive(model: StanceModel) -> None:
    with pytest.raises(StanceError, match=r"invalid --jobs 0 \(use a positive number"):
        _predict(model, _lines(3), jobs=0)
    assert usable_cores() >= 1


def test_stance_errors_keep_their_lines_through_pickle() -> None:
    err = pickle.loads(pickle.dumps(StanceError("first: a (b)", "second: c (d)")))
    assert isinstance(err, StanceError) and err.problems == ("first: a (b)", "second: c (d)")


# ---------------------------------------------------------------- a real process


@pytest.mark.slow
def test_the_command_writes_each_row_once_to_a_pipe(tmp_path: Path) -> None:
    model_dir = export(tmp_path / "m")
    data = _lines(600)
    cmd = [sys.executable, "-m", "training", "predict", "--model", str(model_dir), "--batch-size", "25"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    two = subprocess.run([*cmd, "--jobs", "2"], input=data, capture_output=True, cwd=tmp_path, env=env, check=True)
    one = subprocess.run([*cmd, "--jobs", "1"], input=data, capture_output=True, cwd=tmp_path, env=env, check=True)
    assert two.stdout == one.stdout
    assert len(two.stdout.splitlines()) == 600 - 47
    assert b"on 2 processes" in two.stderr and b"processes" not in one.stderr
