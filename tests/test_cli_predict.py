"""``stance predict`` and ``stance evaluate`` through the CLI: pipe output, formats, bad input."""

from __future__ import annotations

import csv
import gc
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from training.cli import app
from training.labels import LABELS
from typer.testing import CliRunner

from predictkit import SENTENCES, export, train


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export(tmp_path_factory.mktemp("models") / "stance-classifier")


@pytest.fixture()
def run(model_dir: Path):  # type: ignore[no-untyped-def]
    runner = CliRunner()

    def invoke(*args: str, stdin: str | bytes | None = None, model: bool = True):  # type: ignore[no-untyped-def]
        argv = list(args) if args and args[0] == "evaluate" else ["predict", *args]
        if model:
            argv += ["--model", str(model_dir)]
        return runner.invoke(app, argv, input=stdin)

    return invoke


def _jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def test_a_piped_sentence_gives_one_jsonl_row_and_nothing_else_on_stdout(run) -> None:  # type: ignore[no-untyped-def]
    result = run(stdin="Riyadh reopened its embassy in Damascus.\n")
    assert result.exit_code == 0, result.stderr
    rows = _jsonl(result.stdout)
    assert len(rows) == 1
    row = rows[0]
    assert row["line"] == 1 and row["text"] == "Riyadh reopened its embassy in Damascus."
    assert row["label"] in LABELS
    assert list(row["probabilities"]) == list(LABELS)
    assert sum(row["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
    assert row["label"] == max(row["probabilities"], key=row["probabilities"].get)
    assert "labelled 1 sentence" in result.stderr


def test_arguments_keep_their_order_and_match_the_model(run, model_dir: Path) -> None:  # type: ignore[no-untyped-def]
    from training import load_model

    texts = [s for s, _ in SENTENCES]
    result = run(*texts)
    assert result.exit_code == 0, result.stderr
    rows = _jsonl(result.stdout)
    assert [r["index"] for r in rows] == list(range(1, len(texts) + 1))
    assert [r["text"] for r in rows] == texts
    assert [r["label"] for r in rows] == load_model(model_dir).predict(texts)


def test_empty_lines_are_skipped_and_counted(run) -> None:  # type: ignore[no-untyped-def]
    result = run(stdin="We support the deal.\n\n   \nThey reject the accord.\n\n")
    assert result.exit_code == 0, result.stderr
    assert [r["line"] for r in _jsonl(result.stdout)] == [1, 4]
    assert "skipped 3 empty inputs" in result.stderr


def test_jsonl_input_passes_other_fields_through(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "in.jsonl"
    src.write_text(
        '{"id": "a", "text": "We support the deal.", "meta": {"src": "wire"}}\n'
        "\n"
        '{"id": "b", "text": "", "meta": null}\n'
        '{"id": "c", "text": "They reject the accord.", "score": 3}\n',
        encoding="utf-8",
    )
    result = run("--input", str(src))
    assert result.exit_code == 0, result.stderr
    rows = _jsonl(result.stdout)
    assert [r["id"] for r in rows] == ["a", "c"]
    assert rows[0]["meta"] == {"src": "wire"} and rows[1]["score"] == 3
    assert "skipped 2 empty inputs" in result.stderr


def test_csv_input_with_text_column_and_csv_output(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "in.csv"
    src.write_text('id,body\n1,We support the deal.\n2,"They reject\nthe accord."\n3,\n', encoding="utf-8")
    result = run("--input", str(src), "--text-column", "body", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == ["id", "body", "label", "prob_favor", "prob_against", "prob_neutral"]
    assert [r["id"] for r in rows] == ["1", "2"]
    assert rows[1]["body"] == "They reject\nthe accord."
    for r in rows:
        assert r["label"] in LABELS
        assert sum(float(r[f"prob_{k}"]) for k in LABELS) == pytest.approx(1.0, abs=1e-5)
    assert "skipped 1 empty input" in result.stderr


def test_table_format_prints_a_table(run) -> None:  # type: ignore[no-untyped-def]
    result = run("--format", "table", "We support the deal [fully].")
    assert result.exit_code == 0, result.stderr
    assert "favor" in result.stdout and "against" in result.stdout and "neutral" in result.stdout
    assert "[fully]" in result.stdout  # sentence text is not read as markup


def test_output_file_is_written_atomically(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "labels.csv"
    result = run("--output", str(out), "We support the deal.", "They reject the accord.")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert len(list(csv.DictReader(out.open(encoding="utf-8")))) == 2  # csv chosen from the suffix
    before = out.read_bytes()
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "We support the deal."}\n{"text": "broken\n', encoding="utf-8")
    result = run("--input", str(bad), "--output", str(out))
    assert result.exit_code == 1
    assert "malformed JSON" in result.stderr and "bad.jsonl:2" in result.stderr
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.jsonl", "labels.csv"]


def test_documents_are_segmented_like_the_dataset_builder(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from training.config import DatasetConfig
    from training.segment import segment

    text = "AMMAN, May 3 (Wire) - Jordan welcomed the deal. Critics rejected it.\n\nMr. Smith spoke on Tuesday. The talks went on.\n"
    doc = tmp_path / "article.txt"
    doc.write_text(text, encoding="utf-8")
    result = run("--documents", "--input", str(doc), "--config", str(tmp_path / "absent.yaml"))
    assert result.exit_code == 1 and "config file not found" in result.stderr
    result = run("--documents", "--input", str(doc))
    assert result.exit_code == 0, result.stderr
    rows = _jsonl(result.stdout)
    cfg = DatasetConfig()
    spans = segment(text, cfg.cleaning, cfg.segmentation)
    assert [(r["doc_id"], r["sentence_index"], r["start"], r["end"], r["text"]) for r in rows] == [
        ("article", s.index, s.start, s.end, s.text) for s in spans
    ]
    assert "from 1 document" in result.stderr


def test_jsonl_documents_keep_their_id_and_fields(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "docs.jsonl"
    src.write_text(
        json.dumps({"id": "n1", "text": "We support the deal. They reject the accord.", "outlet": "wire"})
        + "\n"
        + json.dumps({"text": "The meeting was on Tuesday.", "outlet": "paper"})
        + "\n",
        encoding="utf-8",
    )
    result = run("--documents", "--input", str(src))
    assert result.exit_code == 0, result.stderr
    rows = _jsonl(result.stdout)
    assert [(r["doc_id"], r["sentence_index"], r["outlet"]) for r in rows] == [
        ("docs/n1", 0, "wire"),
        ("docs/n1", 1, "wire"),
        ("docs/2", 0, "paper"),
    ]
    assert all("label" in r for r in rows)


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        (
            lambda p: p.write_bytes(b"caf\xe9 au lait\n"),
            ["--input", "{p}"],
            r"not UTF-8: .*in\.txt:1 has an invalid byte at column 4",
        ),
        (lambda p: p.write_bytes("We support it.\n".encode("utf-16")), ["--input", "{p}"], r"not UTF-8: .*is UTF-16"),
        (
            lambda p: p.with_suffix(".csv").write_text("id,body\n1,x\n", encoding="utf-8"),
            ["--input", "{p.csv}"],
            r"missing column: .*in\.csv:1 has no column 'text' \(columns: id, body; use --text-column\)",
        ),
        (
            lambda p: p.with_suffix(".jsonl").write_text('{"body": "x"}\n', encoding="utf-8"),
            ["--input", "{p.jsonl}"],
            r"missing text: .*in\.jsonl:1 has no field 'text'",
        ),
        (lambda p: None, ["--input", "{p}"], r"input file not found: .*in\.txt"),
        (
            lambda p: p.with_suffix(".html").write_text("<p>Hi.</p>", encoding="utf-8"),
            ["--input", "{p.html}"],
            r"is a whole document \(add --documents",
        ),
        (lambda p: None, ["--format", "xml", "x"], r"unknown output format 'xml'"),
        (lambda p: None, ["--batch-size", "0", "x"], r"invalid --batch-size 0"),
        (lambda p: None, ["--jobs", "0", "x"], r"invalid --jobs 0 \(use a positive number"),
    ],
)
def test_bad_input_is_one_line_and_exit_1(run, tmp_path: Path, setup, args, message) -> None:  # type: ignore[no-untyped-def]
    import re

    p = tmp_path / "in.txt"
    setup(p)
    argv = [
        a.replace("{p.csv}", str(p.with_suffix(".csv")))
        .replace("{p.jsonl}", str(p.with_suffix(".jsonl")))
        .replace("{p.html}", str(p.with_suffix(".html")))
        .replace("{p}", str(p))
        for a in args
    ]
    result = run(*argv)
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and re.search(message, lines[0]), result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_model_fails_before_reading_input(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["predict", "--model", str(tmp_path / "none"), "x"])
    assert result.exit_code == 1
    assert "model not found" in result.stderr and "none" in result.stderr


def test_a_tampered_model_is_refused_on_the_command_line(tmp_path: Path) -> None:
    target = export(tmp_path / "m")
    (target / "model.skops").write_bytes((target / "model.skops").read_bytes()[:-10] + b"0123456789")
    result = CliRunner().invoke(app, ["predict", "--model", str(target), "We support the deal."])
    assert result.exit_code == 1
    assert "model file was modified" in result.stderr and result.stdout == ""


# ---------------------------------------------------------------- evaluate


def _labelled(tmp_path: Path, rows: list[tuple[str, str]], suffix: str = ".jsonl") -> Path:
    path = tmp_path / f"gold{suffix}"
    if suffix == ".jsonl":
        path.write_text("".join(json.dumps({"text": t, "label": y}) + "\n" for t, y in rows), encoding="utf-8")
    else:
        with path.open("w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["text", "label"])
            w.writerows(rows)
    return path


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_evaluate_reports_the_scores_of_the_model(run, model_dir: Path, tmp_path: Path, suffix: str) -> None:  # type: ignore[no-untyped-def]
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support
    from training import load_model

    texts = (
        [s for s, _ in SENTENCES] + ["The deal is welcome news.", "Nobody wants this accord.", "It rained in the city."]
    ) * 2
    truth = ([y for _, y in SENTENCES] + ["favor", "against", "neutral"]) * 2
    truth[0], truth[7] = "neutral", "against"  # two rows the model will get wrong
    result = run("evaluate", "--data", str(_labelled(tmp_path, list(zip(texts, truth)), suffix)), "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    pred = load_model(model_dir).predict(texts)
    labels = list(LABELS)
    assert report["n"] == len(texts)
    assert report["macro_f1"] == pytest.approx(f1_score(truth, pred, labels=labels, average="macro"), abs=1e-12)
    assert report["accuracy"] == pytest.approx(accuracy_score(truth, pred), abs=1e-12)
    f1 = f1_score(truth, pred, labels=labels, average=None)
    assert report["f_avg"] == pytest.approx((f1[0] + f1[1]) / 2, abs=1e-12)
    p, r, f, s = precision_recall_fscore_support(truth, pred, labels=labels, zero_division=0)
    for i, label in enumerate(labels):
        got = report["per_class"][label]
        assert (got["precision"], got["recall"], got["f1"], got["support"]) == pytest.approx((p[i], r[i], f[i], s[i]))
    assert report["confusion"] == {"labels": labels, "matrix": confusion_matrix(truth, pred, labels=labels).tolist()}
    assert report["accuracy"] < 1.0  # the flipped rows count


def test_evaluate_prints_a_rich_report(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = run("evaluate", "--data", str(_labelled(tmp_path, SENTENCES * 2)))
    assert result.exit_code == 0, result.stderr
    assert "macro-F1" in result.stdout and "F_avg" in result.stdout and "confusion" in result.stdout


def test_evaluate_refuses_labels_the_model_does_not_know(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = _labelled(tmp_path, [("We support the deal.", "positive"), ("They reject it.", "against")])
    result = run("evaluate", "--data", str(data))
    assert result.exit_code == 1
    assert "labels do not match" in result.stderr and "positive" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"text,gold\nx,favor\n", r"missing column: .*gold\.csv:1 has no column 'label'"),
        (b"text,label\ncaf\xe9,favor\n", r"not UTF-8: .*gold\.csv:2"),
    ],
)
def test_evaluate_bad_data_is_one_line(run, tmp_path: Path, content: bytes, message: str) -> None:  # type: ignore[no-untyped-def]
    import re

    path = tmp_path / "gold.csv"
    path.write_bytes(content)
    result = run("evaluate", "--data", str(path))
    assert result.exit_code == 1 and re.search(message, result.stderr), result.stderr


def test_evaluate_on_a_saved_dataset_split(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import datasets
    from training.dataset import write_info

    features = datasets.Features({"text": datasets.Value("string"), "label": datasets.ClassLabel(names=list(LABELS))})
    rows = {"text": [s for s, _ in SENTENCES] * 2, "label": [LABELS.index(y) for _, y in SENTENCES] * 2}
    dsd = datasets.DatasetDict(
        {
            "test": datasets.Dataset.from_dict(rows, features=features),
            "validation": datasets.Dataset.from_dict(rows, features=features),
        }
    )
    out = tmp_path / "dataset"
    dsd.save_to_disk(str(out))
    write_info(out, {"fingerprint": "f" * 64})
    result = run("evaluate", "--data", str(out), "--split", "validation", "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["n"] == 2 * len(SENTENCES) and report["data"].endswith("[validation]")
    assert report["data_fingerprint"] == "f" * 64
    result = run("evaluate", "--data", str(out), "--split", "train")
    assert result.exit_code == 1 and "unknown split 'train'" in result.stderr


def test_a_second_model_is_scored_independently(tmp_path: Path) -> None:
    """A different classifier on the same data gives its own, different predictions."""
    other = export(tmp_path / "nb", train("complement_nb", {"alpha": 5.0}))
    data = _labelled(tmp_path, SENTENCES * 2)
    result = CliRunner().invoke(app, ["evaluate", "--data", str(data), "--model", str(other), "--json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["model"] == str(other)


def test_evaluate_log_records_a_run_for_a_local_export(run, model_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import mlflow

    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    cfg = tmp_path / "train.yaml"
    cfg.write_text(f"tracking:\n  uri: {store}\n  experiment: evaluations\n", encoding="utf-8")
    result = run("evaluate", "--data", str(_labelled(tmp_path, SENTENCES * 2)), "--json", "--log", "--config", str(cfg))
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    got = mlflow.MlflowClient(store).get_run(report["mlflow_run_id"])
    meta = json.loads((model_dir / "metadata.json").read_text(encoding="utf-8"))
    assert got.data.tags["stance.model_sha256"] == meta["sha256"]
    assert got.data.tags["stance.model"] == str(model_dir)
    assert got.data.metrics["accuracy"] == pytest.approx(report["accuracy"], abs=1e-12)


def test_standard_input_can_be_jsonl(run) -> None:  # type: ignore[no-untyped-def]
    result = run("--input-format", "jsonl", stdin='{"id": 7, "text": "We support the deal."}\n')
    assert result.exit_code == 0, result.stderr
    (row,) = _jsonl(result.stdout)
    assert row["id"] == 7 and row["label"] in LABELS


def test_the_command_defaults_are_the_library_defaults() -> None:
    import inspect

    from training.cli.predicting import predict
    from training.predict_io import PredictOptions

    params, library = inspect.signature(predict).parameters, PredictOptions()
    for name in ("batch_size", "text_column", "model", "documents"):
        assert params[name].default == getattr(library, name), name


def test_the_console_command_labels_without_importing_mlflow_or_pydantic(model_dir: Path) -> None:
    # -X importtime lists every module the process imported, on standard error
    proc = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-m",
            "training",
            "predict",
            "--model",
            str(model_dir),
            "We support the deal.",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "training.predict" in imported and "sklearn" in imported  # the listing is complete
    assert json.loads(proc.stdout)["label"] in LABELS
    assert not {"mlflow", "pydantic", "datasets", "matplotlib"} & imported


def test_the_console_entry_point_freezes_what_is_left_for_a_fast_exit(monkeypatch: pytest.MonkeyPatch) -> None:
    from training.cli import main

    monkeypatch.setattr(sys, "argv", ["stance", "--help"])
    gc.unfreeze()
    try:
        with pytest.raises(SystemExit) as exit_:
            main()
        assert exit_.value.code == 0
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
