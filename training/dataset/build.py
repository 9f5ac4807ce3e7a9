"""``stance build-dataset``: documents in, a labelled, split, fingerprinted DatasetDict out.

Stages: read the inputs, read and segment documents, label (gold, then weak labels for the
rest), drop exact and near duplicates, split by document with label stratification, audit
leakage, write the splits and the reports; all into a scratch folder swapped in at the end.
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from training.atomic import claim_output_dir, new_scratch_dir, os_errors, swap_dir
from training.config import DatasetConfig, ReaderConfig, config_hash
from training.dataset.files import is_dataset, write_info, write_reports
from training.dataset.sentences import SentenceSpill, check_sentences, read_sentences
from training.dataset.stages import Labelled, assign_splits, audit_leakage, deduplicate, label
from training.dataset.writer import Rows, write_splits
from training.labeling import GoldRow
from training.labels import LABELS


@dataclass(frozen=True)
class BuildResult:
    """What a build produced, for the CLI to print."""

    out: Path
    fingerprint: str
    info: dict[str, Any]
    lf_table: list[dict[str, Any]]


@dataclass(frozen=True)
class Inputs:
    """What a seed folder holds besides the documents (a Hugging Face dataset has none of it)."""

    files: list[Path] = field(default_factory=list)
    gold_rows: list[GoldRow] = field(default_factory=list)
    metadata: dict[str, dict[str, str]] = field(default_factory=dict)
    agreement: dict[str, Any] | None = None


def read_inputs(seeds: Path, reader: ReaderConfig) -> Inputs:
    """The document files, gold annotations, document metadata and agreement of a seed folder."""
    from training.agreement import read_agreement
    from training.corpus import list_documents, read_metadata
    from training.labeling import read_gold

    return Inputs(
        list_documents(seeds, reader),
        read_gold(seeds, reader),
        read_metadata(seeds / reader.metadata_file),
        read_agreement(seeds / reader.agreement_file),
    )


def build_dataset(
    config: DatasetConfig,
    seeds: Path | None = None,
    out: Path | None = None,
    hf: str | None = None,
    text_column: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    weak_labels: str = "rules",
    model: str | None = None,
) -> BuildResult:
    """Build the dataset described by ``config`` and save it to ``out`` (atomically).

    Everything is written into a scratch folder next to ``out`` and swapped in at the end, so a
    failure at any step leaves the previous dataset as it was. ``weak_labels`` (rules, model or
    both) says where weak labels come from; ``model`` is the model for the last two.
    """
    from training.weak import check_source

    seeds = Path(seeds or config.seeds_dir)
    out = Path(out or config.out_dir)
    inputs = [seeds] if not hf else [Path(hf)] if Path(hf).exists() else []
    check_source(weak_labels, model)
    claim_output_dir(out, "--out", is_dataset, inputs)
    tmp = new_scratch_dir(out, "tmp")
    try:
        with os_errors("write the dataset to", out):
            result = _build(config, seeds, tmp, hf, text_column, progress, (weak_labels, model))
            write_info(tmp, result.info)
            claim_output_dir(out, "--out", is_dataset, inputs)  # it may have changed during the build
            swap_dir(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return BuildResult(out, result.fingerprint, result.info, result.lf_table)


def _build(
    config: DatasetConfig,
    seeds: Path,
    tmp: Path,
    hf: str | None,
    text_column: str | None,
    progress: Callable[[int, int], None] | None,
    weak_source: tuple[str, str | None] = ("rules", None),
) -> BuildResult:
    """The build itself, into the empty folder ``tmp`` (the result's ``out`` is ``tmp``)."""
    from training.labeling import index_gold
    from training.weak import ModelVoter

    reader = config.reader if text_column is None else config.reader.model_copy(update={"text_column": text_column})
    inputs = Inputs() if hf else read_inputs(seeds, reader)
    gold_index = index_gold(inputs.gold_rows)
    mode, model_uri = weak_source
    voter = ModelVoter(model_uri or "models/stance-classifier") if mode != "rules" else None
    spill = SentenceSpill(tmp / ".sentences.arrow", config, gold_index, voter)
    sources = read_sentences(spill, seeds, inputs.files, hf, reader, progress)
    check_sentences(spill, gold_index, hf or str(seeds))

    labelled = label(spill, config, mode)
    dups = deduplicate(spill, labelled.labels, config)
    splits = assign_splits(spill, labelled.labels, dups.keep, config)
    audit = audit_leakage(spill, dups, splits.row_split)
    meta = meta_of(spill.doc_ids, inputs.metadata)
    cfg_hash = config_hash(config)
    written = write_splits(Rows(spill, labelled, dups, splits.row_split, meta), cfg_hash, tmp)
    kept = np.flatnonzero(dups.keep)
    warnings = _warn(labelled, kept, written.sizes, len(splits.doc_labels))
    spill.remove()

    kept_docs = spill.column("doc")[kept]
    info: dict[str, Any] = {
        "fingerprint": written.fingerprint,
        "config_hash": cfg_hash,
        "seed": config.seed,
        "sources": sources,
        "sentences_segmented": spill.n,
        "duplicates_dropped": int((~dups.keep).sum()),
        "duplicate_label_conflicts": dups.label_conflicts,
        **labelled.model_info,
        "weak_labels": mode,
        "weak_model": model_uri if mode != "rules" else None,
        "sources_vs_gold": labelled.sources_vs_gold,
        "warnings": warnings,
        "splits": written.sizes,
        "leakage": audit,
        "agreement": inputs.agreement,
        "labeling": config.labeling.model_dump(mode="json"),
        "documents": len(splits.doc_labels),
        "episodes": len({meta[d][0] for d in set(kept_docs.tolist())} - {""}),
        "metadata_documents": len(inputs.metadata),
        "hard_cases": hard_cases(inputs.gold_rows),
        "label_mix": label_mix(meta, kept_docs, labelled.labels[kept]),
    }
    write_reports(tmp, info, labelled.lf_table, written.counts)
    return BuildResult(tmp, written.fingerprint, info, labelled.lf_table)


def _warn(labelled: Labelled, kept: np.ndarray, sizes: dict[str, int], documents: int) -> list[str]:
    """Warnings about the kept sentences' labels, logged and returned for the info file."""
    import logging

    from training.weak import label_warnings

    warnings = label_warnings(labelled.labels[kept], labelled.gold[kept], sizes, documents)
    for line in warnings:
        logging.getLogger("training.dataset").warning(line)
    return warnings


def meta_of(doc_ids: list[str], metadata: dict[str, dict[str, str]]) -> list[tuple[str, str]]:
    """(episode, register) of each document, empty where the metadata does not name it."""
    return [(metadata.get(d, {}).get("episode", ""), metadata.get(d, {}).get("register", "")) for d in doc_ids]


def label_mix(meta: list[tuple[str, str]], doc: np.ndarray, labels: np.ndarray) -> dict[str, dict[str, dict[str, int]]]:
    """Label counts of the kept sentences per episode and per register."""
    out: dict[str, dict[str, dict[str, int]]] = {"episode": {}, "register": {}}
    for (d, label_), count in Counter(zip(doc.tolist(), labels.tolist())).items():
        for col, key in zip(("episode", "register"), meta[d]):
            bucket = out[col].setdefault(key, {})
            bucket[LABELS[label_]] = bucket.get(LABELS[label_], 0) + count
    return {c: {k: dict(sorted(v.items())) for k, v in sorted(m.items())} for c, m in out.items()}


def hard_cases(rows: list[GoldRow]) -> dict[str, Any]:
    """Favor and against gold sentences whose note tags them as hard (``hard:<kind>``)."""
    polar = [r for r in rows if r.label != "neutral"]
    kinds = Counter(r.note.split()[0].removeprefix("hard:") for r in polar if r.note.startswith("hard:"))
    return {"polar": len(polar), "hard": sum(kinds.values()), "by_kind": dict(sorted(kinds.items()))}
