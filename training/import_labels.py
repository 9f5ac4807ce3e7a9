"""``stance import-labels``: labels from Label Studio, CSV or JSON lines back into gold files.

Every label is matched to a sentence of the document folder as the builder segments it (by
document id and text), then written to that document's ``<stem>.gold.jsonl``, next to labels
already there. Unknown labels, labels that match no sentence and sentences given two different
labels are listed, one line each, and nothing is written until they are fixed, or unless
``skip_bad`` is set (then they are left out and listed as warnings).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from training.config import DatasetConfig
from training.errors import StanceError
from training.labels import LABELS


@dataclass(frozen=True)
class Label:
    """One imported label and where it came from."""

    doc_id: str
    text: str
    label: str
    where: str
    annotator: str = ""


def _read_text(path: Path) -> str:
    from training import jsonl

    return jsonl.read_utf8(
        path, f"labels not found: {path} (pass an export of Label Studio, a CSV or a JSON-lines file)"
    )


def _annotator(annotation: dict[str, Any]) -> str:
    who = annotation.get("completed_by")
    if isinstance(who, dict):
        return str(who.get("email") or who.get("id") or "")
    return "" if who is None else str(who)


def label_studio(path: Path) -> Iterator[Label]:
    """Labels of a Label Studio JSON export of a project created from a ``stance queue`` file."""
    from training import jsonl
    from training.queue import LS_FROM

    try:
        tasks = jsonl.strict_loads(_read_text(path))
    except ValueError as exc:
        raise StanceError(
            f"malformed JSON: {path}: {getattr(exc, 'msg', exc)} (export the project again as JSON)"
        ) from None
    ours = isinstance(tasks, list) and all(
        isinstance(t, dict)
        and isinstance(t.get("data"), dict)
        and isinstance(t["data"].get("doc_id"), str)
        and isinstance(t["data"].get("text"), str)
        for t in tasks
    )
    if not ours or not tasks:
        raise StanceError(
            f"not a stance Label Studio export: {path} (its tasks lack data.doc_id and data.text; "
            "export the project that was created from a `stance queue --format labelstudio` file)"
        )
    for number, task in enumerate(tasks, 1):
        annotations = [a for a in task.get("annotations") or [] if isinstance(a, dict) and not a.get("was_cancelled")]
        for annotation in annotations[-1:]:  # the latest answer of the task
            for result in annotation.get("result") or []:
                if result.get("from_name") != LS_FROM:
                    raise StanceError(
                        f"not a stance Label Studio export: {path} task {number} answers "
                        f"{result.get('from_name')!r}, not {LS_FROM!r} (use the labelling config in the README)"
                    )
                choices = (result.get("value") or {}).get("choices") or [None]
                yield Label(
                    task["data"]["doc_id"],
                    task["data"]["text"],
                    str(choices[0]),
                    f"{path} task {number}",
                    _annotator(annotation),
                )


def jsonl_labels(path: Path) -> Iterator[Label]:
    """Labels of a JSON-lines file: ``text``, ``label``, ``doc_id`` (annotate's output, or queue rows with a label)."""
    from training import jsonl

    for lineno, row in jsonl.objects(_read_text(path), path):
        if not isinstance(row, dict) or not isinstance(row.get("text"), str):
            raise StanceError(f"not a label row: {path}:{lineno} needs a string 'text' (and 'label', 'doc_id')")
        if row.get("label") in (None, ""):
            continue  # a queue row nobody labelled yet
        yield Label(
            str(row.get("doc_id") or ""),
            row["text"],
            str(row["label"]),
            f"{path}:{lineno}",
            str(row.get("annotator") or ""),
        )


def csv_labels(path: Path) -> Iterator[Label]:
    """Labels of a CSV file with the columns ``text`` and ``label`` (``doc_id`` and ``annotator`` optional)."""
    rows = csv.DictReader(io.StringIO(_read_text(path), newline=""))
    missing = [c for c in ("text", "label") if c not in (rows.fieldnames or [])]
    if missing:
        raise StanceError(
            f"missing column: {path}:1 has no {', '.join(missing)} (columns: {', '.join(rows.fieldnames or [])})"
        )
    for row in rows:
        if (row.get("label") or "").strip():
            yield Label(
                row.get("doc_id") or "",
                row["text"] or "",
                row["label"].strip(),
                f"{path}:{rows.line_num}",
                row.get("annotator") or "",
            )


def read_labels(path: Path) -> list[Label]:
    """Labels of one file, by its suffix: .json (Label Studio), .csv, anything else JSON lines."""
    suffix = path.suffix.lower()
    reader = label_studio if suffix == ".json" else csv_labels if suffix == ".csv" else jsonl_labels
    return list(reader(path))


def _sentences(folder: Path, config: DatasetConfig) -> dict[tuple[str, str], tuple[str, Path]]:
    """(doc id, text key) -> (the sentence as segmented, the gold file of its document)."""
    from training.corpus import list_documents, read_file
    from training.labeling import gold_key
    from training.segment import segment

    out: dict[tuple[str, str], tuple[str, Path]] = {}
    for path in list_documents(folder, config.reader):
        gold = path.with_name(path.stem + config.reader.gold_suffix)
        for doc in read_file(path, folder, config.reader):
            for span in segment(doc.text, config.cleaning, config.segmentation, doc.markdown):
                out.setdefault((doc.doc_id, gold_key(span.text)), (span.text, gold))
    return out


def _match(
    labels: list[Label],
    sentences: dict[tuple[str, str], tuple[str, Path]],
    existing: dict[tuple[str, str], Any],
    replace: bool,
) -> tuple[dict[tuple[str, str], Label], list[str]]:
    """The label of each matched sentence, and one line per problem."""
    from training.labeling import gold_key

    by_text: dict[str, list[tuple[str, str]]] = {}
    for key in sentences:
        by_text.setdefault(key[1], []).append(key)
    chosen: dict[tuple[str, str], Label] = {}
    problems, bad = [], set()
    for lab in labels:
        if lab.label not in LABELS:
            problems.append(f"unknown label {lab.label!r}: {lab.where} (use one of {', '.join(LABELS)})")
            continue
        text = gold_key(lab.text)
        keys = [(lab.doc_id, text)] if lab.doc_id else by_text.get(text, [])
        if len(keys) != 1 or keys[0] not in sentences:
            problems.append(
                f"matches no sentence: {lab.where}: {lab.text[:60]!r} in {lab.doc_id or 'any document'} "
                "(check the document id and text against `stance segment`)"
            )
            continue
        key = keys[0]
        seen = chosen.get(key)
        old = existing.get(key)
        if seen is not None and seen.label != lab.label:
            problems.append(
                f"conflicting labels: {seen.where} says {seen.label}, {lab.where} says {lab.label} "
                f"for {lab.text[:60]!r} (keep one, or adjudicate with `stance agreement`)"
            )
            bad.add(key)
        elif old is not None and old.label != lab.label and not replace:
            problems.append(
                f"conflicting labels: {old.where} already says {old.label}, {lab.where} says {lab.label} "
                f"for {lab.text[:60]!r} (pass --replace to overwrite gold)"
            )
            bad.add(key)
        chosen.setdefault(key, lab)
    return {k: v for k, v in chosen.items() if k not in bad}, problems


def import_labels(
    files: list[Path], folder: Path, config: DatasetConfig, skip_bad: bool = False, replace: bool = False
) -> dict[str, Any]:
    """Check every label, then write the gold files; returns counts and the problems skipped."""
    from training.labeling import index_gold, read_gold

    labels = [lab for path in files for lab in read_labels(path)]
    sentences = _sentences(folder, config)
    existing = index_gold(read_gold(folder, config.reader))
    chosen, problems = _match(labels, sentences, existing, replace)
    if problems and not skip_bad:
        raise StanceError(*problems, f"nothing was written: fix the {len(problems)} problems above, or pass --skip-bad")
    new = {k: lab for k, lab in chosen.items() if k not in existing or existing[k].label != lab.label}
    files_written = _write(new, sentences, existing, config)
    return {
        "labels": len(labels),
        "written": len(new),
        "unchanged": len(chosen) - len(new),
        "files": files_written,
        "problems": problems,
    }


def _write(
    new: dict[tuple[str, str], Label],
    sentences: dict[tuple[str, str], tuple[str, Path]],
    existing: dict[tuple[str, str], Any],
    config: DatasetConfig,
) -> list[Path]:
    """Rewrite each touched gold file: its earlier lines (minus replaced ones), then the new labels."""
    from training.atomic import atomic_file

    touched: dict[Path, list[tuple[tuple[str, str], Label]]] = {}
    for key, lab in sorted(new.items()):
        touched.setdefault(sentences[key][1], []).append((key, lab))
    for gold, items in touched.items():
        replaced = {key for key, _ in items if key in existing}
        lines = _kept_lines(gold, replaced) if gold.exists() else []
        for key, lab in items:
            record = {"text": sentences[key][0], "label": lab.label, "doc_id": key[0]}
            if lab.annotator:
                record["annotator"] = lab.annotator
            lines.append(json.dumps(record, ensure_ascii=False))
        with atomic_file(gold) as fh:
            fh.write("".join(line + "\n" for line in lines))
    return sorted(touched)


def _kept_lines(gold: Path, replaced: set[tuple[str, str]]) -> list[str]:
    """The lines of an existing gold file, without those whose sentence gets a new label.

    A gold file belongs to one document file, so a line is matched on its text, and on its
    ``doc_id`` where it names one.
    """
    from training import jsonl
    from training.labeling import gold_key

    kept = []
    content = jsonl.read_utf8(gold, f"gold file not found: {gold}")
    lines = content.splitlines()
    for lineno, row in jsonl.objects(content, gold):  # a malformed line names the file and line
        line = lines[lineno - 1]
        text, doc = gold_key(str(row.get("text", ""))), row.get("doc_id")
        if not any(k[1] == text and (doc is None or k[0] == doc) for k in replaced):
            kept.append(line)
    return kept
