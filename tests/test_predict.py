"""The Python API (``training.load_model``), streaming prediction, and MLflow-registered models."""

from __future__ import annotations

import codecs
import io
import json
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import training
from training.classifiers import CLASSIFIERS
from training.errors import StanceError
from training.labels import LABELS
from training.predict import StanceModel, is_mlflow_uri, load_model
from training.predict_io import PredictOptions, check_utf8, decoded_lines, run_predict

from predictkit import LABELS_Y, TEXTS, export, register, train

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export(tmp_path_factory.mktemp("models") / "stance-classifier")


def test_load_model_returns_labels_and_probabilities_in_canonical_order(export_dir: Path) -> None:
    model = training.load_model(str(export_dir))
    assert isinstance(model, StanceModel)
    assert model.labels == LABELS  # favor, against, neutral, whatever order the classifier uses
    raw = model.estimator
    sentences = [
        "We support the deal and welcome the ties.",
        "They oppose normalization.",
        "The meeting was on Tuesday.",
    ]
    probs = model.predict_proba(sentences)
    assert [list(p) for p in probs] == [list(LABELS)] * 3
    expected = raw.predict_proba(sentences)
    for row, exp in zip(probs, expected):
        for label, p in row.items():
            assert p == pytest.approx(exp[list(raw.classes_).index(label)], abs=1e-12)
        assert sum(row.values()) == pytest.approx(1.0)
    assert model.predict(sentences) == [str(x) for x in raw.predict(sentences)]
    arr = model.predict_proba_array(sentences)
    assert arr.shape == (3, 3)
    assert model.label_array(arr) == model.predict(sentences)


def test_one_string_is_one_sentence_and_bad_items_are_refused(export_dir: Path) -> None:
    model = load_model(export_dir)
    assert model.predict("They reject normalization and oppose any deal with them.") == ["against"]
    assert model.predict([]) == [] and model.predict_proba([]) == []
    assert model.predict_proba_array([]).shape == (0, 3)
    with pytest.raises(StanceError, match="not a sentence: item 1 is int"):
        model.predict(["fine", 3])  # type: ignore[list-item]


