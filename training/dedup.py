"""Exact and near-duplicate detection: MinHash over word shingles, banded LSH, exact Jaccard check.

The corpus is hashed in chunks: each chunk's MinHash signatures are reduced at once to one
32-bit key per band. The keys can be spilled to a scratch file, so the candidate search holds
one band of keys at a time (4 bytes a sentence) however large the corpus is.
Sentences that share a band key are candidates; every candidate pair is then checked with the
exact Jaccard similarity of its shingle sets, so a key collision can never merge two sentences.
Hashes use CRC32 rather than Python's ``hash`` so results do not depend on PYTHONHASHSEED.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from training.config import DedupConfig

_WORD = re.compile(r"\w+")
_PRIME = np.uint64((1 << 61) - 1)


def normalized(text: str) -> str:
    """Case-folded words only: the text two copies of a sentence share after light edits."""
    return " ".join(_WORD.findall(text.casefold()))


def shingles(text: str, size: int) -> set[str]:
    """Word ``size``-grams of the normalised text (the whole text when it is shorter)."""
    words = normalized(text).split()
    if len(words) <= size:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}


def _hash_set(text: str, size: int) -> set[int]:
    """CRC32 of each distinct shingle of a text."""
    return {zlib.crc32(g.encode()) for g in shingles(text, size)}


def shingle_hashes(text: str, size: int) -> np.ndarray:
    """The sorted CRC32 hashes of a text's distinct shingles."""
    return np.array(sorted(_hash_set(text, size)), dtype=np.uint64)


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard similarity of two sorted arrays of distinct hashes."""
    common = np.intersect1d(a, b, assume_unique=True).size
    union = a.size + b.size - common
    return common / union if union else 0.0


class BandKeys:
    """MinHash band keys of sentences added chunk by chunk, for the LSH candidate search.

    With ``spill``, each chunk's keys are appended to that file band by band instead of being
    kept in memory; the caller owns (and removes) the file.
    """

    def __init__(self, config: DedupConfig, seed: int, spill: Path | None = None) -> None:
        rng = np.random.default_rng(seed)
        self.config = config
        self._a = rng.integers(1, (1 << 61) - 1, size=config.num_perm, dtype=np.uint64)
        self._b = rng.integers(0, (1 << 61) - 1, size=config.num_perm, dtype=np.uint64)
        # Odd multipliers fold a band's MinHash values into one key (a multiply-add hash).
        self._mix = rng.integers(1, 1 << 62, size=config.num_perm // config.bands, dtype=np.uint64) | np.uint64(1)
        self._spill = spill
        self._chunks: list[tuple[int, int] | np.ndarray] = []  # (file offset, rows) or in-memory keys
        self._empty: list[np.ndarray] = []
        if spill is not None:
            spill.write_bytes(b"")

    def add(self, texts: Sequence[str]) -> None:
        """Hash one chunk of sentences (in corpus order)."""
        size = self.config.shingle_size
        flat_list: list[int] = []
        lengths = np.zeros(len(texts), dtype=np.int64)
        for i, text in enumerate(texts):
            hashed = _hash_set(text, size)
            flat_list.extend(hashed)
            lengths[i] = len(hashed)
        flat = np.array(flat_list, dtype=np.uint64)
        del flat_list
        nonempty = lengths > 0
        offsets = np.concatenate(([0], np.cumsum(lengths)[:-1]))[nonempty]
        sig = np.zeros((len(texts), self.config.num_perm), dtype=np.uint64)
        if nonempty.any():
            for p in range(self.config.num_perm):
                # uint64 arithmetic wraps; the result is still a fixed pseudo-random permutation per p.
                sig[nonempty, p] = np.minimum.reduceat((self._a[p] * flat + self._b[p]) % _PRIME, offsets)
        rows = self.config.num_perm // self.config.bands
        bands = sig.reshape(len(texts), self.config.bands, rows)
        keys = (bands * self._mix).sum(axis=2, dtype=np.uint64)
        # Stored band-major (bands, rows) so one band of a chunk is one contiguous read.
        folded = np.ascontiguousarray((keys ^ (keys >> np.uint64(32))).astype(np.uint32).T)
        self._empty.append(~nonempty)
        if self._spill is None:
            self._chunks.append(folded)
            return
        with open(self._spill, "ab") as fh:
            self._chunks.append((fh.tell(), len(texts)))
            fh.write(folded.tobytes())

    def _band(self, band: int) -> np.ndarray:
        """The keys of one band for every sentence, in corpus order."""
        parts = []
        for chunk in self._chunks:
            if isinstance(chunk, np.ndarray):
                parts.append(chunk[band])
            else:
                offset, rows = chunk
                assert self._spill is not None  # chunks on disk exist only once the spill file does
                parts.append(np.fromfile(self._spill, dtype=np.uint32, count=rows, offset=offset + 4 * rows * band))
        return np.concatenate(parts)

    def candidates(self) -> list[tuple[int, int]]:
        """Pairs (i, j), i < j, that share a key in at least one band, sorted."""
        if not self._chunks:
            return []
        usable = np.flatnonzero(~np.concatenate(self._empty))
        found: set[tuple[int, int]] = set()
        for band in range(self.config.bands):
            column = self._band(band)[usable]
            order = np.argsort(column, kind="stable")
            ordered = column[order]
            starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
            ends = np.append(starts[1:], len(order))
            for s in np.flatnonzero(ends - starts > 1):
                members = sorted(usable[order[starts[s] : ends[s]]].tolist())
                for x in range(len(members)):
                    for y in range(x + 1, len(members)):
                        found.add((members[x], members[y]))
        return sorted(found)


def verified_pairs(
    candidates: Sequence[tuple[int, int]],
    fetch: Callable[[Iterable[int]], dict[int, str]],
    config: DedupConfig,
) -> list[tuple[int, int]]:
    """Candidate pairs whose shingle sets really reach the Jaccard threshold.

    ``fetch`` returns the text of the given sentence indices; only candidates are read back.
    """
    wanted = sorted({i for pair in candidates for i in pair})
    hashes = {i: shingle_hashes(t, config.shingle_size) for i, t in fetch(wanted).items()}
    return [(i, j) for i, j in candidates if jaccard(hashes[i], hashes[j]) >= config.threshold]


def near_duplicate_pairs(texts: Sequence[str], config: DedupConfig, seed: int) -> list[tuple[int, int]]:
    """All pairs (i, j), i < j, whose shingle sets have Jaccard similarity >= the threshold."""
    keys = BandKeys(config, seed)
    keys.add(texts)
    return verified_pairs(keys.candidates(), lambda idx: {i: texts[i] for i in idx}, config)


def clusters(n: int, pairs: Sequence[tuple[int, int]]) -> np.ndarray:
    """Union-find over ``pairs``: the representative (smallest index) of each item's cluster."""
    parent = np.arange(n)

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return int(root)

    for i, j in pairs:
        ri, rj = find(i), find(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    # Only sentences named in a pair can point elsewhere; everything else is its own root.
    for x in sorted({i for pair in pairs for i in pair}):
        parent[x] = find(x)
    return parent
