"""The data a comparison works on: the CV pool and the gold test rows as arrays, and their CV splits."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from training.errors import StanceError
from training.train_config import TrainConfig

Progress = Callable[[str], None]
GROUPINGS = ("document", "episode")


@dataclass
class Data:
    """Train + validation (the CV pool) and the gold test sentences, as plain arrays."""

    texts: list[str]
    labels: Any  # numpy array of label names
    docs: Any
    gold: Any  # bool mask
    weight: Any  # confidence; 1.0 for gold
    test_texts: list[str]
    test_labels: Any
    test_meta: list[dict[str, Any]]
    fingerprint: str
    dataset_hash: str
    info: dict[str, Any]
    source: str = ""
    episodes: Any = None  # normalization episode of each pool row (its document where none is recorded)
    registers: Any = None  # register of each pool row's document (news, op-ed, ...), "" where unknown

    def groups(self, grouping: str) -> Any:
        """The CV group of each pool row: its document, or its episode."""
        return self.episodes if grouping == "episode" and self.episodes is not None else self.docs

    @property
    def has_weak(self) -> bool:
        """Whether the pool holds weak labels at all."""
        return bool((~self.gold).any())


def _names(split: Any) -> list[str]:
    feature = split.features["label"]
    raw = split["label"]
    if hasattr(feature, "int2str"):
        return [feature.int2str(int(v)) for v in raw]
    return [str(v) for v in raw]


def prepare(dsd: Any, info: Mapping[str, Any], source: str = "") -> Data:
    """Arrays for CV and test from a built DatasetDict; test keeps its gold rows only."""
    import numpy as np

    missing = [s for s in ("train", "validation", "test") if s not in dsd]
    if missing:
        raise StanceError(
            f"dataset {source or '<memory>'} has no split(s) {', '.join(missing)} "
            "(rebuild it with `stance build-dataset`)"
        )
    texts: list[str] = []
    labels: list[str] = []
    docs: list[str] = []
    sources: list[str] = []
    conf: list[float] = []
    episodes: list[str] = []
    registers: list[str] = []
    for name in ("train", "validation"):
        split = dsd[name]
        n = len(split)
        episodes += list(split["episode"]) if "episode" in split.column_names else [""] * n
        registers += list(split["register"]) if "register" in split.column_names else [""] * n
        texts += list(split["text"])
        labels += _names(split)
        docs += list(split["doc_id"])
        sources += list(split["label_source"])
        conf += [float(c) for c in split["confidence"]]
    test = dsd["test"]
    t_gold = [s == "gold" for s in test["label_source"]]
    t_labels = _names(test)
    keep = [i for i, g in enumerate(t_gold) if g]
    idx = test["sentence_index"] if "sentence_index" in test.column_names else [-1] * len(test)
    gold = np.array([s == "gold" for s in sources], dtype=bool)
    weight = np.where(gold, 1.0, np.clip(np.array(conf, dtype=np.float64), 0.0, 1.0))
    return Data(
        texts=texts,
        labels=np.array(labels, dtype=object),
        docs=np.array(docs, dtype=object),
        gold=gold,
        weight=weight,
        test_texts=[test["text"][i] for i in keep],
        test_labels=np.array([t_labels[i] for i in keep], dtype=object),
        test_meta=[{"doc_id": test["doc_id"][i], "sentence_index": int(idx[i])} for i in keep],
        fingerprint=str(info.get("fingerprint", "")),
        dataset_hash=str(info.get("config_hash", "")),
        info=dict(info),
        source=source,
        # Rows without an episode (corpora other than the seeds) form a group of their own document.
        episodes=(np.array([e or f"doc:{d}" for e, d in zip(episodes, docs)], dtype=object) if any(episodes) else None),
        registers=np.array(registers, dtype=object),
    )


def make_splits(data: Data, folds: int, seed: int, grouping: str = "document") -> list[tuple[Any, Any]]:
    """``(train rows, gold held-out rows)`` of stratified k-fold CV grouped by document or by episode."""
    import numpy as np
    from sklearn.model_selection import StratifiedGroupKFold

    cv = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    out = []
    for tr, te in cv.split(np.zeros(len(data.texts)), data.labels, groups=data.groups(grouping)):
        out.append((tr, te[data.gold[te]]))
    return out


def training_rows(data: Data, rows: Any, mode: str) -> tuple[Any, Any]:
    """Training rows of ``rows`` for ``mode`` and their sample weights (None for gold)."""
    if mode == "gold":
        return rows[data.gold[rows]], None
    return rows, data.weight[rows]


def chosen_grouping(cfg: TrainConfig, data: Data) -> str:
    """The grouping that picks the best: the configured one, or documents when no row records an episode."""
    return cfg.comparison.grouping if data.episodes is not None else "document"


def modes(cfg: TrainConfig) -> list[str]:
    """The label modes the candidates are trained in, in leaderboard order."""
    return {"gold": ["gold"], "gold+weak": ["gold+weak"], "both": ["gold", "gold+weak"]}[cfg.training_data]
