"""The whole loop on a user's own folder, as the README's "Label your own documents" runs it."""

import json
import shutil
from pathlib import Path

import pytest
import yaml
from training.cli import app
from training.labels import LABELS
from typer.testing import CliRunner

from userkit import ORACLE, make_user_docs

runner = CliRunner()
KEY = {"favor": "f", "against": "a", "neutral": "n"}
REPO = Path(__file__).resolve().parents[1]


def ok(*args: str, input: str | None = None) -> str:
    result = runner.invoke(app, list(args), input=input)
    assert result.exit_code == 0, result.output
    return result.output


def label_counts(folder: Path) -> dict[str, int]:
    import datasets

    dd = datasets.load_from_disk(str(folder))
    names = dd["train"].features["label"].names
    return {label: sum(names[r["label"]] == label for s in dd for r in dd[s]) for label in LABELS}


@pytest.mark.slow
def test_three_unlabelled_documents_to_a_retrained_champion(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    shutil.copytree(REPO / "configs", tmp_path / "configs")  # run from a checkout, as a user would
    make_user_docs(tmp_path / "mine")
    out = ok("build-dataset", "--seeds", "mine", "--out", "data/weak")
    assert "label model: majority (no gold sentences to choose on" in out
    assert label_counts(tmp_path / "data" / "weak") == {"favor": 10, "against": 9, "neutral": 21}

    out = ok("queue", "mine", "--k", "40", "--per-doc", "14", "--model", "rules", "--out", "queue.jsonl")
    rows = [json.loads(line) for line in Path("queue.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 40 and "wrote 40 sentences from 3 documents" in out
    keys = "".join(KEY[ORACLE[r["text"]]] for r in rows)
    out = ok("annotate", "queue.jsonl", "--annotator", "alice", input=keys)
    assert "done: 40 of 40 labelled (40 now)" in out
    # A second annotator disagrees on three sentences; the adjudication queue holds exactly those.
    other = "".join({"f": "a", "a": "n", "n": "f"}[k] if i < 3 else k for i, k in enumerate(keys))
    ok("annotate", "queue.jsonl", "--annotator", "bob", input=other)
    out = ok("agreement", "queue.alice.gold.jsonl", "queue.bob.gold.jsonl", "--out", "adjudicate.jsonl")
    assert "alice / bob: Cohen's kappa" in out and "observed 92.5% on 40 sentences" in out
    assert len(Path("adjudicate.jsonl").read_text(encoding="utf-8").splitlines()) == 3

    out = ok("import-labels", "queue.alice.gold.jsonl", "--docs", "mine")
    assert "imported 40 of 40 labels into 3 gold files" in out
    out = ok("build-dataset", "--seeds", "mine", "--out", "data/gold")
    assert "label model: dawid_skene" in out or "label model: majority (the better macro-F1 on 40 gold sentences" in out
    assert label_counts(tmp_path / "data" / "gold") == {label: list(ORACLE.values()).count(label) for label in LABELS}

    config = {
        "seed": 42,
        "n_jobs": 1,
        "dataset": "data/gold",
        "export_dir": "models/mine",
        "cv": {"folds": 2, "repeats": 1},
        "tracking": {"uri": f"sqlite:///{tmp_path / 'mlflow.db'}", "experiment": "mine"},
        "candidates": [
            {"name": "dummy", "features": "none", "classifier": "dummy"},
            {"name": "logreg-word", "features": "word", "classifier": "logreg"},
        ],
    }
    Path("train.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    out = ok("train", "--config", "train.yaml")
    assert "best: logreg-word" in out and (tmp_path / "models" / "mine" / "model.skops").exists()

    result = runner.invoke(app, ["queue", "mine", "--model", "models/mine", "--out", "next.jsonl"])
    assert result.exit_code == 1 and "nothing left to label in mine: all 40 sentences have gold labels" in result.output
    out = ok("audit-labels", "--data", "data/gold", "--folds", "2", "--out", "review.jsonl")
    assert "of 40 gold sentences look mislabelled (folds grouped by document, 3 groups" in out
    ok(
        "learning-curve",
        "--data",
        "data/gold",
        "--seeds",
        "2",
        "--step",
        "5",
        "--initial",
        "6",
        "--no-log",
        "--out",
        "curve.md",
    )
    assert "| margin-diverse |" in Path("curve.md").read_text(encoding="utf-8")
