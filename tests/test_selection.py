import numpy as np
import pytest
from training.selection import Embedding, cold_start, embed, select, uncertainty


def test_margin_and_entropy_rank_the_unsure_first() -> None:
    proba = np.array([[0.98, 0.01, 0.01], [0.5, 0.45, 0.05], [1 / 3, 1 / 3, 1 / 3]])
    assert uncertainty(proba, "margin") == pytest.approx([0.03, 0.95, 1.0])
    entropy = uncertainty(proba, "entropy")
    assert entropy[2] == pytest.approx(1.0) and entropy[0] < entropy[1] < entropy[2]
    with pytest.raises(ValueError, match="unknown uncertainty measure 'gini'"):
        uncertainty(proba, "gini")


def _three_topics() -> tuple[list[str], list[str]]:
    texts, docs = [], []
    for t, topic in enumerate(["embassy ambassador envoy", "flights airport airline", "border crossing trucks"]):
        for i in range(6):
            texts.append(f"{topic} item{t}{i} detail{i}")
            docs.append(f"doc{t}")
    return texts, docs


def test_select_spreads_the_batch_over_clusters_and_caps_documents() -> None:
    texts, docs = _three_topics()
    emb = embed(texts, seed=0)
    scores = np.array([0.9 - 0.01 * i for i in range(18)])  # the first topic is the most uncertain
    plain = np.argsort(-scores)[:3].tolist()
    assert {docs[i] for i in plain} == {"doc0"}
    picked = select(scores, emb, docs, k=3, seed=0)
    assert sorted(docs[i] for i, _ in picked) == ["doc0", "doc1", "doc2"]
    assert picked[0][0] == 0  # the most uncertain sentence of the most uncertain cluster comes first
    capped = select(scores, emb, docs, k=6, seed=0, per_group=2)
    assert sorted(docs[i] for i, _ in capped) == ["doc0", "doc0", "doc1", "doc1", "doc2", "doc2"]
    only = select(scores, emb, docs, k=2, seed=0, candidates=np.arange(6, 18))
    assert all(i >= 6 for i, _ in only)


def test_select_skips_near_duplicates_and_cold_start_needs_no_model() -> None:
    texts = [
        "Riyadh reopened its embassy in Damascus today.",
        "Riyadh reopened its embassy in Damascus today!",
        "Protesters rejected the deal in Rabat.",
        "The weather was mild in Amman.",
    ]
    emb = embed(texts, seed=1)
    picked = [
        i for i, _ in select(np.array([1.0, 0.99, 0.5, 0.4]), emb, ["a", "b", "c", "d"], k=2, seed=1, pool_factor=2)
    ]
    assert picked[0] == 0 and 1 not in picked
    first = cold_start(emb, ["a", "b", "c", "d"], k=3, seed=1)
    assert len(first) == 3 and len({c for _, c in first}) == 3
    assert select(np.zeros(0), Embedding(np.zeros((0, 2)), None), [], k=3, seed=0) == []
