"""``stance build-dataset``: documents in, a labelled, split, fingerprinted DatasetDict out.

Stages: read and segment documents, join gold labels, weak-label the rest, drop exact and
near duplicates, split by document with label stratification, audit leakage, save atomically.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from training.config import LABELS, DatasetConfig, config_hash
from training.corpus import Document, list_documents, read_file, read_hf
from training.errors import StanceError
from training.labeling import gold_key, index_gold, lf_analysis, read_gold, weak_labels
from training.segment import segment

INFO_FILE = "stance_dataset.json"
LF_FILE = "lf_analysis.csv"
SPLITS = ("train", "validation", "test")
METADATA_COLUMNS = ("id", "title", "episode", "countries", "date", "register", "origin")


@dataclass
class Rows:
    """Sentences in columns, the layout both the label model and ``datasets`` want."""

    text: list[str] = field(default_factory=list)
    doc_id: list[str] = field(default_factory=list)
    sentence_index: list[int] = field(default_factory=list)
    start: list[int] = field(default_factory=list)
    end: list[int] = field(default_factory=list)

    def add_document(self, doc: Document, config: DatasetConfig) -> None:
        for span in segment(doc.text, config.cleaning, config.segmentation, doc.markdown):
            self.text.append(span.text)
            self.doc_id.append(doc.doc_id)
            self.sentence_index.append(span.index)
            self.start.append(span.start)
            self.end.append(span.end)


@dataclass(frozen=True)
class BuildResult:
    """What a build produced, for the CLI to print."""

    out: Path
    fingerprint: str
    info: dict[str, Any]
    lf_table: list[dict[str, Any]]


def read_metadata(path: Path) -> dict[str, dict[str, str]]:
    """One row per document id; a missing column or id is an error naming the line."""
    if not path.exists():
        return {}
    from training.corpus import decode

    rows = csv.DictReader(decode(path.read_bytes(), str(path)).splitlines())
    missing = [c for c in ("id", "episode", "register") if c not in (rows.fieldnames or [])]
    if missing:
        raise StanceError(f"missing column: {path}:1 lacks {', '.join(missing)} (header: {', '.join(METADATA_COLUMNS)})")
    out: dict[str, dict[str, str]] = {}
    for row in rows:
        if not row.get("id"):
            raise StanceError(f"metadata row without id: {path}:{rows.line_num} (fill the id column)")
        out[row["id"]] = {k: (v or "") for k, v in row.items() if k}
    return out


def read_agreement(path: Path) -> dict[str, Any] | None:
    """Cohen's kappa between the two independent labelling passes recorded in ``path``."""
    if not path.exists():
        return None
    from sklearn.metrics import cohen_kappa_score

    from training.corpus import jsonl_objects

    first, second, adjudicated, docs = [], [], 0, set()
    for lineno, row in jsonl_objects(path.read_text(encoding="utf-8"), path):
        if not isinstance(row, dict) or row.get("first") not in LABELS or row.get("second") not in LABELS:
            raise StanceError(f"unknown label: {path}:{lineno} (fields 'first' and 'second' take {', '.join(LABELS)})")
        first.append(row["first"])
        second.append(row["second"])
        docs.add(row.get("doc_id"))
        adjudicated += row["first"] != row["second"]
    if not first:
        return None
    confusion = {a: {b: sum(1 for x, y in zip(first, second) if x == a and y == b) for b in LABELS} for a in LABELS}
    return {
        "sentences": len(first),
        "documents": len(docs),
        "kappa": float(cohen_kappa_score(first, second, labels=list(LABELS))),
        "observed_agreement": sum(a == b for a, b in zip(first, second)) / len(first),
        "disagreements": adjudicated,
        "confusion": confusion,
    }


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
    shares = {"train": 1 - config.split.validation - config.split.test, "validation": config.split.validation, "test": config.split.test}
    target = {s: totals * shares[s] for s in SPLITS}
    current = {s: np.zeros(k) for s in SPLITS}
    assignment: dict[str, str] = {}
    for d in docs:
        vec = np.zeros(k)
        for c, n in doc_labels[d].items():
            vec[c] += n
        # Cost of each choice: squared relative shortfall left over after placing the document.
        def cost(split: str) -> float:
            after = {s: current[s] + (vec if s == split else 0) for s in SPLITS}
            return float(sum((((target[s] - after[s]) / np.maximum(target[s], 1)) ** 2).sum() for s in SPLITS))

        best = min(SPLITS, key=lambda s: (cost(s), SPLITS.index(s)))
        assignment[d] = best
        current[best] += vec
    for s in ("validation", "test"):
        if not any(v == s for v in assignment.values()) and len(docs) >= 3:
            # Tiny corpora: make sure every split gets at least one document.
            donor = max((d for d in docs if assignment[d] == "train"), key=lambda d: (-sum(doc_labels[d].values()), d))
            assignment[donor] = s
    return assignment


