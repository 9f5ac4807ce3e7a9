"""Writing the splits: rows streamed into Arrow, fingerprinted, then saved by ``datasets`` itself.

Each split's rows are streamed chunk by chunk from the spill file into a scratch Arrow file,
hashing every row on the way, so no split is ever held in memory. ``DatasetDict.save_to_disk``
then writes the saved layout (data files, ``state.json``, ``dataset_info.json``,
``dataset_dict.json``) from those memory-mapped files.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from training.dataset.sentences import SentenceSpill
from training.dataset.stages import SPLITS, Duplicates, Labelled
from training.labels import LABELS

TALLIED = ("label", "label_source", "episode", "register")  # the card's counts per split


class Fingerprint:
    """sha256 over the config hash and every row, fed split by split in the saved order."""

    def __init__(self, cfg_hash: str) -> None:
        self._hash = hashlib.sha256(cfg_hash.encode())

    def update(self, split: str, columns: dict[str, list[Any]]) -> None:
        """Add rows given as columns (every column the same length)."""
        names = sorted(columns)
        dumps = json.dumps
        for row in zip(*(columns[name] for name in names)):
            self._hash.update(dumps([split, *row], ensure_ascii=False, separators=(",", ":")).encode())
            self._hash.update(b"\n")

    def hexdigest(self) -> str:
        """The fingerprint of every row added so far."""
        return self._hash.hexdigest()


def features() -> Any:
    """The ``datasets.Features`` of every split."""
    import datasets

    return datasets.Features(
        {
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
        }
    )


@dataclass(frozen=True)
class Written:
    """What writing the splits measured: the fingerprint, rows per split and the card's counts."""

    fingerprint: str
    sizes: dict[str, int]
    counts: dict[str, dict[str, Counter[Any]]]


@dataclass(frozen=True)
class Rows:
    """Everything a split's rows are made of, per sentence."""

    spill: SentenceSpill
    labelled: Labelled
    dups: Duplicates
    row_split: np.ndarray
    meta: list[tuple[str, str]]  # (episode, register) of each document


def _columns(rows: Rows, texts: Any, numbers: np.ndarray, first: int) -> dict[str, list[Any]]:
    """The saved columns of the sentences ``numbers``, whose chunk of text starts at ``first``."""
    spill, labelled = rows.spill, rows.labelled
    docs = spill.column("doc")[numbers].tolist()
    return {
        "text": texts.take(numbers - first).to_pylist(),
        "label": labelled.labels[numbers].tolist(),
        "doc_id": [spill.doc_ids[d] for d in docs],
        "sentence_index": spill.column("index")[numbers].tolist(),
        "start": spill.column("start")[numbers].tolist(),
        "end": spill.column("end")[numbers].tolist(),
        "label_source": ["gold" if g else "weak" for g in (labelled.gold[numbers] >= 0).tolist()],
        "confidence": [round(c, 6) for c in labelled.confidence[numbers].tolist()],
        "episode": [rows.meta[d][0] for d in docs],
        "register": [rows.meta[d][1] for d in docs],
        "duplicates": [rows.dups.copies.get(r, []) for r in numbers.tolist()],
    }


def _stream_split(rows: Rows, code: int, path: Path, fp: Fingerprint) -> dict[str, Counter[Any]]:
    """Write split ``code``'s rows to the Arrow file ``path`` in corpus order; returns its tallies."""
    import pyarrow as pa
    from datasets.arrow_writer import ArrowWriter

    feats = features()
    schema = feats.arrow_schema
    split = SPLITS[code]
    writer = ArrowWriter(features=feats, path=str(path))
    tally: dict[str, Counter[Any]] = {c: Counter() for c in TALLIED}
    try:
        for first, texts in rows.spill.chunks():
            numbers = np.flatnonzero(rows.row_split[first : first + len(texts)] == code) + first
            if not numbers.size:
                continue
            columns = _columns(rows, texts, numbers, first)
            fp.update(split, columns)
            for c, tallied in tally.items():
                tallied.update(columns[c])
            writer.write_table(pa.Table.from_pydict(columns, schema=schema))
            del columns
            # Arrow's allocator keeps freed blocks for reuse; hand them back so the peak
            # stays one chunk's worth instead of creeping up with every chunk written.
            pa.default_memory_pool().release_unused()
    finally:
        writer.finalize()
        writer.close()
    return tally


@contextmanager
def _quiet_datasets() -> Iterator[None]:
    """No ``datasets`` progress bar while saving: the build reports its own progress."""
    import datasets

    was_enabled = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        if was_enabled:
            datasets.enable_progress_bars()


def save_splits(folder: Path, files: dict[str, Path], fingerprint: str) -> None:
    """Save the streamed split files as a ``DatasetDict`` in ``folder`` with ``datasets``' own writer.

    Each split gets a fingerprint derived from the dataset's, so the saved files (and their
    digests) are the same for the same rows. One shard per split: ``datasets`` cannot load a
    split of zero shards, which is what it would choose for an empty one.
    """
    import datasets

    info = datasets.DatasetInfo(features=features())
    splits = datasets.DatasetDict(
        {
            split: datasets.Dataset.from_file(str(path), info=info).select_columns(
                list(info.features), new_fingerprint=hashlib.sha256(f"{fingerprint}/{split}".encode()).hexdigest()[:16]
            )
            for split, path in files.items()
        }
    )
    with _quiet_datasets():
        splits.save_to_disk(str(folder), num_shards=dict.fromkeys(files, 1))


def write_splits(rows: Rows, cfg_hash: str, folder: Path) -> Written:
    """Write every split into ``folder`` in the saved order (split, then corpus order)."""
    fp = Fingerprint(cfg_hash)
    files = {split: folder / f".{split}.arrow" for split in SPLITS}
    counts = {split: _stream_split(rows, code, files[split], fp) for code, split in enumerate(SPLITS)}
    fingerprint = fp.hexdigest()
    try:
        save_splits(folder, files, fingerprint)
    finally:
        for path in files.values():
            path.unlink(missing_ok=True)
    return Written(fingerprint, {s: sum(counts[s]["label"].values()) for s in SPLITS}, counts)
