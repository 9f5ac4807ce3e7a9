"""Pass one of the build: every sentence segmented, gold-matched, voted on, hashed and spilled."""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from training.config import DatasetConfig, ReaderConfig
from training.corpus import Document, read_file, read_hf
from training.errors import StanceError
from training.labeling import GoldRow, gold_key
from training.labels import LABELS
from training.segment import segment

CHUNK = 4096  # sentences labelled, hashed and spilled to disk together


class SentenceSpill:
    """Every sentence of the corpus, its text on disk and compact numbers in memory.

    Sentences are handled in chunks of :data:`CHUNK`. Each chunk's text goes to an Arrow
    file in the build's scratch folder, and only compact per-sentence numbers stay in memory
    (document number, offsets, gold label, labelling-function votes, MinHash band keys), so
    memory grows by well under the size of the dataset itself however large the corpus.
    """

    def __init__(
        self, spill: Path, config: DatasetConfig, gold_index: dict[tuple[str, str], GoldRow], voter: Any = None
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
        """Segment one document and queue its sentences, spilling every full chunk."""
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
        """Spill the last chunk and close the spill file."""
        self._flush()
        self._writer.close()

    def remove(self) -> None:
        """Delete the scratch files (spilled text and band keys)."""
        for scratch in (self.spill, self.band_keys_file):
            scratch.unlink(missing_ok=True)

    def column(self, name: str) -> np.ndarray:
        """A per-sentence column as a numpy array (no copy): doc, index, start, end or gold."""
        values = {"doc": self._doc, "index": self._index, "start": self._start, "end": self._end, "gold": self._gold}
        column = values[name]
        return np.frombuffer(column, dtype=column.typecode)  # array typecodes are numpy type codes

    def votes(self) -> np.ndarray:
        """Every labelling function's vote on every sentence: (sentences, functions) int8."""
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
        numbers = np.asarray(sorted(wanted), dtype=np.int64)
        out: dict[int, str] = {}
        if not numbers.size:
            return out
        for first, texts in self.chunks():
            local = numbers[(numbers >= first) & (numbers < first + len(texts))] - first
            if local.size:
                out.update(zip((local + first).tolist(), texts.take(local).to_pylist()))
        return out


def read_sentences(
    spill: SentenceSpill,
    seeds: Path,
    files: list[Path],
    hf: str | None,
    reader: ReaderConfig,
    progress: Callable[[int, int], None] | None,
) -> list[str]:
    """Read and segment every document into ``spill`` (closed at the end); returns the sources.

    Progress counts files for a seed folder and documents for a Hugging Face dataset.
    """
    try:
        if hf:
            docs = list(read_hf(hf, reader.text_column, reader.id_column))
            for i, doc in enumerate(docs, 1):
                spill.add_document(doc)
                if progress:
                    progress(i, len(docs))
            return [hf]
        for i, path in enumerate(files, 1):
            for doc in read_file(path, seeds, reader):
                spill.add_document(doc)
            if progress:
                progress(i, len(files))
        return [str(seeds)]
    finally:
        spill.close()


def check_sentences(spill: SentenceSpill, gold_index: dict[tuple[str, str], GoldRow], where: str) -> None:
    """Refuse an empty corpus and gold annotations that match no sentence of their document."""
    if spill.n == 0:
        raise StanceError(f"no sentences found in {where} (the documents are empty after cleaning)")
    unmatched = [r for k, r in gold_index.items() if k not in spill.matched]
    if unmatched:
        raise StanceError(
            *(
                f"annotation matches no sentence: {r.where}: {r.text[:70]!r} "
                f"(run `stance segment` on {r.doc_id} to see its sentences)"
                for r in unmatched
            )
        )
