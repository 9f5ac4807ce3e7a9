"""``stance build-dataset``: documents in, a labelled, split, fingerprinted DatasetDict out.

Stages: read and segment documents, join gold labels, weak-label the rest, drop exact and
near duplicates, split by document with label stratification, audit leakage, save atomically.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from training.atomic import claim_output_dir, new_scratch_dir, os_errors, swap_dir
from training.config import LABELS, DatasetConfig, config_hash
from training.corpus import Document, list_documents, read_file, read_hf
from training.errors import StanceError
from training.labeling import gold_key, index_gold, lf_analysis, read_gold
from training.segment import segment

INFO_FILE = "stance_dataset.json"
SHARD_FILE = "data-00000-of-00001.arrow"  # one shard per split: ``datasets`` cannot load a split of zero shards
LF_FILE = "lf_analysis.csv"
CARD_FILE = "README.md"
SPLITS = ("train", "validation", "test")
METADATA_COLUMNS = ("id", "title", "episode", "countries", "date", "register", "origin")


CHUNK = 4096  # sentences labelled, hashed and spilled to disk together


class _Corpus:
    """Pass one of the build: every sentence segmented, gold-matched, voted on and hashed.

    Sentences are handled in chunks of :data:`CHUNK`. Each chunk's text goes to an Arrow
    file in the build's scratch folder, and only compact per-sentence numbers stay in memory
    (document number, offsets, gold label, labelling-function votes, MinHash band keys), so
    memory grows by well under the size of the dataset itself however large the corpus.
    """

    def __init__(
        self, spill: Path, config: DatasetConfig, gold_index: dict[tuple[str, str], Any], voter: Any = None
    ) -> None:
        import pyarrow as pa

        from training.dedup import BandKeys
        from training.labeling import Lexicons

        self.config = config
        self.spill = spill
        self.band_keys_file = spill.with_suffix(".keys")
        self.gold_index = gold_index
        self.matched: set[tuple[str, str]] = set()
        self.lexicons = Lexicons(config.labeling)
        self.band_keys = BandKeys(config.dedup, config.seed, self.band_keys_file)
        self.doc_ids: list[str] = []
        self.n = 0
        self.bounds = [0]  # first sentence of each spilled chunk, and the total
        # Unsigned 32-bit offsets: documents up to 4 GiB, at half the memory of 64-bit ones.
        self._doc, self._index, self._start, self._end = (array("i"), array("i"), array("I"), array("I"))
        self._gold = array("b")
        self._votes: list[np.ndarray] = []
        self.voter = voter  # a trained model voting too (``--weak-labels model|both``)
        self._proba: list[np.ndarray] = []
        self._texts: list[str] = []
        self._schema = pa.schema([("text", pa.string())])
        self._writer = pa.ipc.new_file(str(spill), self._schema)

    def add_document(self, doc: Document) -> None:
        number = len(self.doc_ids)
        self.doc_ids.append(doc.doc_id)
        config = self.config
        for span in segment(doc.text, config.cleaning, config.segmentation, doc.markdown):
            self._texts.append(span.text)
            self._doc.append(number)
            self._index.append(span.index)
            self._start.append(span.start)
            self._end.append(span.end)
            row = None
            if self.gold_index:  # normalising the text for the lookup is wasted without gold
                row = self.gold_index.get(key := (doc.doc_id, gold_key(span.text)))
                if row is not None:
                    self.matched.add(key)
            self._gold.append(-1 if row is None else LABELS.index(row.label))
            if len(self._texts) >= CHUNK:
                self._flush()

    def _flush(self) -> None:
        import pyarrow as pa

        from training.labeling import apply_lfs

        if not self._texts:
            return
        texts, self._texts = self._texts, []
        self._votes.append(apply_lfs(texts, self.config.labeling, self.lexicons))
        if self.voter is not None:
            self._proba.append(self.voter.proba(texts))
        self.band_keys.add(texts)
        self._writer.write_batch(pa.record_batch([pa.array(texts, pa.string())], schema=self._schema))
        self.n += len(texts)
        self.bounds.append(self.n)

    def close(self) -> None:
        self._flush()
        self._writer.close()

    def column(self, name: str) -> np.ndarray:
        """A per-sentence column as a numpy array (no copy): doc, index, start, end or gold."""
        values = {"doc": self._doc, "index": self._index, "start": self._start, "end": self._end, "gold": self._gold}[
            name
        ]
        return np.frombuffer(values, dtype=values.typecode)  # array typecodes are numpy type codes

    def votes(self) -> np.ndarray:
        from training.labeling import LABELING_FUNCTIONS

        return np.concatenate(self._votes) if self._votes else np.zeros((0, len(LABELING_FUNCTIONS)), dtype=np.int8)

    def model_proba(self) -> np.ndarray | None:
        """The voting model's probabilities of every sentence, None without a model."""
        return np.concatenate(self._proba) if self.voter is not None and self._proba else None

    def chunks(self) -> Iterator[tuple[int, Any]]:
        """(first sentence number, Arrow text array) of every spilled chunk, in corpus order."""
        import pyarrow as pa

        with pa.OSFile(str(self.spill), "rb") as fh:
            reader = pa.ipc.open_file(fh)
            for c in range(reader.num_record_batches):
                yield self.bounds[c], reader.get_batch(c).column(0)

    def fetch(self, wanted: Iterable[int]) -> dict[int, str]:
        """The text of the given sentence numbers, read back from the spill file."""
        wanted = np.asarray(sorted(wanted), dtype=np.int64)
        out: dict[int, str] = {}
        if not wanted.size:
            return out
        for first, texts in self.chunks():
            local = wanted[(wanted >= first) & (wanted < first + len(texts))] - first
            if local.size:
                out.update(zip((local + first).tolist(), texts.take(local).to_pylist()))
        return out


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
        raise StanceError(
            f"missing column: {path}:1 lacks {', '.join(missing)} (header: {', '.join(METADATA_COLUMNS)})"
        )
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

    from training import jsonl

    first, second, adjudicated, docs = [], [], 0, set()
    for lineno, row in jsonl.objects(jsonl.read_utf8(path, f"agreement file not found: {path}"), path):
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
        return self._hash.hexdigest()


