import json
from pathlib import Path

import pytest
from training.agreement import adjudication_rows, krippendorff_alpha, measure, read_annotations, specific_agreement
from training.cli import app
from training.errors import StanceError
from training.queue import read_queue
from typer.testing import CliRunner

runner = CliRunner()
TEXTS = [
    "Riyadh reopened its embassy.",
    "Talks resumed in Geneva.",
    "Protesters rejected the deal.",
    "Ankara froze trade.",
]


def write(path: Path, annotator: str | None, labels: list[str]) -> Path:
    rows = [
        {
            "text": t,
            "label": lab,
            "doc_id": "d1",
            "sentence_index": i,
            **({"annotator": annotator} if annotator else {}),
        }
        for i, (t, lab) in enumerate(zip(TEXTS, labels))
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_alpha_and_specific_agreement_match_hand_counts() -> None:
    units = [["favor", "favor"], ["favor", "against"], ["against", "against"], ["against", "against"]]
    assert krippendorff_alpha(units) == pytest.approx(
        1 - 2 / (30 / 7)
    )  # 0.5333, Scott's pi 0.4667 corrected for 8 values
    assert specific_agreement(units) == {"favor": pytest.approx(2 / 3), "against": pytest.approx(0.8), "neutral": None}
    assert krippendorff_alpha([["favor", "favor"], ["neutral", "neutral"]]) == 1.0
    assert krippendorff_alpha([["favor", "favor", "against"], ["neutral"]]) == pytest.approx(0.0)


def test_pairs_alpha_and_the_adjudication_queue(tmp_path: Path) -> None:
    a = write(tmp_path / "q.alice.gold.jsonl", None, ["favor", "favor", "against", "against"])
    b = write(tmp_path / "bob.gold.jsonl", "bob", ["favor", "against", "against", "against"])
    c = write(tmp_path / "carol.gold.jsonl", "carol", ["favor", "neutral", "against", "against"])
    labels, rows = read_annotations([a, b, c])
    assert sorted(labels) == ["alice", "bob", "carol"]
    result = measure(labels)
    kappas = {(p["a"], p["b"]): p["kappa"] for p in result["pairs"]}
    assert kappas[("alice", "bob")] == pytest.approx(0.5)  # observed 3/4, chance 1/2
    assert result["shared"] == 4 and len(result["disputed"]) == 1
    queue = adjudication_rows(result, labels, rows)
    assert queue == [
        {
            "doc_id": "d1",
            "sentence_index": 1,
            "text": TEXTS[1],
            "guess": None,
            "labels": {"alice": "favor", "bob": "against", "carol": "neutral"},
            "note": "annotators: alice favor, bob against, carol neutral",
        }
    ]
    out = tmp_path / "adj.jsonl"
    result = runner.invoke(app, ["agreement", str(a), str(b), str(c), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "alice / bob: Cohen's kappa 0.500, observed 75.0% on 4 sentences" in result.output
    assert [r["text"] for r in read_queue(out)] == [TEXTS[1]]
    annotated = runner.invoke(app, ["annotate", str(out), "-a", "judge"], input="f")
    assert "annotators: alice favor, bob against, carol neutral" in annotated.output


def test_one_annotator_or_a_foreign_label_is_refused(tmp_path: Path) -> None:
    a = write(tmp_path / "alice.gold.jsonl", None, ["favor"] * 4)
    with pytest.raises(StanceError, match=r"need two or more annotators, found 1 \(alice\)"):
        read_annotations([a])
    b = write(tmp_path / "bob.gold.jsonl", None, ["favor", "pro", "favor", "favor"])
    with pytest.raises(StanceError, match=r"unknown label 'pro': .*bob\.gold\.jsonl:2"):
        read_annotations([a, b])
