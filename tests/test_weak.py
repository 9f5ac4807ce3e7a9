import json
import logging
from pathlib import Path

import numpy as np
import pytest
from training.config import DatasetConfig, load_config
from training.dataset import build_dataset, load_built
from training.errors import StanceError
from training.labeling import weak_labels_from_votes
from training.labels import LABELS
from training.weak import combine, label_warnings, model_votes, source_accuracy

from predictkit import export
from userkit import ORACLE, make_user_docs

CFG = load_config("configs/dataset.yaml", DatasetConfig)


def _names(dd: object) -> list[tuple[str, str, str, float]]:
    names = dd["train"].features["label"].names  # type: ignore[index]
    return [(r["text"], names[r["label"]], r["label_source"], r["confidence"]) for s in dd for r in dd[s]]  # type: ignore[union-attr]


def test_without_gold_auto_takes_the_majority_vote_and_says_why() -> None:
    votes = np.array([[0, -1], [0, -1], [1, 1], [-1, 2]], dtype=np.int8)
    weak = weak_labels_from_votes(votes, np.full(4, -1), CFG.labeling)
    assert weak.model == "majority"
    assert weak.reason.startswith("no gold sentences to choose on")
    assert weak.labels.tolist() == [0, 0, 1, 2]
    with_gold = weak_labels_from_votes(votes, np.array([0, -1, 1, 2]), CFG.labeling)
    assert with_gold.reason == "the better macro-F1 on 3 gold sentences"
    assert with_gold.gold_accuracy == {"majority": 1.0, "dawid_skene": with_gold.gold_accuracy["dawid_skene"]}


def test_three_unlabelled_documents_get_labels_of_every_kind(tmp_path: Path) -> None:
    docs = make_user_docs(tmp_path / "mine")
    result = build_dataset(CFG, seeds=docs, out=tmp_path / "ds")
    rows = _names(load_built(result.out)[0])
    counts = {label: sum(r[1] == label for r in rows) for label in LABELS}
    assert counts == {"favor": 10, "against": 9, "neutral": 21}
    assert sum(ORACLE[text] == label for text, label, _, _ in rows) == 30
    assert {r[2] for r in rows} == {"weak"} and min(r[3] for r in rows) < 0.6
    assert result.info["label_model"] == "majority" and result.info["warnings"] == []
    card = (result.out / "README.md").read_text(encoding="utf-8")
    assert "come from `majority`: no gold sentences to choose on" in card


def test_a_dominant_label_and_an_empty_split_are_one_warning_line_each(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    docs = tmp_path / "mine"
    docs.mkdir()
    (docs / "a.txt").write_text("The harbour was busy. Ships came and went. The market sold fish.\n", encoding="utf-8")
    (docs / "b.txt").write_text(
        "The bridge is long. Rain fell in the morning. The mayor spoke at noon.\n", encoding="utf-8"
    )
    with caplog.at_level(logging.WARNING, logger="training"):
        result = build_dataset(CFG, seeds=docs, out=tmp_path / "ds")
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0].startswith("neutral takes 83% of the 6 weak labels (the cues in configs/dataset.yaml")
    assert [line.split(" (")[0] for line in lines[1:]] == ["the validation split is empty", "the test split is empty"]
    assert result.info["warnings"] == lines
    assert "**Warning:** neutral takes 83%" in (result.out / "README.md").read_text(encoding="utf-8")


def test_label_warnings_count_only_weak_labels() -> None:
    labels = np.array([2, 2, 2, 2, 2, 0, 1, 0])
    gold = np.array([-1, -1, -1, -1, -1, 0, 1, 0])
    assert label_warnings(labels, gold, {"train": 3, "validation": 0}, 2)[0].startswith(
        "neutral takes 100% of the 5 weak"
    )
    assert len(label_warnings(labels, np.full(8, -1), {"train": 8}, 2)) == 0


def test_the_model_as_the_only_source_and_as_one_voter() -> None:
    votes = np.array([[0, -1], [-1, 1], [2, -1], [-1, -1]], dtype=np.int8)
    proba = np.array([[0.9, 0.05, 0.05], [0.2, 0.7, 0.1], [0.4, 0.35, 0.25], [0.1, 0.1, 0.8]], dtype=np.float32)
    assert model_votes(proba).tolist() == [0, 1, -1, 2]
    gold = np.array([0, 1, 2, -1])
    weak, _, names = combine(votes, gold, CFG.labeling, "model", proba)
    assert weak.labels.tolist() == [0, 1, 0, 2] and weak.confidence.tolist() == pytest.approx([0.9, 0.7, 0.4, 0.8])
    assert weak.gold_accuracy == {"model": pytest.approx(2 / 3)} and names[-1] == "question" and weak.model == "model"
    _, extended, names = combine(votes, gold, CFG.labeling, "both", proba)
    assert extended.shape == (4, 3) and names[-1] == "model" and extended[:, 2].tolist() == [0, 1, -1, 2]
    rules, _, _ = combine(votes, gold, CFG.labeling, "rules", None)
    table = {r["source"]: r for r in source_accuracy(gold, rules, proba)}
    assert set(table) == {"majority", "dawid_skene", "model"} and table["model"]["accuracy"] == pytest.approx(2 / 3)
    assert source_accuracy(np.full(4, -1), rules, proba) == []


def test_build_with_the_model_as_voter(tmp_path: Path) -> None:
    model_dir = export(tmp_path / "model")
    docs = make_user_docs(tmp_path / "mine")
    first = next(iter(ORACLE))
    (docs / "border-reopens.gold.jsonl").write_text(
        json.dumps({"text": first, "label": "favor"}) + "\n", encoding="utf-8"
    )
    result = build_dataset(CFG, seeds=docs, out=tmp_path / "ds", weak_labels="model", model=str(model_dir))
    assert result.info["weak_labels"] == "model" and result.info["label_model"] == "model"
    rows = _names(load_built(result.out)[0])
    assert all(0.33 < conf < 1.0 for _, _, src, conf in rows if src == "weak")
    both = build_dataset(CFG, seeds=docs, out=tmp_path / "ds2", weak_labels="both", model=str(model_dir))
    assert [r["function"] for r in both.lf_table][-1] == "model"
    assert {r["source"] for r in both.info["sources_vs_gold"]} == {"majority", "dawid_skene", "model"}


def test_unknown_source_and_missing_model_stop_before_any_work(tmp_path: Path) -> None:
    docs = make_user_docs(tmp_path / "mine")
    with pytest.raises(StanceError, match=r"unknown --weak-labels 'llm' \(use one of rules, model, both\)"):
        build_dataset(CFG, seeds=docs, out=tmp_path / "ds", weak_labels="llm")
    with pytest.raises(StanceError, match=r"model not found: .*nowhere"):
        build_dataset(CFG, seeds=docs, out=tmp_path / "ds", weak_labels="both", model=str(tmp_path / "nowhere"))
    assert not (tmp_path / "ds").exists()