def _features() -> Any:
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


def _write_split_metadata(folder: Path, features: Any, split_fingerprint: str) -> None:
    """``state.json`` and ``dataset_info.json`` of one split, as ``Dataset.save_to_disk`` writes them.

    The Arrow file itself is streamed by ``datasets``' own ``ArrowWriter``; writing these two
    small files here is what lets a split be saved without ever holding it in memory.
    """
    import datasets
    from datasets.utils.py_utils import asdict  # the features-aware asdict that save_to_disk uses

    state = {
        "_data_files": [{"filename": SHARD_FILE}],
        "_fingerprint": split_fingerprint,
        "_format_columns": None,
        "_format_kwargs": {},
        "_format_type": None,
        "_output_all_columns": False,
        "_split": None,
    }
    (folder / datasets.config.DATASET_STATE_JSON_FILENAME).write_text(
        json.dumps(state, indent=2, sort_keys=True), encoding="utf-8"
    )
    info = asdict(datasets.DatasetInfo(features=features))
    (folder / datasets.config.DATASET_INFO_FILENAME).write_text(
        json.dumps({k: info[k] for k in sorted(info)}, indent=2), encoding="utf-8"
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
            write_info(tmp, result[1])
            claim_output_dir(out, "--out", is_dataset, inputs)  # it may have changed during the build
            swap_dir(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return BuildResult(out, *result)


def is_dataset(folder: Path) -> bool:
    """Whether ``folder`` holds a dataset written by :func:`build_dataset` (its info file)."""
    return (folder / INFO_FILE).is_file()


def _digests(folder: Path) -> dict[str, str]:
    """sha256 of every file of a built dataset but the info file and the card."""
    from training.persistence import sha256_file

    out = {}
    for f in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = f.relative_to(folder).as_posix()
        if rel not in (INFO_FILE, CARD_FILE):
            out[rel] = sha256_file(f)
    return out


def write_info(folder: Path, info: dict[str, Any]) -> None:
    """Write the info file with the digest of every data file, which :func:`load_built` checks."""
    info["files"] = _digests(folder)
    (folder / INFO_FILE).write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _build(
    config: DatasetConfig,
    seeds: Path,
    tmp: Path,
    hf: str | None,
    text_column: str | None,
    progress: Callable[[int, int], None] | None,
    weak_source: tuple[str, str | None] = ("rules", None),
) -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
    """The build itself, into the empty folder ``tmp``: (fingerprint, info, labelling-function table)."""
    import logging

    import datasets
    import pyarrow as pa
    from datasets.arrow_writer import ArrowWriter

    from training.card import render_card
    from training.dedup import clusters, verified_pairs
    from training.weak import ModelVoter, combine, label_warnings, source_accuracy

    reader = config.reader if text_column is None else config.reader.model_copy(update={"text_column": text_column})
    gold_rows = []
    metadata: dict[str, dict[str, str]] = {}
    agreement = None
    if not hf:
        files = list_documents(seeds, reader)
        gold_rows = read_gold(seeds, reader)
        metadata = read_metadata(seeds / reader.metadata_file)
        agreement = read_agreement(seeds / reader.agreement_file)
    gold_index = index_gold(gold_rows)
    mode, model_uri = weak_source
    voter = ModelVoter(model_uri or "models/stance-classifier") if mode != "rules" else None
    corpus = _Corpus(tmp / ".sentences.arrow", config, gold_index, voter)
    try:
        if hf:
            docs = list(read_hf(hf, reader.text_column, reader.id_column))
            for i, doc in enumerate(docs, 1):
                corpus.add_document(doc)
                if progress:
                    progress(i, len(docs))
            del docs
            sources = [hf]
        else:
            for i, path in enumerate(files, 1):
                for doc in read_file(path, seeds, reader):
                    corpus.add_document(doc)
                if progress:
                    progress(i, len(files))
            sources = [str(seeds)]
    finally:
        corpus.close()
    n = corpus.n
    if n == 0:
        raise StanceError(f"no sentences found in {hf or seeds} (the documents are empty after cleaning)")
    # Gold labels: every annotation must match a sentence of its document.
    unmatched = [r for k, r in gold_index.items() if k not in corpus.matched]
    if unmatched:
        raise StanceError(
            *(
                f"annotation matches no sentence: {r.where}: {r.text[:70]!r} (run `stance segment` on {r.doc_id} to see its sentences)"
                for r in unmatched
            )
        )

    gold = corpus.column("gold")
    proba = corpus.model_proba()
    weak, votes, voter_names = combine(corpus.votes(), gold, config.labeling, mode, proba)
    lf_table = lf_analysis(votes, gold, voter_names)
    del votes
    labels = np.where(gold >= 0, gold, weak.labels).astype(np.int8)
    confidence = np.where(gold >= 0, 1.0, weak.confidence)
    # Without gold there is no score (NaN), and the info file is strict JSON: such scores are left out.
    weak_model, weak_reason = weak.model, weak.reason
    weak_scores = {k: v for k, v in weak.gold_scores.items() if v == v}
    sources_vs_gold = source_accuracy(gold, weak, proba)
    del weak, proba

    # Duplicates: keep the first copy, record where the others were.
    doc, index = corpus.column("doc"), corpus.column("index")
    pairs = verified_pairs(corpus.band_keys.candidates(), corpus.fetch, config.dedup)
    rep = clusters(n, pairs)
    keep = rep == np.arange(n)
    copies: dict[int, list[str]] = {}
    label_conflicts = 0
    for j in np.flatnonzero(~keep).tolist():
        r = int(rep[j])
        copies.setdefault(r, []).append(f"{corpus.doc_ids[doc[j]]}:{index[j]}")
        label_conflicts += int(labels[j] != labels[r])
    del rep

    # Splits: whole documents, stratified by the labels of their kept sentences.
    kept = np.flatnonzero(keep)
    doc_labels: dict[str, Counter[int]] = {}
    for d, label in zip(doc[kept].tolist(), labels[kept].tolist()):
        doc_labels.setdefault(corpus.doc_ids[d], Counter())[label] += 1
    assignment = split_documents(doc_labels, config)
    doc_split = np.array(
        [SPLITS.index(assignment[d]) if d in assignment else -1 for d in corpus.doc_ids], dtype=np.int8
    )
    row_split = np.where(keep, doc_split[doc], -1).astype(np.int8)

    # Leakage audit, measured on the final rows rather than assumed from the construction.
    per_doc = np.bincount(
        doc[kept].astype(np.int64) * len(SPLITS) + row_split[kept], minlength=len(corpus.doc_ids) * len(SPLITS)
    )
    several = int(((per_doc.reshape(-1, len(SPLITS)) > 0).sum(axis=1) > 1).sum())
    # Near-duplicate pairs among the kept rows come from the same detection run as the dedup:
    # any pair whose two rows both survived and sit in different splits is a leak.
    cross = sum(1 for i, j in pairs if keep[i] and keep[j] and row_split[i] != row_split[j])
    audit = {"documents_in_several_splits": several, "near_duplicates_across_splits": cross}

    label_mix = _label_mix(meta_of(corpus.doc_ids, metadata), doc[kept], labels[kept])
    cfg_hash = config_hash(config)
    fp = Fingerprint(cfg_hash)
    features = _features()
    schema = features.arrow_schema
    meta = meta_of(corpus.doc_ids, metadata)
    start, end = corpus.column("start"), corpus.column("end")
    sizes: dict[str, int] = {}
    counts: dict[str, dict[str, Counter[Any]]] = {}
    # Each split is streamed chunk by chunk from the spill file into its Arrow file, in the
    # saved order (split, then corpus order), hashing every row on the way.
    for code, split in enumerate(SPLITS):
        folder = tmp / split
        folder.mkdir()
        writer = ArrowWriter(features=features, path=str(folder / SHARD_FILE))
        tally: dict[str, Counter[Any]] = {c: Counter() for c in ("label", "label_source", "episode", "register")}
        try:
            for first, texts in corpus.chunks():
                rows = np.flatnonzero(row_split[first : first + len(texts)] == code) + first
                if not rows.size:
                    continue
                docs = doc[rows].tolist()
                columns: dict[str, list[Any]] = {
                    "text": texts.take(rows - first).to_pylist(),
                    "label": labels[rows].tolist(),
                    "doc_id": [corpus.doc_ids[d] for d in docs],
                    "sentence_index": index[rows].tolist(),
                    "start": start[rows].tolist(),
                    "end": end[rows].tolist(),
                    "label_source": ["gold" if g else "weak" for g in (gold[rows] >= 0).tolist()],
                    "confidence": [round(c, 6) for c in confidence[rows].tolist()],
                    "episode": [meta[d][0] for d in docs],
                    "register": [meta[d][1] for d in docs],
                    "duplicates": [copies.get(r, []) for r in rows.tolist()],
                }
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
        sizes[split] = sum(tally["label"].values())
        counts[split] = tally
    fingerprint = fp.hexdigest()
    warnings = label_warnings(labels[kept], gold[kept], sizes, len(doc_labels))
    for line in warnings:
        logging.getLogger("training.dataset").warning(line)
    for split in SPLITS:
        _write_split_metadata(tmp / split, features, hashlib.sha256(f"{fingerprint}/{split}".encode()).hexdigest()[:16])
    (tmp / datasets.config.DATASETDICT_JSON_FILENAME).write_text(json.dumps({"splits": list(SPLITS)}), encoding="utf-8")
    for scratch in (corpus.spill, corpus.band_keys_file):
        scratch.unlink(missing_ok=True)

    info: dict[str, Any] = {
        "fingerprint": fingerprint,
        "config_hash": cfg_hash,
        "seed": config.seed,
        "sources": sources,
        "sentences_segmented": n,
        "duplicates_dropped": int((~keep).sum()),
        "duplicate_label_conflicts": label_conflicts,
        "label_model": weak_model,
        "label_model_gold_macro_f1": weak_scores,
        "label_model_reason": weak_reason,
        "weak_labels": mode,
        "weak_model": model_uri if mode != "rules" else None,
        "sources_vs_gold": sources_vs_gold,
        "warnings": warnings,
        "splits": sizes,
        "leakage": audit,
        "agreement": agreement,
        "labeling": config.labeling.model_dump(mode="json"),
        "documents": len(doc_labels),
        "episodes": len({meta[d][0] for d in set(doc[kept].tolist())} - {""}),
        "metadata_documents": len(metadata),
        "hard_cases": _hard_cases(gold_rows),
        "label_mix": label_mix,
    }
    (tmp / INFO_FILE).write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    with open(tmp / LF_FILE, "w", newline="", encoding="utf-8") as fh:
        writer_csv = csv.DictWriter(fh, fieldnames=list(lf_table[0]))
        writer_csv.writeheader()
        writer_csv.writerows(lf_table)
    (tmp / "README.md").write_text(render_card(counts, info, lf_table), encoding="utf-8")
    return fingerprint, info, lf_table


def meta_of(doc_ids: list[str], metadata: dict[str, dict[str, str]]) -> list[tuple[str, str]]:
    """(episode, register) of each document, empty where the metadata does not name it."""
    return [(metadata.get(d, {}).get("episode", ""), metadata.get(d, {}).get("register", "")) for d in doc_ids]


def _label_mix(
    meta: list[tuple[str, str]], doc: np.ndarray, labels: np.ndarray
) -> dict[str, dict[str, dict[str, int]]]:
    """Label counts of the kept sentences per episode and per register."""
    out: dict[str, dict[str, dict[str, int]]] = {"episode": {}, "register": {}}
    for (d, label), count in Counter(zip(doc.tolist(), labels.tolist())).items():
        for col, key in zip(("episode", "register"), meta[d]):
            bucket = out[col].setdefault(key, {})
            bucket[LABELS[label]] = bucket.get(LABELS[label], 0) + count
    return {c: {k: dict(sorted(v.items())) for k, v in sorted(m.items())} for c, m in out.items()}


def _hard_cases(rows: list[Any]) -> dict[str, Any]:
    """Favor and against gold sentences whose note tags them as hard (``hard:<kind>``)."""
    polar = [r for r in rows if r.label != "neutral"]
    kinds = Counter(r.note.split()[0].removeprefix("hard:") for r in polar if r.note.startswith("hard:"))
    return {"polar": len(polar), "hard": sum(kinds.values()), "by_kind": dict(sorted(kinds.items()))}


def load_built(path: str | Path) -> tuple[Any, dict[str, Any]]:
    """Load a dataset saved by :func:`build_dataset` with its info (fingerprint, config hash)."""
    import datasets

    from training import jsonl

    path = Path(path)
    info_path = path / INFO_FILE
    if not info_path.exists():
        raise StanceError(f"not a stance dataset: {path} has no {INFO_FILE} (run `stance build-dataset` first)")
    info = jsonl.load_file(info_path, "dataset info", "rebuild it with `stance build-dataset`")
    if (
        not isinstance(info, dict)
        or not isinstance(info.get("fingerprint"), str)
        or not isinstance(info.get("files"), dict)
    ):
        raise StanceError(
            f"invalid dataset info: {info_path} lacks its fingerprint or file digests "
            "(rebuild it with `stance build-dataset`)"
        )
    # Files added later are not read (each split names its own data files, and those are digested).
    found = _digests(path)
    for name in sorted(info["files"]):
        if info["files"][name] != found.get(name):
            state = "is missing" if name not in found else "was changed"
            raise StanceError(
                f"dataset changed after it was built: {path / name} {state} "
                f"(fingerprint {info['fingerprint'][:16]}; rebuild it with `stance build-dataset`)"
            )
    try:
        return datasets.load_from_disk(str(path)), info
    except Exception as exc:  # datasets raises many types for a damaged folder; the digests passed, so say so
        raise StanceError(f"cannot load the dataset {path}: {exc} (rebuild it with `stance build-dataset`)") from None
