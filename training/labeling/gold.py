"""Gold annotations: reading ``*.gold.jsonl`` files and matching them to sentences."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from training import jsonl
from training.config import ReaderConfig
from training.errors import StanceError
from training.labels import LABELS

_WS = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class GoldRow:
    """One gold annotation and the file line it came from."""

    doc_id: str
    text: str
    label: str
    where: str
    note: str = ""


def gold_key(text: str) -> str:
    """Sentences and annotations are matched on their text with whitespace runs collapsed."""
    return _WS.sub(" ", text).strip()


def read_gold(root: Path, reader: ReaderConfig) -> list[GoldRow]:
    """Read every gold file under ``root``; unknown labels and malformed lines are errors.

    Every problem of every file is collected first, so one run lists them all.
    """
    rows: list[GoldRow] = []
    problems: list[str] = []
    for path in sorted(root.rglob(f"*{reader.gold_suffix}"), key=lambda p: p.as_posix()):
        rel = path.relative_to(root).as_posix()
        if any(part.startswith((".", "_")) for part in Path(rel).parts):
            continue
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"cannot read annotations {path}: {exc} (save it as UTF-8)")
            continue
        default_doc = rel[: -len(reader.gold_suffix)]
        rows.extend(_gold_rows(path, text, default_doc, problems))
    if problems:
        raise StanceError(*problems)
    return rows


def _gold_rows(path: Path, text: str, default_doc: str, problems: list[str]) -> Iterable[GoldRow]:
    """The annotations of one gold file's text; what is wrong with a line goes to ``problems``."""
    for lineno, obj in jsonl.objects_reporting(text, path, problems):
        where = f"{path}:{lineno}"
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
            problems.append(f"annotation without text: {where} (each line needs a string field 'text')")
            continue
        label = obj.get("label")
        if label not in LABELS:
            problems.append(f"unknown label {label!r}: {where} (use one of {', '.join(LABELS)})")
            continue
        doc_id = str(obj.get("doc_id") or default_doc)
        yield GoldRow(doc_id, gold_key(obj["text"]), label, where, str(obj.get("note") or ""))


def index_gold(rows: Iterable[GoldRow]) -> dict[tuple[str, str], GoldRow]:
    """Map (doc_id, sentence text) to its gold row; conflicting labels are errors."""
    index: dict[tuple[str, str], GoldRow] = {}
    problems: list[str] = []
    for row in rows:
        key = (row.doc_id, row.text)
        seen = index.get(key)
        if seen is None:
            index[key] = row
        elif seen.label != row.label:
            problems.append(
                f"conflicting gold labels: {seen.where} says {seen.label}, {row.where} says {row.label} "
                f"for {row.text[:60]!r} (keep one)"
            )
    if problems:
        raise StanceError(*problems)
    return index
