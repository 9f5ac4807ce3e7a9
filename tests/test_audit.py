from pathlib import Path

import pytest
from training.audit import audit
from training.cli import app
from training.errors import StanceError
from training.queue import read_queue
from typer.testing import CliRunner

from trainkit import make_dataset, save_dataset

runner = CliRunner()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dsd, info = make_dataset(n_docs=16)
    return save_dataset(tmp_path_factory.mktemp("audit") / "dataset", dsd, info)


def flipped() -> set[tuple[str, int]]:
    """The rows trainkit gave a label other than their template's (its 'annotators disagree' rows)."""
    return {(f"doc{d:02d}", i) for d in range(16) for i in range(6) if (d * 6 + i) % 9 == 4}


def test_the_flipped_labels_lead_the_review_queue(dataset: Path) -> None:
    result = audit(dataset, folds=4, seed=0)
    assert result["gold"] == 96 and result["grouped_by"] == "document" and result["groups"] == 16
    found = [(r["doc_id"], r["sentence_index"]) for r in result["rows"]]
    top = found[: len(flipped())]
    assert len(set(top) & flipped()) >= len(flipped()) - 2
    first = result["rows"][0]
    assert first["given"] != first["guess"] and first["self_confidence"] == first["probabilities"][first["given"]]
    assert first["note"].startswith(f"gold says {first['given']}; out-of-fold model says {first['guess']}")
    ranks = [r["self_confidence"] for r in result["rows"]]
    assert ranks == sorted(ranks)


def test_the_review_queue_opens_in_annotate(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "review.jsonl"
    result = runner.invoke(
        app, ["audit-labels", "--data", str(dataset), "--out", str(out), "--folds", "4", "--limit", "3"]
    )
    assert result.exit_code == 0, result.output
    assert "gold sentences look mislabelled (folds grouped by document, 16 groups" in result.output
    rows = read_queue(out)
    assert len(rows) == 3
    shown = runner.invoke(app, ["annotate", str(out), "-a", "judge"], input="q")
    assert f"gold says {rows[0]['given']}" in shown.output


def test_too_few_groups_for_the_folds(dataset: Path) -> None:
    with pytest.raises(
        StanceError, match=r"too few groups for --folds 20: .* 16 episodes or documents \(pass --folds 16"
    ):
        audit(dataset, folds=20)
