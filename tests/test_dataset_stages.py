from collections import Counter
from pathlib import Path

import numpy as np
from training.config import DatasetConfig, load_config
from training.corpus import Document
from training.dataset.sentences import SentenceSpill
from training.dataset.stages import assign_splits, audit_leakage, deduplicate, split_documents

CFG = load_config("configs/dataset.yaml", DatasetConfig)


def _spill(tmp_path: Path, docs: dict[str, str]) -> SentenceSpill:
    spill = SentenceSpill(tmp_path / ".sentences.arrow", CFG, {})
    for doc_id, text in docs.items():
        spill.add_document(Document(doc_id, text, doc_id))
    spill.close()
    return spill


def test_split_is_grouped_and_follows_label_shares() -> None:
    docs = {f"d{i}": Counter({i % 3: 10, (i + 1) % 3: 5}) for i in range(20)}
    cfg = DatasetConfig()
    a = split_documents(docs, cfg)
    assert a == split_documents(docs, cfg)
    counts = Counter(a.values())
    assert counts["train"] >= 12 and counts["validation"] >= 2 and counts["test"] >= 2


def test_deduplicate_keeps_the_first_copy_and_counts_label_conflicts(tmp_path: Path) -> None:
    spill = _spill(
        tmp_path,
        {
            "a": "Riyadh and Tehran agreed to reopen embassies. Rain fell on the coast.",
            "b": "Riyadh and Tehran agreed to reopen embassies!",
        },
    )
    labels = np.array([0, 2, 1], dtype=np.int8)
    dups = deduplicate(spill, labels, CFG)
    assert dups.keep.tolist() == [True, True, False]
    assert dups.copies == {0: ["b:0"]} and dups.label_conflicts == 1
    assert dups.pairs == [(0, 2)]


def test_splits_hold_whole_documents_and_the_audit_finds_no_leak(tmp_path: Path) -> None:
    docs = {f"d{i}": f"Sentence number {i} of document {i}. Another line {i} here." for i in range(6)}
    spill = _spill(tmp_path, docs)
    labels = np.array([i % 3 for i in range(spill.n)], dtype=np.int8)
    dups = deduplicate(spill, labels, CFG)
    splits = assign_splits(spill, labels, dups.keep, CFG)
    per_doc = {d: set(splits.row_split[spill.column("doc") == n].tolist()) for n, d in enumerate(spill.doc_ids)}
    assert all(len(s) == 1 for s in per_doc.values())
    assert set(splits.doc_labels) == set(docs)
    assert audit_leakage(spill, dups, splits.row_split) == {
        "documents_in_several_splits": 0,
        "near_duplicates_across_splits": 0,
    }
    leaked = splits.row_split.copy()
    leaked[0] = (leaked[1] + 1) % 3  # first sentence of d0 moved to another split
    assert audit_leakage(spill, dups, leaked)["documents_in_several_splits"] == 1