def fingerprint(columns: dict[str, list[Any]], splits: list[str], cfg_hash: str) -> str:
    """sha256 over every row (in split order) and the config hash."""
    h = hashlib.sha256(cfg_hash.encode())
    names = sorted(columns)
    for i in range(len(splits)):
        row = [splits[i]] + [columns[n][i] for n in names]
        h.update(json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode())
        h.update(b"\n")
    return h.hexdigest()


def _replace_dir(tmp: Path, out: Path) -> None:
    """Swap ``tmp`` in for ``out``; the old directory is removed only after the swap."""
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    if out.exists():
        os.replace(out, old)
    try:
        os.replace(tmp, out)
    except OSError:
        if old.exists():
            os.replace(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def build_dataset(
    config: DatasetConfig,
    seeds: Path | None = None,
    out: Path | None = None,
    hf: str | None = None,
    text_column: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BuildResult:
    """Build the dataset described by ``config`` and save it to ``out`` (atomically)."""
    import datasets
    import pyarrow as pa

    from training.card import render_card

    datasets.disable_progress_bars()  # our own progress bar is on stderr already
    from training.dedup import clusters, near_duplicate_pairs

    seeds = Path(seeds or config.seeds_dir)
    out = Path(out or config.out_dir)
    reader = config.reader if text_column is None else config.reader.model_copy(update={"text_column": text_column})
    rows = Rows()
    gold_rows = []
    metadata: dict[str, dict[str, str]] = {}
    agreement = None
    if hf:
        docs = list(read_hf(hf, reader.text_column, reader.id_column))
        for i, doc in enumerate(docs, 1):
            rows.add_document(doc, config)
            if progress:
                progress(i, len(docs))
        sources = [hf]
    else:
        files = list_documents(seeds, reader)
        gold_rows = read_gold(seeds, reader)
        metadata = read_metadata(seeds / reader.metadata_file)
        agreement = read_agreement(seeds / reader.agreement_file)
        for i, path in enumerate(files, 1):
            for doc in read_file(path, seeds, reader):
                rows.add_document(doc, config)
            if progress:
                progress(i, len(files))
        sources = [str(seeds)]
    n = len(rows.text)
    if n == 0:
        raise StanceError(f"no sentences found in {hf or seeds} (the documents are empty after cleaning)")

    # Gold labels: every annotation must match a sentence of its document.
    gold_index = index_gold(gold_rows)
    lookup = {label: i for i, label in enumerate(LABELS)}
    gold = np.full(n, -1, dtype=np.int64)
    matched: set[tuple[str, str]] = set()
    for i in range(n):
        key = (rows.doc_id[i], gold_key(rows.text[i]))
        row = gold_index.get(key)
        if row is not None:
            gold[i] = lookup[row.label]
            matched.add(key)
    unmatched = [r for k, r in gold_index.items() if k not in matched]
    if unmatched:
        raise StanceError(*(f"annotation matches no sentence: {r.where}: {r.text[:70]!r} (run `stance segment` on {r.doc_id} to see its sentences)" for r in unmatched))

    weak, votes = weak_labels(rows.text, gold, config.labeling)
    lf_table = lf_analysis(votes, gold)
    labels = np.where(gold >= 0, gold, weak.labels)
    source = np.where(gold >= 0, "gold", "weak")
    confidence = np.where(gold >= 0, 1.0, weak.confidence)

    # Duplicates: keep the first copy, record where the others were.
    pairs = near_duplicate_pairs(rows.text, config.dedup, config.seed)
    rep = clusters(n, pairs)
    keep = rep == np.arange(n)
    copies: dict[int, list[str]] = {}
    label_conflicts = 0
    for i in np.nonzero(~keep)[0]:
        copies.setdefault(int(rep[i]), []).append(f"{rows.doc_id[i]}:{rows.sentence_index[i]}")
        label_conflicts += int(labels[i] != labels[rep[i]])

    kept = np.nonzero(keep)[0]
    doc_labels: dict[str, Counter[int]] = {}
    for i in kept:
        doc_labels.setdefault(rows.doc_id[i], Counter())[int(labels[i])] += 1
    assignment = split_documents(doc_labels, config)

    meta_get = lambda d, k: metadata.get(d, {}).get(k, "")  # noqa: E731
    columns: dict[str, list[Any]] = {
        "text": [rows.text[i] for i in kept],
        "label": [int(labels[i]) for i in kept],
        "doc_id": [rows.doc_id[i] for i in kept],
        "sentence_index": [rows.sentence_index[i] for i in kept],
        "start": [rows.start[i] for i in kept],
        "end": [rows.end[i] for i in kept],
        "label_source": [str(source[i]) for i in kept],
        "confidence": [round(float(confidence[i]), 6) for i in kept],
        "episode": [meta_get(rows.doc_id[i], "episode") for i in kept],
        "register": [meta_get(rows.doc_id[i], "register") for i in kept],
        "duplicates": [copies.get(int(i), []) for i in kept],
    }
    row_split = [assignment[d] for d in columns["doc_id"]]
    order = sorted(range(len(kept)), key=lambda r: (SPLITS.index(row_split[r]), r))
    columns = {k: [v[r] for r in order] for k, v in columns.items()}
    row_split = [row_split[r] for r in order]

    # Leakage audit, measured on the final rows rather than assumed from the construction.
    split_of_doc: dict[str, set[str]] = {}
    for d, s in zip(columns["doc_id"], row_split):
        split_of_doc.setdefault(d, set()).add(s)
    # Near-duplicate pairs among the kept rows come from the same detection run as the dedup:
    # any pair whose two rows both survived and sit in different splits is a leak.
    split_of_row = {int(kept[r]): row_split[pos] for pos, r in enumerate(order)}
    cross_pairs = [(i, j) for i, j in pairs if i in split_of_row and j in split_of_row and split_of_row[i] != split_of_row[j]]
    audit = {
        "documents_in_several_splits": sum(len(s) > 1 for s in split_of_doc.values()),
        "near_duplicates_across_splits": len(cross_pairs),
    }

    cfg_hash = config_hash(config)
    fp = fingerprint(columns, row_split, cfg_hash)
    features = datasets.Features({
        "text": datasets.Value("string"),
        "label": datasets.ClassLabel(names=list(LABELS)),
        "doc_id": datasets.Value("string"),
        "sentence_index": datasets.Value("int32"),
        "start": datasets.Value("int64"),
        "end": datasets.Value("int64"),
        "label_source": datasets.Value("string"),
        "confidence": datasets.Value("float64"),
        "episode": datasets.Value("string"),
        "register": datasets.Value("string"),
        "duplicates": datasets.Sequence(datasets.Value("string")),
    })
    bounds = {s: [r for r, x in enumerate(row_split) if x == s] for s in SPLITS}
    dd = datasets.DatasetDict({
        # Straight to Arrow with the final schema: from_dict would encode every row in Python.
        s: datasets.Dataset(
            pa.Table.from_pydict({k: v[idx[0] : idx[-1] + 1] if idx else [] for k, v in columns.items()}, schema=features.arrow_schema),
            info=datasets.DatasetInfo(features=features),
        )
        for s, idx in bounds.items()
    })
    info: dict[str, Any] = {
        "fingerprint": fp,
        "config_hash": cfg_hash,
        "seed": config.seed,
        "sources": sources,
        "sentences_segmented": n,
        "duplicates_dropped": int((~keep).sum()),
        "duplicate_label_conflicts": label_conflicts,
        "label_model": weak.model,
        "label_model_gold_macro_f1": weak.gold_scores,
        "splits": {s: len(idx) for s, idx in bounds.items()},
        "leakage": audit,
        "agreement": agreement,
        "labeling": config.labeling.model_dump(mode="json"),
        "documents": len(doc_labels),
        "episodes": len({e for e in columns["episode"] if e}),
        "metadata_documents": len(metadata),
        "hard_cases": _hard_cases(gold_rows),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        # One shard per split: ``datasets`` cannot load back a split saved with zero shards.
        dd.save_to_disk(str(tmp), num_shards={s: 1 for s in dd})
        (tmp / INFO_FILE).write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        with open(tmp / LF_FILE, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(lf_table[0]))
            writer.writeheader()
            writer.writerows(lf_table)
        by_split = {split: {k: columns[k][idx[0] : idx[-1] + 1] if idx else [] for k in ("label", "label_source", "episode", "register")}
                    for split, idx in bounds.items()}
        (tmp / "README.md").write_text(render_card(by_split, info, lf_table), encoding="utf-8")
        _replace_dir(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return BuildResult(out, fp, info, lf_table)


def _hard_cases(rows: list[Any]) -> dict[str, Any]:
    """Favor and against gold sentences whose note tags them as hard (``hard:<kind>``)."""
    polar = [r for r in rows if r.label != "neutral"]
    kinds = Counter(r.note.split()[0].removeprefix("hard:") for r in polar if r.note.startswith("hard:"))
    return {"polar": len(polar), "hard": sum(kinds.values()), "by_kind": dict(sorted(kinds.items()))}


def load_built(path: str | Path) -> tuple[Any, dict[str, Any]]:
    """Load a dataset saved by :func:`build_dataset` with its info (fingerprint, config hash)."""
    import datasets

    path = Path(path)
    info_path = path / INFO_FILE
    if not info_path.exists():
        raise StanceError(f"not a stance dataset: {path} has no {INFO_FILE} (run `stance build-dataset` first)")
    info = json.loads(info_path.read_text(encoding="utf-8"))
    return datasets.load_from_disk(str(path)), info
