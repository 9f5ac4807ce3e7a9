"""Which sentences to label next: the model's uncertainty, spread over clusters and documents.

Plain uncertainty sampling takes the k sentences the model is least sure of, and those tend to
be alike (the same kind of hedge, the same document, near copies of one wire story), so a
batch teaches the model one thing k times. :func:`select` keeps the uncertainty but spreads
the batch: it takes the most uncertain ``pool_factor * k`` candidates, groups them into k
clusters of sentence embeddings, and fills the batch round-robin from the clusters (most
uncertain first within each), skipping near-duplicates of sentences already chosen and
sentences of a document that already gave ``per_group``. :func:`cold_start` is the same
spread without a model: a random sentence from each of k clusters of the whole pool.

Sentence embeddings are latent semantic vectors (word TF-IDF reduced by truncated SVD): cheap,
deterministic, and enough to tell topics and phrasings apart; any (n, d) array works instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

MEASURES = ("margin", "entropy")
NEAR_DUPLICATE = 0.8  # cosine similarity of TF-IDF vectors above which two sentences count as copies
POOL_FACTOR = 10


@dataclass(frozen=True)
class Embedding:
    """Dense vectors for clustering and sparse unit TF-IDF rows for the near-duplicate check."""

    dense: np.ndarray
    sparse: Any


def uncertainty(proba: np.ndarray, measure: str = "margin") -> np.ndarray:
    """Higher is less certain: 1 minus the gap between the top two probabilities, or normalised entropy."""
    proba = np.asarray(proba, dtype=np.float64)
    if measure == "margin":
        top = np.sort(proba, axis=1)
        return 1.0 - (top[:, -1] - top[:, -2])
    if measure == "entropy":
        p = np.clip(proba, 1e-12, 1.0)
        return -(p * np.log(p)).sum(axis=1) / np.log(proba.shape[1])
    raise ValueError(f"unknown uncertainty measure {measure!r} (use one of {', '.join(MEASURES)})")


def embed(texts: Sequence[str], seed: int, dims: int = 64) -> Embedding:
    """LSA vectors (unit length) and unit TF-IDF rows of ``texts``."""
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    tfidf = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1).fit_transform(list(texts))
    rank = min(dims, tfidf.shape[1] - 1, tfidf.shape[0] - 1)
    dense = tfidf.toarray() if rank < 2 else TruncatedSVD(n_components=rank, random_state=seed).fit_transform(tfidf)
    return Embedding(normalize(dense), tfidf)


def _clusters(vectors: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Cluster of each row and its distance to the cluster centre (k-means, one seeded start)."""
    from sklearn.cluster import KMeans

    k = max(1, min(k, len(vectors)))
    if k == 1:
        centre = vectors.mean(axis=0, keepdims=True)
        return np.zeros(len(vectors), dtype=np.int64), np.linalg.norm(vectors - centre, axis=1)
    km = KMeans(n_clusters=k, n_init=1, random_state=seed).fit(vectors)
    distance = np.linalg.norm(vectors - km.cluster_centers_[km.labels_], axis=1)
    return km.labels_.astype(np.int64), distance


def _fill(
    order: list[list[int]], emb: Embedding, groups: Sequence[Any], k: int, per_group: int | None, counts: dict[Any, int]
) -> list[int]:
    """Round-robin over the clusters' queues, skipping copies and documents at their cap."""
    chosen: list[int] = []
    queues = [list(q) for q in order]
    while len(chosen) < k and any(queues):
        for queue in queues:
            while queue:
                i = queue.pop(0)
                if per_group is not None and counts.get(groups[i], 0) >= per_group:
                    continue
                if chosen and (emb.sparse[chosen] @ emb.sparse[i].T).max() > NEAR_DUPLICATE:
                    continue
                chosen.append(i)
                counts[groups[i]] = counts.get(groups[i], 0) + 1
                break
            if len(chosen) == k:
                break
    return chosen


def select(
    scores: np.ndarray,
    emb: Embedding,
    groups: Sequence[Any],
    k: int,
    seed: int,
    per_group: int | None = None,
    candidates: np.ndarray | None = None,
    pool_factor: int = POOL_FACTOR,
) -> list[tuple[int, int]]:
    """Up to ``k`` (row, cluster) pairs: uncertain rows (high ``scores``) spread over clusters.

    ``candidates`` limits the rows that may be chosen (default all); ``groups`` is the document
    of each row, capped at ``per_group`` chosen rows.
    """
    rows = np.arange(len(scores)) if candidates is None else np.asarray(candidates)
    if not len(rows) or k <= 0:
        return []
    top = rows[np.argsort(-scores[rows], kind="stable")[: max(k * pool_factor, k)]]
    labels, _ = _clusters(emb.dense[top], k, seed)
    best = {c: float(scores[top[labels == c]].max()) for c in np.unique(labels).tolist()}
    order = [[int(i) for i in top[labels == c]] for c in sorted(best, key=lambda c: (-best[c], c))]
    chosen = _fill(order, emb, groups, k, per_group, {})
    cluster = {int(i): int(c) for i, c in zip(top, labels)}
    return [(i, cluster[i]) for i in chosen]


def cold_start(
    emb: Embedding,
    groups: Sequence[Any],
    k: int,
    seed: int,
    per_group: int | None = None,
    candidates: np.ndarray | None = None,
) -> list[tuple[int, int]]:
    """Up to ``k`` (row, cluster) pairs without a model: one row drawn at random from each of k clusters.

    A random member, not the one nearest the centre: the most central sentences of a cluster are
    its most generic ones (short background lines), which teach a first model little.
    """
    rows = np.arange(len(emb.dense)) if candidates is None else np.asarray(candidates)
    if not len(rows) or k <= 0:
        return []
    labels, _ = _clusters(emb.dense[rows], k, seed)
    rng = np.random.default_rng(seed)
    order = [[int(rows[m]) for m in rng.permutation(np.flatnonzero(labels == c))] for c in range(int(labels.max()) + 1)]
    chosen = _fill(order, emb, groups, k, per_group, {})
    cluster = {int(r): int(c) for r, c in zip(rows, labels)}
    return [(i, cluster[i]) for i in chosen]
