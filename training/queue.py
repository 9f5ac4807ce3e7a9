"""``stance queue``: the next batch of sentences to label, from a folder of unlabelled documents.

Documents are read and segmented exactly as ``build-dataset`` does, sentences that already have
gold are left out, a model scores the rest, and :mod:`training.selection` picks ``k`` uncertain
sentences spread over clusters and documents. Each row carries what an annotator needs (the
sentence, its neighbours, the model's guess) and what brings the label back (document id,
sentence index, offsets). Written as JSON lines, CSV, or a Label Studio import file.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from training.config import DatasetConfig
from training.errors import StanceError
from training.labels import LABELS

FORMATS = ("jsonl", "csv", "labelstudio")
RULES_MODEL = "rules"
DEFAULT_MODEL = "models/stance-classifier"
LS_FROM, LS_TO = "stance", "text"  # names of the Label Studio choices control and the text it labels


@dataclass(frozen=True)
class QueueOptions:
    """What ``stance queue`` was asked for."""

    folder: Path
    k: int
    out: Path
    model: str = DEFAULT_MODEL
    measure: str = "margin"
    per_doc: int | None = 5
    format: str | None = None
    seed: int = 42
    context: int = 2


def output_format(opts: QueueOptions) -> str:
    """The format asked for, or the one the output suffix names (.csv, .json for Label Studio)."""
    if opts.format:
        return opts.format
    return {".csv": "csv", ".json": "labelstudio"}.get(opts.out.suffix.lower(), "jsonl")


def check_options(opts: QueueOptions, config: DatasetConfig) -> None:
    """Refuse impossible options before any document is read."""
    from training.atomic import check_output_path
    from training.selection import MEASURES

    problems = []
    if opts.k < 1:
        problems.append(f"invalid --k {opts.k} (ask for at least one sentence)")
    if opts.per_doc is not None and opts.per_doc < 1:
        problems.append(f"invalid --per-doc {opts.per_doc} (at least 1, or leave it out for no cap)")
    if opts.measure not in MEASURES:
        problems.append(f"unknown --by {opts.measure!r} (use one of {', '.join(MEASURES)})")
    if opts.format is not None and opts.format not in FORMATS:
        problems.append(f"unknown --format {opts.format!r} (use one of {', '.join(FORMATS)})")
    if problems:
        raise StanceError(*problems)
    check_output_path(opts.out, "--out")
    out, folder = Path(os.path.realpath(opts.out)), Path(os.path.realpath(opts.folder))
    if folder in out.parents and opts.out.suffix.lower() in config.reader.extensions:
        raise StanceError(
            f"--out {opts.out} is inside the document folder {opts.folder}, where the next build-dataset "
            "would read it as a document (write the queue somewhere else)"
        )
    if opts.model != RULES_MODEL:
        from training.predict import check_model_location

        try:
            check_model_location(opts.model)
        except StanceError:
            raise StanceError(
                f"model not found: {opts.model} (run `stance train` first, pass --model with an export "
                "or an MLflow model URI, or start with --model rules)"
            ) from None


def collect(folder: Path, config: DatasetConfig) -> tuple[list[dict[str, Any]], dict[str, list[str]], int]:
    """Unlabelled sentences of every document, each document's sentences, and how many had gold."""
    from training.corpus import list_documents, read_file
    from training.labeling import gold_key, index_gold, read_gold
    from training.segment import segment

    files = list_documents(folder, config.reader)
    gold = index_gold(read_gold(folder, config.reader))
    rows: list[dict[str, Any]] = []
    sentences: dict[str, list[str]] = {}
    labelled = 0
    for path in files:
        for doc in read_file(path, folder, config.reader):
            spans = list(segment(doc.text, config.cleaning, config.segmentation, doc.markdown))
            sentences[doc.doc_id] = [s.text for s in spans]
            for span in spans:
                if (doc.doc_id, gold_key(span.text)) in gold:
                    labelled += 1
                    continue
                rows.append(
                    {
                        "id": f"{doc.doc_id}#{span.index}",
                        "doc_id": doc.doc_id,
                        "sentence_index": span.index,
                        "start": span.start,
                        "end": span.end,
                        "text": span.text,
                    }
                )
    return rows, sentences, labelled


def score(model: str, texts: Sequence[str], config: DatasetConfig) -> Any:
    """``(n, 3)`` probabilities of favor, against, neutral from a model or the labelling functions."""
    import numpy as np

    if model == RULES_MODEL:
        from training.labeling import apply_lfs

        # Vote counts with one extra vote per label: three agreeing functions make a surer guess
        # than one, which the plain vote share (1.0 either way) would hide from the ranking.
        votes = apply_lfs(list(texts), config.labeling)
        counts = np.stack([(votes == c).sum(axis=1) for c in range(len(LABELS))], axis=1) + 1.0
        return counts / counts.sum(axis=1, keepdims=True)
    from training.predict import load_model

    loaded = load_model(model)
    if set(loaded.labels) != set(LABELS):
        raise StanceError(
            f"labels do not match: {model} predicts {list(loaded.labels)}, not {', '.join(LABELS)} "
            "(pass a stance model with --model)"
        )
    return np.asarray(loaded.predict_proba_array(list(texts)))


