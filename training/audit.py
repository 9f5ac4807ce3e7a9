"""``stance audit-labels``: gold labels that are likely wrong, as a review queue for ``annotate``.

Every gold sentence of a built dataset (all splits) gets out-of-fold probabilities from a word
TF-IDF + logistic regression model, with folds grouped by episode (by document where the
metadata names no episode), so no sentence is scored by a model that saw its own story.
Confident learning (cleanlab's ``find_label_issues``) then flags the sentences whose given label
the model finds improbable beyond what each class's noise rate explains, ranked by the model's
confidence in the given label, lowest first.

cleanlab is used rather than a re-implementation: its estimate of the joint distribution of
given and true labels, and its pruning by noise rate, are what keep a class the model is simply
weak on from flooding the list.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from training.errors import StanceError
from training.labels import LABELS


def gold_rows(dataset: Path) -> list[dict[str, Any]]:
    """Every gold row of a built dataset, with its split."""
    from training.dataset import SPLITS, load_built

    dd, _ = load_built(dataset)
    names = dd["train"].features["label"].names
    rows = []
    for split in SPLITS:
        for r in dd[split]:
            if r["label_source"] == "gold":
                rows.append(
                    {
                        "text": r["text"],
                        "label": names[r["label"]],
                        "doc_id": r["doc_id"],
                        "sentence_index": r["sentence_index"],
                        "start": r["start"],
                        "end": r["end"],
                        "episode": r["episode"],
                        "split": split,
                    }
                )
    return rows


def groups_of(rows: list[dict[str, Any]]) -> tuple[np.ndarray, str]:
    """Episode of every row when the metadata names one for each, else the document."""
    if all(r["episode"] for r in rows):
        return np.array([r["episode"] for r in rows], dtype=object), "episode"
    return np.array([r["doc_id"] for r in rows], dtype=object), "document"


def out_of_fold(texts: list[str], labels: np.ndarray, groups: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """``(n, 3)`` probabilities, each row from a model fitted without the row's group."""
    from sklearn.model_selection import StratifiedGroupKFold

    from training.classifiers import assemble, build_classifier, build_features

    n_groups = len(set(groups.tolist()))
    if n_groups < folds:
        raise StanceError(
            f"too few groups for --folds {folds}: the gold sentences come from {n_groups} "
            f"episodes or documents (pass --folds {max(2, n_groups)} or fewer, or label more documents)"
        )
    proba = np.zeros((len(texts), len(LABELS)))
    cv = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, held in cv.split(np.zeros(len(texts)), labels, groups):
        model = assemble(build_features("word", {}), build_classifier("logreg", {"C": 2.0, "tol": 1e-4}, seed))
        model.fit([texts[i] for i in train], [LABELS[c] for c in labels[train]])
        cols = [LABELS.index(c) for c in model.classes_]
        proba[np.ix_(held, cols)] = model.predict_proba([texts[i] for i in held])
    return proba


def find_issues(labels: np.ndarray, proba: np.ndarray) -> np.ndarray:
    """Row numbers of likely label errors, most likely first (cleanlab, ranked by self-confidence)."""
    from cleanlab.filter import find_label_issues

    if len(set(labels.tolist())) < len(LABELS):
        raise StanceError(
            "the gold labels do not cover favor, against and neutral (label sentences of every kind first)"
        )
    return np.asarray(
        find_label_issues(labels, proba, return_indices_ranked_by="self_confidence", n_jobs=1), dtype=np.int64
    )


def audit(dataset: Path, folds: int = 5, seed: int = 42, limit: int | None = None) -> dict[str, Any]:
    """The review rows (likely errors first) and what the audit measured."""
    rows = gold_rows(dataset)
    if len(rows) < 2 * folds:
        raise StanceError(f"too few gold sentences to audit: {len(rows)} in {dataset} (label more first)")
    labels = np.array([LABELS.index(r["label"]) for r in rows])
    groups, grouped_by = groups_of(rows)
    proba = out_of_fold([r["text"] for r in rows], labels, groups, folds, seed)
    issues = find_issues(labels, proba)
    context = _context(rows)
    review = []
    for rank, i in enumerate(issues[:limit] if limit else issues, 1):
        r = rows[i]
        suggested = LABELS[int(proba[i].argmax())]
        row = {k: r[k] for k in ("doc_id", "sentence_index", "start", "end", "text")}
        row.update(
            context[i],
            given=r["label"],
            guess=suggested,
            rank=rank,
            probabilities={lab: round(float(p), 6) for lab, p in zip(LABELS, proba[i])},
            self_confidence=round(float(proba[i, labels[i]]), 6),
            note=f"gold says {r['label']}; out-of-fold model says {suggested} "
            f"({proba[i].max():.2f}; {proba[i, labels[i]]:.2f} for {r['label']})",
        )
        review.append(row)
    accuracy = float((proba.argmax(axis=1) == labels).mean())
    return {
        "rows": review,
        "gold": len(rows),
        "issues": len(issues),
        "grouped_by": grouped_by,
        "groups": len(set(groups.tolist())),
        "oof_accuracy": accuracy,
    }


def _context(rows: list[dict[str, Any]], width: int = 2) -> list[dict[str, list[str]]]:
    """The neighbouring gold sentences of each row in its document."""
    by_doc: dict[str, dict[int, str]] = {}
    for r in rows:
        by_doc.setdefault(r["doc_id"], {})[r["sentence_index"]] = r["text"]
    out = []
    for r in rows:
        doc, at = by_doc[r["doc_id"]], r["sentence_index"]
        out.append(
            {
                "before": [doc[j] for j in range(at - width, at) if j in doc],
                "after": [doc[j] for j in range(at + 1, at + 1 + width) if j in doc],
            }
        )
    return out


def write_review(rows: list[dict[str, Any]], out: Path) -> None:
    """The review queue as JSON lines, written atomically."""
    from training.atomic import atomic_file

    with atomic_file(out) as fh:
        fh.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
