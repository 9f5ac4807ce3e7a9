"""Exact and near-duplicate detection: MinHash over word shingles, banded LSH, exact Jaccard check.

Everything is vectorised over the whole corpus so that 100,000 sentences take seconds.
Hashes use CRC32 rather than Python's ``hash`` so results do not depend on PYTHONHASHSEED.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence

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


def _shingle_hashes(texts: Sequence[str], size: int) -> tuple[np.ndarray, np.ndarray]:
    """CRC32 of every distinct shingle of every text, flattened, with each text's start offset.

    Only the hashes are kept (8 bytes a shingle rather than a Python string), so memory stays
    small on large corpora; Jaccard is later computed on these hashes.
    """
    lengths = np.zeros(len(texts) + 1, dtype=np.int64)
    chunks: list[int] = []
    for i, text in enumerate(texts):
        hashed = {zlib.crc32(g.encode()) for g in shingles(text, size)}
        chunks.extend(sorted(hashed))
        lengths[i + 1] = len(hashed)
    return np.array(chunks, dtype=np.uint64), np.cumsum(lengths)


def _signatures(hashes: np.ndarray, bounds: np.ndarray, config: DedupConfig, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = rng.integers(1, (1 << 61) - 1, size=config.num_perm, dtype=np.uint64)
    b = rng.integers(0, (1 << 61) - 1, size=config.num_perm, dtype=np.uint64)
    n = len(bounds) - 1
    sig = np.full((n, config.num_perm), np.iinfo(np.uint64).max, dtype=np.uint64)
    nonempty = bounds[1:] > bounds[:-1]
    if not nonempty.any():
        return sig
    offsets = bounds[:-1][nonempty]
    for p in range(config.num_perm):
        # uint64 arithmetic wraps; the result is still a fixed pseudo-random permutation per p.
        perm = (a[p] * hashes + b[p]) % _PRIME
        sig[nonempty, p] = np.minimum.reduceat(perm, offsets)
    return sig


def near_duplicate_pairs(texts: Sequence[str], config: DedupConfig, seed: int) -> list[tuple[int, int]]:
    """All pairs (i, j), i < j, whose shingle sets have Jaccard similarity >= the threshold."""
    hashes, bounds = _shingle_hashes(texts, config.shingle_size)
    sig = _signatures(hashes, bounds, config, seed)
    rows = config.num_perm // config.bands
    candidates: set[tuple[int, int]] = set()
    idx = np.nonzero(bounds[1:] > bounds[:-1])[0]
    for band in range(config.bands):
        block = np.ascontiguousarray(sig[idx, band * rows : (band + 1) * rows])
        keys = block.view(np.dtype((np.void, block.dtype.itemsize * rows))).ravel()
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        starts = np.flatnonzero(np.concatenate(([True], sorted_keys[1:] != sorted_keys[:-1])))
        ends = np.append(starts[1:], len(order))
        for s, e in zip(starts, ends):
            if e - s > 1:
                members = sorted(idx[order[s:e]].tolist())
                for x in range(len(members)):
                    for y in range(x + 1, len(members)):
                        candidates.add((members[x], members[y]))
    pairs = []
    for i, j in sorted(candidates):
        a, b = hashes[bounds[i] : bounds[i + 1]], hashes[bounds[j] : bounds[j + 1]]
        common = np.intersect1d(a, b, assume_unique=True).size
        if common / (a.size + b.size - common) >= config.threshold:
            pairs.append((i, j))
    return pairs


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
    return np.array([find(i) for i in range(n)], dtype=np.int64)