def build_queue(opts: QueueOptions, config: DatasetConfig) -> list[dict[str, Any]]:
    """The chosen rows, most uncertain cluster first, with context, guess and probabilities."""
    from training.selection import embed, select, uncertainty

    check_options(opts, config)
    rows, sentences, labelled = collect(opts.folder, config)
    if not rows:
        raise StanceError(
            f"nothing left to label in {opts.folder}: all {labelled} sentences have gold labels "
            "(add documents, or build the dataset and train)"
        )
    proba = score(opts.model, [r["text"] for r in rows], config)
    unsure = uncertainty(proba, opts.measure)
    emb = embed([r["text"] for r in rows], opts.seed)
    picks = select(unsure, emb, [r["doc_id"] for r in rows], opts.k, opts.seed, per_group=opts.per_doc)
    out = []
    for rank, (i, cluster) in enumerate(picks, 1):
        row, doc = dict(rows[i]), sentences[rows[i]["doc_id"]]
        at = row["sentence_index"]
        row["before"] = doc[max(0, at - opts.context) : at]
        row["after"] = doc[at + 1 : at + 1 + opts.context]
        row["guess"] = LABELS[int(proba[i].argmax())]
        row["probabilities"] = {label: round(float(p), 6) for label, p in zip(LABELS, proba[i])}
        row.update(uncertainty=round(float(unsure[i]), 6), cluster=cluster, rank=rank, model=opts.model)
        out.append(row)
    return out


def render(rows: list[dict[str, Any]], fmt: str) -> str:
    """The queue as JSON lines, CSV, or a Label Studio import file (a JSON list of tasks)."""
    if fmt == "jsonl":
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    if fmt == "csv":
        buf = io.StringIO()
        cols = [
            "id",
            "doc_id",
            "sentence_index",
            "start",
            "end",
            "text",
            "before",
            "after",
            "guess",
            *(f"p_{label}" for label in LABELS),
            "uncertainty",
            "cluster",
            "rank",
            "label",
        ]
        writer = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
        writer.writeheader()
        for r in rows:
            flat = {k: v for k, v in r.items() if k in cols}
            flat.update(
                before=" ".join(r["before"]),
                after=" ".join(r["after"]),
                label="",
                **{f"p_{label}": r["probabilities"][label] for label in LABELS},
            )
            writer.writerow(flat)
        return buf.getvalue()
    return json.dumps([_task(r) for r in rows], ensure_ascii=False, indent=1) + "\n"


def _task(row: dict[str, Any]) -> dict[str, Any]:
    """One Label Studio task: the sentence with its context, and the model's guess as a prediction."""
    data = {k: row[k] for k in ("id", "doc_id", "sentence_index", "start", "end", "text")}
    data.update(before=" ".join(row["before"]), after=" ".join(row["after"]), stance_queue=1)
    prediction = {
        "model_version": str(row.get("model", "")),
        "score": round(1 - row["uncertainty"], 6),
        "result": [{"from_name": LS_FROM, "to_name": LS_TO, "type": "choices", "value": {"choices": [row["guess"]]}}],
    }
    return {"data": data, "predictions": [prediction]}


def summary(rows: list[dict[str, Any]], out: Path) -> str:
    """One line: how many sentences from how many documents, and the model's guesses."""
    docs = len({r["doc_id"] for r in rows})
    guesses = ", ".join(f"{g} {sum(r['guess'] == g for r in rows)}" for g in LABELS)
    return f"wrote {len(rows)} sentences from {docs} documents to {out} (model's guesses: {guesses})"


def write_queue(rows: list[dict[str, Any]], out: Path, fmt: str) -> None:
    """Write the queue atomically."""
    from training.atomic import atomic_file

    with atomic_file(out) as fh:
        fh.write(render(rows, fmt))


def read_queue(path: Path) -> list[dict[str, Any]]:
    """Rows of a JSON-lines queue (``stance queue``, ``agreement`` or ``audit-labels``), checked."""
    from training import jsonl

    if path.suffix.lower() in (".csv", ".json"):
        raise StanceError(
            f"not a JSON-lines queue: {path} (annotate reads .jsonl queues; the .csv and Label Studio "
            "files are for other tools, whose labels come back with `stance import-labels`)"
        )
    text = jsonl.read_utf8(
        path, f"queue not found: {path} (write one with `stance queue`)", "write it again with `stance queue`"
    )
    from training.labeling import gold_key

    rows, seen = [], set()
    for lineno, row in jsonl.objects(text, path):
        index = row.get("sentence_index") if isinstance(row, dict) else None
        if (
            not isinstance(row, dict)
            or not isinstance(row.get("text"), str)
            or not isinstance(row.get("doc_id"), str)
            or not (index is None or isinstance(index, int))
        ):
            raise StanceError(
                f"not a queue row: {path}:{lineno} needs 'text' and 'doc_id' (and an integer 'sentence_index' "
                "if any) (write the queue with `stance queue`)"
            )
        key = (row["doc_id"], gold_key(row["text"]))
        if key not in seen:
            seen.add(key)
            rows.append(row)
    if not rows:
        raise StanceError(f"empty queue: {path} has no rows (write one with `stance queue`)")
    return rows
