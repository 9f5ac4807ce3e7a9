"""The build's stages between reading and writing: label, deduplicate, split, audit.

Each stage takes the :class:`SentenceSpill` and the arrays earlier stages made, and returns
what the later ones need; only per-sentence numbers are held, never the text.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from training.config import DatasetConfig
from training.dataset.sentences import SentenceSpill
from training.labels import LABELS

SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class Labelled:
    """Every sentence's label (gold where there is gold) and how the weak labels were made."""

    labels: np.ndarray  # (n,) int8 class index
    confidence: np.ndarray  # (n,) 1.0 for gold, the weak label's probability otherwise
    gold: np.ndarray  # (n,) class index, -1 without gold
    lf_table: list[dict[str, Any]]
    model_info: dict[str, Any]  # the label model's entries of the info file
    sources_vs_gold: list[dict[str, Any]]  # each weak-label source scored on the gold sentences


def label(spill: SentenceSpill, config: DatasetConfig, mode: str) -> Labelled:
    """Gold labels where annotated, weak labels from the votes (and the model's) elsewhere."""
    from training.labeling import lf_analysis
    from training.weak import combine, source_accuracy

    gold = spill.column("gold")
    proba = spill.model_proba()
    weak, votes, voter_names = combine(spill.votes(), gold, config.labeling, mode, proba)
    lf_table = lf_analysis(votes, gold, voter_names)
    labels = np.where(gold >= 0, gold, weak.labels).astype(np.int8)
    confidence = np.where(gold >= 0, 1.0, weak.confidence)
    model_info = {
        "label_model": weak.model,
        # Without gold there is no score (NaN), and the info file is strict JSON: such scores are left out.
        "label_model_gold_macro_f1": {k: v for k, v in weak.gold_scores.items() if not math.isnan(v)},
        "label_model_reason": weak.reason,
    }
    return Labelled(labels, confidence, gold, lf_table, model_info, source_accuracy(gold, weak, proba))


@dataclass(frozen=True)
class Duplicates:
    """Which sentences survive deduplication and where their dropped copies were."""

    pairs: list[tuple[int, int]]  # every verified near-duplicate pair
    keep: np.ndarray  # (n,) bool: the first copy of each cluster
    copies: dict[int, list[str]]  # kept sentence -> "doc_id:index" of each dropped copy
    label_conflicts: int  # dropped copies whose label differs from the kept one


def deduplicate(spill: SentenceSpill, labels: np.ndarray, config: DatasetConfig) -> Duplicates:
    """Drop exact and near duplicates: keep the first copy, record where the others were."""
    from training.dedup import clusters, verified_pairs

    n = spill.n
    doc, index = spill.column("doc"), spill.column("index")
    pairs = verified_pairs(spill.band_keys.candidates(), spill.fetch, config.dedup)
    rep = clusters(n, pairs)
    keep = rep == np.arange(n)
    copies: dict[int, list[str]] = {}
    label_conflicts = 0
    for j in np.flatnonzero(~keep).tolist():
        r = int(rep[j])
        copies.setdefault(r, []).append(f"{spill.doc_ids[doc[j]]}:{index[j]}")
        label_conflicts += int(labels[j] != labels[r])
    return Duplicates(pairs, keep, copies, label_conflicts)


def split_documents(doc_labels: dict[str, Counter[int]], config: DatasetConfig) -> dict[str, str]:
    """Assign whole documents to splits so each split's label mix follows the corpus.

    Documents are shuffled with the seed, then placed largest first into the split whose
    per-label shortfall against its target they reduce most.
    """
    rng = np.random.default_rng(config.seed)
    docs = sorted(doc_labels)
    rng.shuffle(docs)
    docs.sort(key=lambda d: -sum(doc_labels[d].values()))  # stable: ties keep the seeded order
    k = len(LABELS)
    totals = np.zeros(k)
    for counts in doc_labels.values():
        for c, n in counts.items():
            totals[c] += n
    shares = {
        "train": 1 - config.split.validation - config.split.test,
        "validation": config.split.validation,
        "test": config.split.test,
    }
    target = {s: totals * shares[s] for s in SPLITS}
    current = {s: np.zeros(k) for s in SPLITS}
    assignment: dict[str, str] = {}
    for d in docs:
        vec = np.zeros(k)
        for c, n in doc_labels[d].items():
            vec[c] += n
        best = min(SPLITS, key=lambda s: (_shortfall(target, current, vec, s), SPLITS.index(s)))
        assignment[d] = best
        current[best] += vec
    for s in ("validation", "test"):
        if not any(v == s for v in assignment.values()) and len(docs) >= 3:
            # Tiny corpora: make sure every split gets at least one document.
            donor = max((d for d in docs if assignment[d] == "train"), key=lambda d: (-sum(doc_labels[d].values()), d))
            assignment[donor] = s
    return assignment


def _shortfall(target: dict[str, np.ndarray], current: dict[str, np.ndarray], vec: np.ndarray, split: str) -> float:
    """Cost of placing a document's label counts ``vec`` in ``split``: squared relative shortfall left over."""
    after = {s: current[s] + (vec if s == split else 0) for s in SPLITS}
    return float(sum((((target[s] - after[s]) / np.maximum(target[s], 1)) ** 2).sum() for s in SPLITS))


@dataclass(frozen=True)
class Splits:
    """The split of every sentence and the label counts of every kept document."""

    row_split: np.ndarray  # (n,) int8 index into SPLITS, -1 for a dropped duplicate
    doc_labels: dict[str, Counter[int]]  # documents with a kept sentence


def assign_splits(spill: SentenceSpill, labels: np.ndarray, keep: np.ndarray, config: DatasetConfig) -> Splits:
    """Whole documents to splits, stratified by the labels of their kept sentences."""
    doc = spill.column("doc")
    kept = np.flatnonzero(keep)
    doc_labels: dict[str, Counter[int]] = {}
    for d, label_ in zip(doc[kept].tolist(), labels[kept].tolist()):
        doc_labels.setdefault(spill.doc_ids[d], Counter())[label_] += 1
    assignment = split_documents(doc_labels, config)
    doc_split = np.array([SPLITS.index(assignment[d]) if d in assignment else -1 for d in spill.doc_ids], dtype=np.int8)
    return Splits(np.where(keep, doc_split[doc], -1).astype(np.int8), doc_labels)


def audit_leakage(spill: SentenceSpill, dups: Duplicates, row_split: np.ndarray) -> dict[str, int]:
    """Leakage between splits, measured on the final rows rather than assumed from the construction."""
    doc, keep = spill.column("doc"), dups.keep
    kept = np.flatnonzero(keep)
    per_doc = np.bincount(
        doc[kept].astype(np.int64) * len(SPLITS) + row_split[kept], minlength=len(spill.doc_ids) * len(SPLITS)
    )
    several = int(((per_doc.reshape(-1, len(SPLITS)) > 0).sum(axis=1) > 1).sum())
    # Near-duplicate pairs among the kept rows come from the same detection run as the dedup:
    # any pair whose two rows both survived and sit in different splits is a leak.
    cross = sum(1 for i, j in dups.pairs if keep[i] and keep[j] and row_split[i] != row_split[j])
    return {"documents_in_several_splits": several, "near_duplicates_across_splits": cross}