@pytest.mark.parametrize("name", sorted(CLASSIFIERS))
def test_every_registered_classifier_serves_through_the_api(name: str, tmp_path: Path) -> None:
    params = {"random_forest": {"n_components": 5, "n_estimators": 5}, "knn": {"n_neighbors": 3}}.get(name, {})
    fitted = train(name, params, features="word" if CLASSIFIERS[name].needs_features else None)
    model = load_model(export(tmp_path / "m", fitted))
    proba = model.predict_proba_array(TEXTS)
    assert proba.shape == (len(TEXTS), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    assert model.predict(TEXTS) == [str(x) for x in fitted.predict(TEXTS)]


def test_a_model_without_predict_proba_gets_softmax_scores(tmp_path: Path) -> None:
    from sklearn.svm import LinearSVC
    from training.classifiers import assemble, build_features

    fitted = assemble(build_features("word", {}), LinearSVC(random_state=0)).fit(TEXTS, LABELS_Y)
    model = load_model(export(tmp_path / "svc", fitted))
    assert model.calibrated is False
    proba = model.predict_proba_array(TEXTS)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    assert model.predict(TEXTS) == [str(x) for x in fitted.predict(TEXTS)]


def test_a_bare_skops_file_loads_and_metadata_labels_must_match(export_dir: Path, tmp_path: Path) -> None:
    assert load_model(export_dir / "model.skops").predict("The talks were held behind closed doors.") == ["neutral"]
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "model.skops").write_bytes((export_dir / "model.skops").read_bytes())
    meta = json.loads((export_dir / "metadata.json").read_text(encoding="utf-8"))
    meta["labels"] = ["positive", "negative", "neutral"]
    (copy / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(StanceError, match=r"labels do not match: .* metadata lists \['positive'"):
        load_model(copy)


def test_missing_and_non_model_paths_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(StanceError, match=r"model not found: .*nowhere \(check the path"):
        load_model(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(StanceError, match=r"not a model: .*empty has neither metadata\.json nor an MLmodel"):
        load_model(tmp_path / "empty")


def test_uri_detection_keeps_local_paths_local(tmp_path: Path) -> None:
    assert is_mlflow_uri("models:/stance-classifier@champion")
    assert is_mlflow_uri("runs:/abc/model")
    assert not is_mlflow_uri("models/stance-classifier")
    assert not is_mlflow_uri("C:/models/x")  # a drive letter is a path


def test_loading_a_local_export_imports_no_mlflow_datasets_or_pydantic(export_dir: Path) -> None:
    code = (
        "import sys, training\n"
        f"m = training.load_model({str(export_dir)!r})\n"
        "print(m.predict(['We support the deal.'])[0])\n"
        "print(sorted(k for k in ('mlflow', 'datasets', 'matplotlib', 'typer', 'pydantic') if k in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True).stdout
    label, heavy = out.splitlines()
    assert label in LABELS and heavy == "[]"


# ---------------------------------------------------------------- streaming


class _Lines(io.RawIOBase):
    """A binary stdin that records how many rows were already written whenever it is read."""

    def __init__(self, n: int, out: io.StringIO) -> None:
        self.lines = (f"sentence number {i} about the deal\n".encode() for i in range(n))
        self.out = out
        self.written_at: dict[int, int] = {}
        self.read_lines = 0

    def __iter__(self) -> Any:
        for line in self.lines:
            self.read_lines += 1
            self.written_at[self.read_lines] = self.out.getvalue().count("\n")
            yield line


def test_input_streams_through_in_batches(export_dir: Path) -> None:
    out = io.StringIO()
    stdin = _Lines(2500, out)
    stats = run_predict(PredictOptions(model=str(export_dir), batch_size=500), stdin, out)  # type: ignore[arg-type]
    assert stats.sentences == 2500
    # when line 2001 is read, the first four batches are already written: nothing waits for the end
    assert stdin.written_at[2001] == 2000
    assert stdin.written_at[1] == 0
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["line"] for r in rows] == list(range(1, 2501))


def _line_by_line_error(data: bytes) -> str | None:
    try:
        for _ in decoded_lines(io.BytesIO(data), "in.txt"):
            pass
    except StanceError as exc:
        return str(exc)
    return None


@pytest.mark.parametrize(
    "data",
    [
        b"fine\nlines\n",
        b"",
        b"no newline at the end",
        "caf\u00e9\n\u00e9t\u00e9\n".encode(),
        b"ok\ncaf\xe9 au lait\nmore\n",
        b"ok\n\xe2\x82\n",
        b"ok\nends in half a character \xe2\x82",
        codecs.BOM_UTF8 + b"bom then bad \xff\n",
        codecs.BOM_UTF8 + "caf\u00e9\n".encode(),
        "utf-16\n".encode("utf-16"),
        b"a\r\nb\r\n\xed\xa0\x80 a surrogate\n",
        ("x" * 37 + "\n") * 50 + "\u20ac".encode()[:2].decode("latin-1") + "\n",
    ],
)
@pytest.mark.parametrize("chunk_size", [1, 5, 64, 1 << 20])
def test_the_chunked_utf8_check_refuses_what_the_line_reader_refuses(data: bytes | str, chunk_size: int) -> None:
    raw = data.encode("latin-1") if isinstance(data, str) else data
    try:
        check_utf8(io.BytesIO(raw), "in.txt", chunk_size=chunk_size)
        got = None
    except StanceError as exc:
        got = str(exc)
    assert got == _line_by_line_error(raw)


@pytest.mark.slow
@pytest.mark.parametrize("jobs", [1, 2])
def test_peak_memory_does_not_grow_with_the_input(export_dir: Path, tmp_path: Path, jobs: int) -> None:
    model = load_model(export_dir)
    peaks = {}
    for n in (10_000, 100_000):
        path = tmp_path / f"{n}.txt"
        with open(path, "w", encoding="utf-8") as fh:
            for i in range(n):
                fh.write(f"Line {i}: the two capitals agreed to restore ties and reopen embassies.\n")
        tracemalloc.start()
        with open(os.devnull, "w", encoding="utf-8") as sink:
            # batches small enough that even the small file fills every worker's queue
            opts = PredictOptions(input=path, model=str(export_dir), jobs=jobs, batch_size=500)
            stats = run_predict(opts, io.BytesIO(), sink, model=model)
        peaks[n] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert stats.sentences == n
    assert peaks[100_000] < 1.2 * peaks[10_000], peaks


# ---------------------------------------------------------------- MLflow


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A pipeline logged to a local SQLite store and registered with the alias ``champion``."""
    import mlflow

    root = tmp_path_factory.mktemp("mlflow")
    fitted = train()
    old, previous = os.environ.get("MLFLOW_TRACKING_URI"), mlflow.get_tracking_uri()
    info = register(root, fitted)
    os.environ["MLFLOW_TRACKING_URI"] = info["tracking_uri"]  # where `stance` resolves `models:/` URIs
    mlflow.set_tracking_uri(info["tracking_uri"])  # and where mlflow.pyfunc does
    yield {"fitted": fitted, "root": root, **info}
    mlflow.set_tracking_uri(previous)
    if old is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = old


def test_registered_model_serves_through_pyfunc(registered: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    import mlflow.pyfunc
    import pandas as pd

    # Our loader reads the skops file with our own trusted types: MLflow's pickle gate stays shut.
    monkeypatch.delenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", raising=False)
    served = mlflow.pyfunc.load_model("models:/stance-classifier@champion")
    assert served.metadata.flavors["python_function"]["loader_module"] == "training.serving"
    got = served.predict(pd.DataFrame({"text": TEXTS[:3]}))
    fitted = registered["fitted"]
    assert list(got.columns) == ["label", "favor", "against", "neutral"]
    assert got["label"].tolist() == list(fitted.predict(TEXTS[:3]))
    expected = pd.DataFrame(fitted.predict_proba(TEXTS[:3]), columns=list(fitted.classes_))[
        ["favor", "against", "neutral"]
    ]
    np.testing.assert_allclose(got[["favor", "against", "neutral"]].to_numpy(), expected.to_numpy(), atol=1e-12)
    # The scikit-learn flavor is still there for code that wants the pipeline itself.
    assert served.metadata.flavors["sklearn"]["serialization_format"] == "skops"


@pytest.mark.parametrize("which", ["alias", "run"])
def test_load_model_accepts_mlflow_uris(registered: dict[str, Any], which: str) -> None:
    uri = "models:/stance-classifier@champion" if which == "alias" else f"runs:/{registered['run_id']}/model"
    model = load_model(uri)
    assert model.labels == LABELS
    assert model.predict(TEXTS) == [str(x) for x in registered["fitted"].predict(TEXTS)]
    assert model.metadata["mlflow"]["run_id"] == registered["run_id"]


def test_a_pickled_mlflow_model_is_refused(registered: dict[str, Any]) -> None:
    pickled = register(registered["root"], registered["fitted"], serialization_format="cloudpickle")
    with pytest.raises(StanceError, match=r"refused: runs:/.* is stored as cloudpickle, which can run code"):
        load_model(f"runs:/{pickled['run_id']}/model")


def test_an_unknown_registered_model_is_one_line(registered: dict[str, Any]) -> None:
    with pytest.raises(
        StanceError, match=r"cannot fetch MLflow model models:/no-such-model@champion: .*tracking store sqlite"
    ):
        load_model("models:/no-such-model@champion")


def test_evaluate_log_links_the_run_to_the_registered_model(registered: dict[str, Any], tmp_path: Path) -> None:
    import mlflow
    from training.evaluate import evaluate_model
    from training.train_config import TrackingConfig

    data = tmp_path / "gold.jsonl"
    data.write_text(
        "".join(json.dumps({"text": t, "label": y}) + "\n" for t, y in zip(TEXTS[:18], LABELS_Y[:18])), encoding="utf-8"
    )
    store = registered["tracking_uri"]  # the model's own store: its logged model gets the metrics too
    report = evaluate_model(
        data, "models:/stance-classifier@champion", tracking=TrackingConfig(uri=store, experiment="evaluations")
    )
    client = mlflow.MlflowClient(store)
    run = client.get_run(report["mlflow_run_id"])
    assert run.data.tags["stance.kind"] == "evaluation"
    assert run.data.tags["stance.model_uri"] == "models:/stance-classifier@champion"
    assert run.data.tags["stance.model_run_id"] == registered["run_id"]
    assert run.data.metrics["macro_f1"] == pytest.approx(report["macro_f1"], abs=1e-12)
    assert run.data.metrics["n"] == 18
    assert run.data.metrics["favor_recall"] == pytest.approx(report["per_class"]["favor"]["recall"], abs=1e-12)
    names = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert names == {"evaluation.json", "confusion_matrix.png"}
    linked = {
        m.key: m.value for m in client.get_logged_model(registered["model_id"]).metrics if m.run_id == run.info.run_id
    }
    assert linked["macro_f1"] == pytest.approx(report["macro_f1"], abs=1e-12)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_registered_model_answers_over_http_with_mlflow_models_serve(
    registered: dict[str, Any], tmp_path: Path
) -> None:
    import signal
    import time
    import urllib.request

    port = _free_port()
    bin_dir = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
        "MLFLOW_TRACKING_URI": registered["tracking_uri"],
    }
    env.pop("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", None)  # not needed: our loader checks the types
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [
            str(Path(bin_dir) / "mlflow"),
            "models",
            "serve",
            "-m",
            "models:/stance-classifier@champion",
            "--env-manager",
            "local",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        for _ in range(300):  # the server imports mlflow and loads the model first
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2):
                    break
            except OSError:
                assert proc.poll() is None, (tmp_path / "serve.log").read_text(errors="replace")
                time.sleep(1)
        body = json.dumps({"dataframe_split": {"columns": ["text"], "data": [[t] for t in TEXTS[:3]]}}).encode()
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/invocations", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=60) as resp:
            answer = json.loads(resp.read())
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
        log.close()
    fitted = registered["fitted"]
    rows = answer["predictions"]
    assert [r["label"] for r in rows] == list(fitted.predict(TEXTS[:3]))
    got = np.array([[r[label] for label in fitted.classes_] for r in rows])
    np.testing.assert_allclose(got, fitted.predict_proba(TEXTS[:3]), atol=1e-9)
