"""``stance train``: an honest, repeatable comparison of the configured candidates.

Protocol, per candidate and training-data mode (gold, or gold plus weak labels weighted by
their confidence):

1. Search: every point of the candidate's grid is scored by stratified, document-grouped
   k-fold CV on train + validation (one seed); the best mean score wins, ties to the first.
2. Score: the chosen point is scored by ``repeats`` further runs of the same CV with other
   seeds. Every candidate sees the same splits, so their per-split scores are paired and the
   corrected resampled t-test (or a bootstrap) can tell a real gap from noise.
3. Test: the chosen point is fitted on all of train + validation and applied once to test.

Only gold sentences are ever scored; weak labels are training material, not ground truth.
The best candidate (highest mean CV score, never the test score) is logged as champion and
exported. Everything is seeded from ``config.seed``: the same data, config and seed give the
same scores.
"""

from __future__ import annotations

import itertools
import math
import os
import signal
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from training import classifiers as reg
from training import metrics
from training.config import LABELS, config_hash
from training.errors import StanceError
from training.train_config import CandidateConfig, TrainConfig

Progress = Callable[[str], None]
SCORES = ("macro_f1", "f_avg", "accuracy")
CALIBRATION_COLUMNS = ("cv_ece", "cv_brier", "cv_log_loss", "test_ece", "test_brier", "test_log_loss")


# ---------------------------------------------------------------- data


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


GROUPINGS = ("document", "episode")


def make_splits(data: Data, folds: int, seed: int, grouping: str = "document") -> list[tuple[Any, Any]]:
    """``(train rows, gold held-out rows)`` of stratified k-fold CV grouped by document or by episode."""
    import numpy as np
    from sklearn.model_selection import StratifiedGroupKFold

    cv = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    out = []
    for tr, te in cv.split(np.zeros(len(data.texts)), data.labels, groups=data.groups(grouping)):
        out.append((tr, te[data.gold[te]]))
    return out


def _rows(data: Data, rows: Any, mode: str) -> tuple[Any, Any]:
    """Training rows of ``rows`` for ``mode`` and their sample weights (None for gold)."""
    if mode == "gold":
        return rows[data.gold[rows]], None
    return rows, data.weight[rows]


# ---------------------------------------------------------------- checks before training


def _grid(cand: CandidateConfig) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Every ``(classifier params, feature params)`` point of the candidate's search, in order."""
    keys = [("c", k) for k in sorted(cand.search)] + [("f", k) for k in sorted(cand.feature_search)]
    values = [cand.search[k] if w == "c" else cand.feature_search[k] for w, k in keys]
    points = []
    for combo in itertools.product(*values):
        cp, fp = dict(cand.params), dict(cand.feature_params)
        for (w, k), v in zip(keys, combo):
            (cp if w == "c" else fp)[k] = list(v) if isinstance(v, tuple) else v
        points.append((cp, fp))
    return points


def _with_context(cand: CandidateConfig, params: dict[str, Any], info: Mapping[str, Any]) -> dict[str, Any]:
    """Fill in what a classifier takes from the dataset (the rule lexicons the builder used)."""
    if cand.classifier == "rules":
        labeling = dict(info.get("labeling") or {})
        model = labeling.pop("label_model", "auto")
        params = {"lexicons": labeling, "label_model": model, **params}
    return params


def _validate_estimator(est: Any) -> None:
    """Run scikit-learn's own parameter checks on ``est`` and everything nested in it."""
    from sklearn.base import BaseEstimator

    if est is None:
        return
    if hasattr(est, "_parameter_constraints") and hasattr(est, "_validate_params"):
        est._validate_params()
    for value in est.get_params(deep=False).values():
        if isinstance(value, BaseEstimator):
            _validate_estimator(value)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, tuple) and len(item) >= 2 and isinstance(item[1], BaseEstimator):
                    _validate_estimator(item[1])


def check_plan(cfg: TrainConfig, data: Data) -> None:
    """Raise one :class:`StanceError` listing every problem that would stop training later."""
    problems: list[str] = []
    where = "the train config"
    k = cfg.cv.folds
    if not data.gold.any():
        problems.append(f"no gold sentences in train+validation of {data.source} (annotate some; only gold is scored)")
    if len(data.test_texts) == 0:
        problems.append(
            f"no gold sentences in the test split of {data.source} (rebuild the dataset with gold test documents)"
        )
    problems += _group_problems(data, k, _grouping(cfg, data), where)
    if cfg.training_data != "gold" and not data.has_weak:
        problems.append(
            f"training_data is '{cfg.training_data}' but {data.source} has no weak labels "
            f"(set training_data: gold in {where}, or build the dataset with unannotated documents)"
        )
    min_train = _smallest_training_fold(data, cfg) if not problems else 0
    problems += _encoder_problems(cfg)
    for cand in cfg.candidates:
        for cp, fp in _grid(cand):
            shown = ", ".join(f"{a}={b!r}" for a, b in {**cp, **fp}.items()) or "defaults"
            try:
                feats = reg.build_features(cand.features, fp)
                clf = reg.build_classifier(cand.classifier, _with_context(cand, cp, data.info), cfg.seed)
                _validate_estimator(feats)
                _validate_estimator(clf)
            except Exception as exc:  # sklearn raises several types; each becomes one line
                msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                problems.append(
                    f"impossible parameters for candidate '{cand.name}' ({shown}): {msg} "
                    f"(fix its params/search in {where})"
                )
                continue
            defaults = reg.CLASSIFIERS[cand.classifier].defaults
            nn = cp.get("n_neighbors", defaults.get("n_neighbors"))
            if cand.classifier == "knn" and isinstance(nn, int) and min_train and nn > min_train:
                problems.append(
                    f"impossible parameters for candidate '{cand.name}': n_neighbors={nn} is more "
                    f"than the {min_train} training sentences of the smallest fold (search smaller values)"
                )
            nc = cp.get("n_components", defaults.get("n_components"))
            if cand.classifier == "random_forest" and isinstance(nc, int) and min_train and nc >= min_train:
                problems.append(
                    f"impossible parameters for candidate '{cand.name}': n_components={nc} needs more "
                    f"than the {min_train} training sentences of the smallest fold (lower it)"
                )
    if problems:
        raise StanceError(*problems)


def _group_problems(data: Data, k: int, grouping: str, where: str) -> list[str]:
    """Why ``k``-fold CV grouped by ``grouping`` is impossible on ``data`` (empty if it is possible)."""
    unit = "episodes" if grouping == "episode" and data.episodes is not None else "documents"
    groups = data.groups(grouping)
    n_groups = len(set(groups.tolist()))
    if n_groups < k:
        other = " or comparison.grouping: document" if grouping == "episode" else ""
        return [
            f"only {n_groups} {unit} in train+validation for cv.folds={k} "
            f"(set cv.folds to {max(2, n_groups)} or fewer{other} in {where}, or add {unit})"
        ]
    out = []
    for label in LABELS:
        mask = data.gold & (data.labels == label)
        n, d = int(mask.sum()), len(set(groups[mask].tolist()))
        if d < k:
            fix = f"set cv.folds to {d} or fewer in {where}" if d >= 2 else f"annotate more {unit} with this label"
            out.append(
                f"too few examples of class '{label}' for cv.folds={k}: {n} gold sentences in "
                f"{d} {unit} of train+validation, and every fold needs one ({fix})"
            )
    return out


def _encoder_problems(cfg: TrainConfig) -> list[str]:
    """One line per sentence encoder the candidates use that cannot be loaded here."""
    from training import encoders

    out: list[str] = []
    for name, backend in sorted({p for cand in cfg.candidates for p in cand.encoder_backends}):
        try:
            encoders.require(name, backend)
        except StanceError as exc:
            out += [line for line in exc.problems if line not in out]
    return out


def _warm_encoders(cfg: TrainConfig, data: Data, say: Progress) -> None:
    """Encode every sentence of the pool and of test once per encoder in use, before any worker starts.

    The workers then read the vectors from the cache instead of each encoding them again.
    """
    from training import encoders

    pairs = sorted({p for cand in cfg.candidates for p in cand.encoder_backends})
    if not pairs:
        return
    encoders.use_cache(cfg.embedding_cache)
    texts = list(dict.fromkeys([*data.texts, *data.test_texts]))
    for name, backend in pairs:
        t0 = time.perf_counter()
        encoders.embed(name, texts, backend=backend)
        shown = name if backend == "torch" else f"{name} ({backend})"
        say(
            f"encoder {shown}: {len(texts)} sentences ready in {time.perf_counter() - t0:.1f} s "
            f"(cache: {cfg.embedding_cache or 'memory only'})"
        )


def _smallest_training_fold(data: Data, cfg: TrainConfig) -> int:
    """Fewest training sentences any fit of the comparison will get (search and scoring splits)."""
    seeds = range(cfg.seed, cfg.seed + cfg.cv.repeats + 1)
    sizes = [
        len(_rows(data, tr, mode)[0])
        for g in _groupings(cfg, data)
        for s in seeds
        for tr, _ in make_splits(data, cfg.cv.folds, s, g)
        for mode in _modes(cfg)
    ]
    return min(sizes)


# ---------------------------------------------------------------- evaluation


@dataclass
class Entry:
    """One leaderboard row: a candidate trained on one kind of labels, fully scored."""

    key: str
    candidate: CandidateConfig
    mode: str
    params: dict[str, Any] = field(default_factory=dict)
    feature_params: dict[str, Any] = field(default_factory=dict)
    search: list[dict[str, Any]] = field(default_factory=list)
    cv: list[dict[str, float]] = field(default_factory=list)  # under the grouping that picks the best
    cv_by: dict[str, list[dict[str, float]]] = field(default_factory=dict)  # every grouping computed
    grouping: str = "document"
    register_f1: dict[str, float] = field(default_factory=dict)  # out-of-fold macro-F1 per register
    test: dict[str, float] = field(default_factory=dict)
    report: dict[str, dict[str, float]] = field(default_factory=dict)
    confusion: list[list[int]] = field(default_factory=list)
    test_pred: list[str] = field(default_factory=list)
    test_proba: Any = None
    classes: list[str] = field(default_factory=list)
    fit_seconds: float = 0.0
    predict_per_second: float = 0.0
    size_bytes: int = 0
    model_bytes: bytes = b""  # the skops file, written once here and reused by model logging and the export
    weighted: bool = False
    model: Any = None
    comparison: dict[str, Any] = field(default_factory=dict)
    confusion_png: bytes = b""
    run_id: str = ""
    oof_rows: Any = None  # pool rows of the out-of-fold predictions (every repeat of the choosing grouping)
    oof_proba: Any = None  # their probabilities, columns in LABELS order
    calibration: dict[str, float] = field(default_factory=dict)  # cv_/test_ ece, brier, log_loss
    reliability_png: bytes = b""

    @property
    def baseline(self) -> bool:
        """Whether this is a reference point (dummy floor or the rules) rather than a learner."""
        return reg.CLASSIFIERS[self.candidate.classifier].baseline

    def cv_summary(self) -> dict[str, tuple[float, float]]:
        """Mean and standard deviation of each score over the CV splits."""
        return {s: metrics.mean_std([row[s] for row in self.cv]) for s in SCORES}

    def row(self) -> dict[str, Any]:
        """The flat leaderboard row shown by the CLI and stored in MLflow."""
        cvs = self.cv_summary()
        out: dict[str, Any] = {
            "candidate": self.key,
            "features": self.candidate.features,
            "classifier": self.candidate.classifier,
            "training_data": self.mode,
        }
        for s in SCORES:
            out[f"cv_{s}_mean"], out[f"cv_{s}_std"] = cvs[s]
        out["grouping"] = self.grouping
        for g in GROUPINGS:
            runs = self.cv_by.get(g)
            out[f"cv_{g}_macro_f1_mean"], out[f"cv_{g}_macro_f1_std"] = (
                metrics.mean_std([r["macro_f1"] for r in runs]) if runs else (math.nan, math.nan)
            )
        out["cv_register_macro_f1"] = dict(self.register_f1)
        for s in SCORES:
            out[f"test_{s}"] = self.test[s]
        for k in CALIBRATION_COLUMNS:
            out[k] = self.calibration.get(k, math.nan)
        out.update(
            {
                "fit_seconds": self.fit_seconds,
                "predict_sentences_per_s": self.predict_per_second,
                "model_size_bytes": self.size_bytes,
                "tied_with_best": bool(self.comparison.get("tied")),
                "is_best": bool(self.comparison.get("is_best")),
                "is_champion": bool(self.comparison.get("is_champion")),
                "p_value": self.comparison.get("p_value", math.nan),
                "mean_diff": self.comparison.get("mean_diff", math.nan),
            }
        )
        # The chosen parameters; the rule lexicons come from the dataset, not the search.
        chosen = {k: v for k, v in self.params.items() if k != "lexicons"}
        out["params"] = {**chosen, **{f"features.{k}": v for k, v in self.feature_params.items()}}
        return out


class _Features:
    """Per-fold feature matrices, computed once per (extractor, params, split, mode)."""

    def __init__(self, data: Data) -> None:
        self.data = data
        self._counts: dict[Any, reg.FoldFeatures] = {}
        self._folds: dict[Any, tuple[Any, Any]] = {}

    def get(
        self, features: str, params: Mapping[str, Any], split_id: Any, rows: Any, held: Any, mode: str
    ) -> tuple[Any, Any]:
        key = (features, repr(sorted(params.items())))
        if (key, split_id, mode) not in self._folds:
            if key not in self._counts:
                self._counts[key] = reg.FoldFeatures(reg.build_features(features, params), self.data.texts)
            self._folds[(key, split_id, mode)] = self._counts[key].fold(rows, held)
        return self._folds[(key, split_id, mode)]

    def keep_only(self, features: str) -> None:
        """Drop cached matrices of other extractors (bounds memory: candidates run grouped)."""
        for cache in (self._counts, self._folds):
            for k in [k for k in cache if (k[0] if isinstance(k[0], str) else k[0][0]) != features]:
                del cache[k]


def _cv_scores(
    data: Data,
    feats: _Features,
    cand: CandidateConfig,
    mode: str,
    cp: dict[str, Any],
    fp: dict[str, Any],
    splits: list[tuple[Any, Any]],
    tag: str,
    seed: int,
    preds: list[Any] | None = None,
    probas: list[Any] | None = None,
) -> list[dict[str, float]]:
    """Scores of each split; with ``preds`` (``probas``), each split's held-out predictions
    (probabilities, columns in LABELS order) are appended to it."""
    comp = reg.CLASSIFIERS[cand.classifier]
    out = []
    for i, (tr, held) in enumerate(splits):
        rows, w = _rows(data, tr, mode)
        if comp.needs_features:
            xtr, xte = feats.get(cand.features, fp, (tag, i), rows, held, mode)
        else:
            xtr, xte = [data.texts[j] for j in rows], [data.texts[j] for j in held]
        clf = reg.build_classifier(cand.classifier, _with_context(cand, cp, data.info), seed)
        reg.fit(clf, xtr, data.labels[rows].tolist(), w)
        predicted = [str(p) for p in clf.predict(xte)]
        out.append(metrics.scores(data.labels[held].tolist(), predicted))
        if preds is not None:
            preds.append(predicted)
        if probas is not None:
            from training.calibration import aligned

            probas.append(aligned(clf.predict_proba(xte), [str(c) for c in clf.classes_], LABELS))
    return out


def _register_scores(data: Data, splits: list[tuple[Any, Any]], preds: list[Any]) -> dict[str, float]:
    """Macro-F1 per register from the out-of-fold predictions of every repetition, pooled."""
    gold: dict[str, list[str]] = {}
    said: dict[str, list[str]] = {}
    for (_, held), predicted in zip(splits, preds):
        for row, p in zip(held.tolist(), predicted):
            register = str(data.registers[row]) if data.registers is not None else ""
            gold.setdefault(register or "unknown", []).append(str(data.labels[row]))
            said.setdefault(register or "unknown", []).append(p)
    return {r: metrics.macro_f1(gold[r], said[r]) for r in sorted(gold)}


def evaluate(
    data: Data,
    cand: CandidateConfig,
    mode: str,
    key: str,
    feats: _Features,
    search_splits: list[tuple[Any, Any]],
    eval_splits: dict[str, list[tuple[Any, Any]]],
    cfg: TrainConfig,
) -> Entry:
    """Search, repeated CV (under each grouping in ``eval_splits``) and the single test evaluation of one candidate.

    The search and the scores that pick the best use ``cfg.comparison.grouping``.
    """
    import numpy as np

    from training.persistence import dump_bytes

    metric = cfg.comparison.metric
    grid = _grid(cand)
    entry = Entry(key=key, candidate=cand, mode=mode)
    best = grid[0]
    if len(grid) > 1:
        best_score = -math.inf
        for cp, fp in grid:
            s = metrics.mean_std(
                [r[metric] for r in _cv_scores(data, feats, cand, mode, cp, fp, search_splits, "search", cfg.seed)]
            )[0]
            entry.search.append({"params": {**cp, **{f"features.{k}": v for k, v in fp.items()}}, "score": s})
            if s > best_score:
                best, best_score = (cp, fp), s
    entry.params, entry.feature_params = best
    grouping = entry.grouping = _grouping(cfg, data)
    for g, splits in eval_splits.items():
        preds: list[Any] = []
        probas: list[Any] | None = [] if g == grouping else None
        entry.cv_by[g] = _cv_scores(data, feats, cand, mode, *best, splits, f"eval-{g}", cfg.seed, preds, probas)
        if g == grouping:
            entry.register_f1 = _register_scores(data, splits, preds)
            entry.oof_rows = np.concatenate([held for _, held in splits])
            entry.oof_proba = np.vstack(probas) if probas else np.zeros((0, len(LABELS)))
    entry.cv = entry.cv_by[grouping]

    model = reg.assemble(
        reg.build_features(cand.features, best[1]),
        reg.build_classifier(cand.classifier, _with_context(cand, best[0], data.info), cfg.seed),
    )
    rows, w = _rows(data, np.arange(len(data.texts)), mode)
    t0 = time.perf_counter()
    entry.weighted = reg.fit(model, [data.texts[j] for j in rows], data.labels[rows].tolist(), w)
    entry.fit_seconds = time.perf_counter() - t0
    entry.test_proba, entry.predict_per_second = _timed_proba(model, data.test_texts)
    entry.test_pred = [str(p) for p in model.predict(data.test_texts)]
    gold = data.test_labels.tolist()
    entry.test = metrics.scores(gold, entry.test_pred)
    entry.report = metrics.per_class(gold, entry.test_pred)
    entry.confusion = metrics.confusion(gold, entry.test_pred)
    entry.classes = [str(c) for c in model.classes_]
    entry.model_bytes = dump_bytes(model)
    entry.size_bytes = _serving_bytes(model, entry.model_bytes)
    entry.model = model
    from training.charts import confusion_png

    entry.confusion_png = confusion_png(entry.confusion, key, entry.test["macro_f1"])
    _calibration_scores(entry, data)
    return entry


def _calibration_scores(entry: Entry, data: Data) -> None:
    """ECE, Brier and log loss of the pooled out-of-fold and of the test probabilities; the reliability chart."""
    from training import calibration
    from training.charts import reliability_png

    oof_gold = data.labels[entry.oof_rows].tolist()
    test_proba = calibration.aligned(entry.test_proba, entry.classes, LABELS)
    gold = data.test_labels.tolist()
    entry.calibration = {
        **{f"cv_{k}": v for k, v in calibration.scores(oof_gold, entry.oof_proba, LABELS).items()},
        **{f"test_{k}": v for k, v in calibration.scores(gold, test_proba, LABELS).items()},
    }
    entry.reliability_png = reliability_png(
        {
            "out-of-fold": calibration.reliability_bins(oof_gold, entry.oof_proba, LABELS),
            "test": calibration.reliability_bins(gold, test_proba, LABELS),
        },
        f"{entry.key}: CV ECE {entry.calibration['cv_ece']:.3f}, test ECE {entry.calibration['test_ece']:.3f}",
    )


def _timed_proba(model: Any, texts: list[str]) -> tuple[Any, float]:
    """Probabilities of ``texts`` and sentences per second, every sentence encoded for real.

    The vector cache would flatter encoder models; the encoder is loaded before the timing.
    """
    from training import encoders

    with encoders.uncached():
        model.predict_proba(texts[:1])
        t0 = time.perf_counter()
        proba = model.predict_proba(texts)
        elapsed = time.perf_counter() - t0
    return proba, (len(texts) / elapsed if elapsed > 0 else math.inf)


def _serving_bytes(model: Any, model_bytes: bytes) -> int:
    """What serving needs: the model file plus the encoder weights it references."""
    from training import encoders

    return len(model_bytes) + sum(int(e.get("bytes", 0)) for e in encoders.referenced(model))


def compare(entries: list[Entry], cfg: TrainConfig, test_train_ratio: float) -> Entry:
    """Mark the best entry (mean CV score) and whether each other one is tied with it; return the champion.

    The champion is the best entry, or with ``comparison.choose: fastest_tied`` the entry with the
    highest prediction throughput among the learners statistically tied with it.
    """
    metric = cfg.comparison.metric
    means = [e.cv_summary()[metric][0] for e in entries]
    best = entries[max(range(len(entries)), key=lambda i: (means[i], -i))]
    best_scores = [r[metric] for r in best.cv]
    for i, e in enumerate(entries):
        result = metrics.paired_tie(
            best_scores,
            [r[metric] for r in e.cv],
            method=cfg.comparison.method,
            alpha=cfg.comparison.alpha,
            test_train_ratio=test_train_ratio,
            samples=cfg.comparison.bootstrap_samples,
            seed=cfg.seed + i,
        )
        result["is_best"] = e is best
        e.comparison = result
    champion = best
    if cfg.comparison.choose == "fastest_tied":
        tied = [e for e in entries if e.comparison["tied"] and not e.baseline] or [best]
        champion = max(tied, key=lambda e: (e.predict_per_second, e is best))
    for e in entries:
        e.comparison["is_champion"] = e is champion
    return champion


def _grouping(cfg: TrainConfig, data: Data) -> str:
    """The grouping that picks the best: the configured one, or documents when no row records an episode."""
    return cfg.comparison.grouping if data.episodes is not None else "document"


def _groupings(cfg: TrainConfig, data: Data) -> list[str]:
    """The grouping that picks the best, then the other one when CV grouped that way is possible and differs."""
    chosen = _grouping(cfg, data)
    if data.episodes is None:
        return [chosen]
    other = [g for g in GROUPINGS if g != chosen and not _group_problems(data, cfg.cv.folds, g, "")]
    return [chosen, *other]


def _all_splits(cfg: TrainConfig, data: Data) -> tuple[str, list[tuple[Any, Any]], dict[str, list[tuple[Any, Any]]]]:
    """The choosing grouping, its search splits, and the scoring splits of every grouping computed."""
    grouping = _grouping(cfg, data)
    search = make_splits(data, cfg.cv.folds, cfg.seed, grouping)
    scoring = {
        g: [s for r in range(1, cfg.cv.repeats + 1) for s in make_splits(data, cfg.cv.folds, cfg.seed + r, g)]
        for g in _groupings(cfg, data)
    }
    return grouping, search, scoring


def _quiet_worker_restarts() -> None:
    """Silence loky's warning when it replaces a worker whose memory grew (an encoder loaded to
    time prediction): results are unaffected, so it is noise for the user."""
    import warnings

    warnings.filterwarnings("ignore", message="A worker stopped while some jobs were given to the executor")


def _modes(cfg: TrainConfig) -> list[str]:
    return {"gold": ["gold"], "gold+weak": ["gold+weak"], "both": ["gold", "gold+weak"]}[cfg.training_data]


# Feature matrices cached per process: worker processes evaluate many candidates in a row, and
# those sharing an extractor reuse its counts and fold matrices. ``token`` tells runs apart.
_CACHE: dict[str, Any] = {"token": None, "features": None}


# Niceness of worker processes: the parent process logs each finished candidate to MLflow while
# the workers train; with the workers a few steps below it, that logging gets a core when it needs
# one instead of waiting behind the training, and the workers still have the cores the rest of
# the time.
WORKER_NICENESS = 5


def _yield_to_parent(parent_pid: int) -> None:
    """Lower this process's priority to WORKER_NICENESS if it is a worker (never the parent)."""
    if os.getpid() == parent_pid or not hasattr(os, "setpriority"):
        return
    try:
        if os.getpriority(os.PRIO_PROCESS, 0) < WORKER_NICENESS:
            os.setpriority(os.PRIO_PROCESS, 0, WORKER_NICENESS)
    except OSError:  # not permitted on this system: the workers keep their priority
        pass


def _task(
    token: str,
    data: Data,
    cand: CandidateConfig,
    mode: str,
    key: str,
    search_splits: list[tuple[Any, Any]],
    eval_splits: dict[str, list[tuple[Any, Any]]],
    cfg: TrainConfig,
    parent_pid: int | None,
) -> tuple[Entry, float, float]:
    """Evaluate one (candidate, mode) pair; runs in a worker process, in-process or on a Dask worker (no parent)."""
    from training.processes import watch_parent

    if parent_pid is not None:
        _yield_to_parent(parent_pid)
        watch_parent(parent_pid)
    from training import encoder_runtime, encoders

    encoders.use_cache(cfg.embedding_cache)
    if _CACHE["token"] != token:
        _CACHE["token"], _CACHE["features"] = token, _Features(data)
    feats: _Features = _CACHE["features"]
    feats.keep_only(cand.features)
    from threadpoolctl import threadpool_limits

    t0 = time.perf_counter()
    # One BLAS thread in every task, whatever the number of workers: no oversubscription of
    # the cores, and the same floating-point summation order (so the same scores) for any n_jobs.
    with threadpool_limits(limits=1), encoder_runtime.threads(1):  # torch too: one thread per task
        entry = evaluate(data, cand, mode, key, feats, search_splits, eval_splits, cfg)
    return entry, time.perf_counter() - t0, time.time()


def _cost(cand: CandidateConfig, cfg: TrainConfig) -> float:
    """Rough relative CPU cost of a candidate, to hand the longest ones out first."""
    fits = (
        (cand.grid_size * cfg.cv.folds if cand.grid_size > 1 else 0)
        + len(GROUPINGS) * cfg.cv.repeats * cfg.cv.folds
        + 1
    )
    return fits * reg.CLASSIFIERS[cand.classifier].cost * reg.FEATURES[cand.features].cost


@dataclass
class Comparison:
    """Entries in config order, the best one, and when training ran (``time.time()`` stamps)."""

    entries: list[Entry]
    best: Entry
    started: float
    finished: float


def run_comparison(
    cfg: TrainConfig,
    data: Data,
    progress: Progress | None = None,
    on_entry: Callable[[Entry], None] | None = None,
    on_start: Callable[[], None] | None = None,
) -> Comparison:
    """Evaluate every candidate in every mode and pick the best.

    With ``cfg.n_jobs > 1`` candidates run in worker processes: ``on_start`` runs once they
    have started and ``on_entry`` as each result arrives, both in this process, so MLflow work
    overlaps with the training still going on. Results do not depend on the number of workers.
    """
    import uuid

    say = progress or (lambda _msg: None)
    _warm_encoders(cfg, data, say)
    grouping, search_splits, eval_splits = _all_splits(cfg, data)
    modes = _modes(cfg)
    jobs = [(cand, mode) for cand in cfg.candidates for mode in modes]
    # Grouped by extractor so a worker reuses its cached fold matrices; costliest groups and
    # candidates first so that no worker is left alone with a long one at the end.
    group_cost: dict[str, float] = {}
    for cand, _ in jobs:
        group_cost[cand.features] = group_cost.get(cand.features, 0.0) + _cost(cand, cfg)
    order = sorted(
        range(len(jobs)),
        key=lambda i: (-group_cost[jobs[i][0].features], jobs[i][0].features, -_cost(jobs[i][0], cfg), i),
    )
    keys = [c.name if len(modes) == 1 else f"{c.name}@{m}" for c, m in jobs]
    token = uuid.uuid4().hex  # identifies this run's data in the per-process cache only
    parent = None if cfg.cluster else os.getpid()  # a Dask worker is no child of ours to watch
    args = [(token, data, jobs[i][0], jobs[i][1], keys[i], search_splits, eval_splits, cfg, parent) for i in order]
    started = time.time()
    if cfg.cluster:
        from training.cluster import run_tasks

        results: Any = run_tasks(cfg.cluster, _task, args, shared=(data, search_splits, eval_splits))
    elif cfg.n_jobs > 1:
        from joblib import Parallel, delayed

        _quiet_worker_restarts()
        # Workers start on this call; results come back in order through the generator.
        results = Parallel(n_jobs=min(cfg.n_jobs, len(args)), return_as="generator")(delayed(_task)(*a) for a in args)
    else:
        results = (_task(*a) for a in args)
    done: dict[int, Entry] = {}
    finished = started
    try:
        if on_start is not None:
            on_start()
        for n, (i, (entry, seconds, end)) in enumerate(zip(order, results), 1):
            done[i] = entry
            finished = max(finished, end)
            cvm = entry.cv_summary()[cfg.comparison.metric]
            say(
                f"[{n}/{len(jobs)}] {entry.key}: CV {cfg.comparison.metric} {cvm[0]:.3f} ± {cvm[1]:.3f}, "
                f"test {entry.test[cfg.comparison.metric]:.3f} ({seconds:.1f} s)"
            )
            if on_entry is not None:
                on_entry(entry)
    finally:
        results.close()  # on an error or interrupt: stop the workers instead of waiting for them
        _CACHE["token"] = _CACHE["features"] = None
    entries = [done[i] for i in range(len(jobs))]
    held = sum(len(te) for _, te in eval_splits[grouping])
    train = sum(len(tr) for tr, _ in eval_splits[grouping])
    ratio = held / train if train else 1.0 / (cfg.cv.folds - 1)
    best = compare(entries, cfg, ratio)
    return Comparison(entries, best, started, finished)


# ---------------------------------------------------------------- the command


@dataclass
class TrainResult:
    """What ``stance train`` did, for the CLI to print."""

    rows: list[dict[str, Any]]
    best: str
    metric: str
    experiment: str
    tracking_uri: str
    parent_run_id: str
    registered: str
    export_dir: str
    seconds_total: float
    seconds_tracking: float
    seconds_tracking_exclusive: float
    cpu_seconds_tracking: float
    tracking_timings: dict[str, float]
    method: str
    alpha: float
    exported: bool = True  # False when the gate kept the champion and the export was left as it was


@contextmanager
def _interrupts() -> Iterator[Callable[[], None]]:
    """Turn SIGINT and SIGTERM into KeyboardInterrupt; yield ``check``, which raises a lost one again.

    Runs are then closed as KILLED and nothing half-written stays. Python drops an exception
    raised while it runs a finalizer (a ``__del__`` or a weakref callback, such as a database
    connection collected as garbage) and only prints "Exception ignored"; a Ctrl-C landing there
    would let the run go on to replace the export. The signal is remembered, and ``check`` at
    each step between candidates and before the export stops it.
    """
    import threading

    received: list[int] = []

    def check() -> None:
        if received:
            raise KeyboardInterrupt(f"signal {received[0]}")

    if threading.current_thread() is not threading.main_thread():
        yield check
        return

    def handler(signum: int, frame: Any) -> None:
        received.append(signum)
        raise KeyboardInterrupt(f"signal {signum}")

    previous = {signum: signal.signal(signum, handler) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield check
    finally:
        for signum, was in previous.items():
            signal.signal(signum, was)


def _card(best: Entry, rows: list[dict[str, Any]], data: Data, cfg: TrainConfig, model_uri: str) -> str:
    cvs = best.cv_summary()
    lines = [
        f"# {cfg.tracking.registered_model}",
        "",
        f"Sentence-level stance toward normalization of relations between states: {', '.join(LABELS)}.",
        "",
        "## Model",
        f"- Candidate `{best.key}`: {reg.FEATURES[best.candidate.features].summary} + "
        f"{reg.CLASSIFIERS[best.candidate.classifier].summary}",
        f"- Parameters: `{best.row()['params']}`",
        f"- Trained on train + validation, labels: {best.mode}",
        f"- MLflow: `{model_uri}`",
        "",
        "## Scores (gold sentences only)",
        f"- CV ({cfg.cv.repeats} x {cfg.cv.folds}-fold, {best.grouping}-grouped, which picked the champion): macro-F1 "
        f"{cvs['macro_f1'][0]:.3f} ± {cvs['macro_f1'][1]:.3f}, F_avg {cvs['f_avg'][0]:.3f} ± {cvs['f_avg'][1]:.3f}",
        *[
            f"- CV grouped by {g}: macro-F1 {best.row()[f'cv_{g}_macro_f1_mean']:.3f}"
            for g in GROUPINGS
            if g != best.grouping and g in best.cv_by
        ],
        f"- Test ({len(data.test_texts)} sentences, used once): macro-F1 {best.test['macro_f1']:.3f}, "
        f"F_avg {best.test['f_avg']:.3f}, accuracy {best.test['accuracy']:.3f}",
        "",
        "| label | precision | recall | F1 | support |",
        "| --- | --- | --- | --- | --- |",
    ]
    for label, r in best.report.items():
        lines.append(f"| {label} | {r['precision']:.3f} | {r['recall']:.3f} | {r['f1']:.3f} | {int(r['support'])} |")
    tied = [r["candidate"] for r in rows if r["tied_with_best"] and not r["is_best"]]
    lines += [
        "",
        f"Tied with it ({cfg.comparison.method}, alpha {cfg.comparison.alpha}): {', '.join(tied) or 'none'}.",
        "",
        "## Data",
        f"- Dataset fingerprint `{data.fingerprint}`, training config hash `{config_hash(cfg)}`",
        "",
        "## Use and limits",
        "Load with `training.load_model` (skops with an explicit list of trusted types). Trained on English "
        "news sentences about a handful of normalization episodes; expect lower scores on other topics, "
        "registers or languages. Probabilities are columns in the order of `labels` in metadata.json.",
        "",
    ]
    return "\n".join(lines)


def _record(entry: Entry, data: Data, cfg: TrainConfig) -> Any:
    """The plain-data view of an entry that :mod:`training.tracking` logs."""
    from training.tracking import schema

    row = entry.row()
    wrong: list[dict[str, Any]] = []
    gold = data.test_labels.tolist()
    for i, (g, p) in enumerate(zip(gold, entry.test_pred)):
        if g != p and len(wrong) < cfg.tracking.misclassified_max:
            probs = {f"p_{c}": round(float(entry.test_proba[i][j]), 6) for j, c in enumerate(entry.classes)}
            wrong.append({**data.test_meta[i], "text": data.test_texts[i], "gold": g, "predicted": p, **probs})
    cand = entry.candidate
    comp = reg.CLASSIFIERS[cand.classifier]
    return schema.Candidate(
        name=entry.key,
        params=row["params"],
        metrics=schema.candidate_metrics(row, entry.report, entry.search, entry.register_f1),
        per_split=schema.split_metrics(entry.cv, SCORES),
        tags=schema.candidate_tags(
            entry.key,
            cand.features,
            cand.classifier,
            entry.mode,
            baseline=comp.baseline,
            weighted=entry.weighted,
            note=f"{reg.FEATURES[cand.features].summary} + {comp.summary}",
        ),
        confusion=entry.confusion,
        report_text=metrics.report_text(gold, entry.test_pred),
        report=entry.report,
        misclassified=wrong,
        search=entry.search,
        model=entry.model,
        model_bytes=entry.model_bytes,
        classes=entry.classes,
        input_example=(data.test_texts or data.texts)[:3],
        confusion_png=entry.confusion_png,
        reliability_png=entry.reliability_png,
    )


def _calibrate_champion(cfg: TrainConfig, data: Data, best: Entry, record: Any, say: Progress) -> dict[str, Any]:
    """Replace the champion's model by its calibrated form (see :mod:`training.calibrate`); return the report.

    The entry's test predictions and scores become those of the calibrated model; the
    leaderboard rows keep the uncalibrated candidates the comparison ranked. An empty report
    means the model stays uncalibrated (the line says why).
    """
    import numpy as np

    from training import calibrate, calibration
    from training.persistence import dump_bytes

    if best.mode != "gold":
        say("calibration: skipped (the champion learns from weak labels too, and calibration uses gold labels only)")
        return {}
    cand = best.candidate

    def make_base() -> Any:
        return reg.assemble(
            reg.build_features(cand.features, best.feature_params),
            reg.build_classifier(cand.classifier, _with_context(cand, best.params, data.info), cfg.seed),
        )

    rows = np.flatnonzero(data.gold)
    try:
        model, report = calibrate.choose_and_fit(
            make_base,
            [data.texts[i] for i in rows],
            data.labels[rows],
            data.groups(best.grouping)[rows],
            cfg.cv.folds,
            cfg.seed,
        )
    except ValueError as exc:  # e.g. a neighbour count larger than an inner fold
        say(f"calibration: skipped ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})")
        return {}
    gold = data.test_labels.tolist()
    before = {k[len("test_") :]: v for k, v in best.calibration.items() if k.startswith("test_")}
    best.model, best.model_bytes = model, dump_bytes(model)
    best.classes = [str(c) for c in model.classes_]
    best.test_proba = model.predict_proba(data.test_texts)
    best.test_pred = [str(p) for p in model.predict(data.test_texts)]
    best.test, best.report = metrics.scores(gold, best.test_pred), metrics.per_class(gold, best.test_pred)
    best.confusion = metrics.confusion(gold, best.test_pred)
    record.model, record.model_bytes, record.model_uri, record.classes = model, best.model_bytes, "", best.classes
    report["test"] = calibration.scores(gold, calibration.aligned(best.test_proba, best.classes, LABELS), LABELS)
    report["test_uncalibrated"] = before
    cv = report["cv"]
    say(
        f"calibration: {report['method']} (CV log loss "
        + ", ".join(f"{m} {cv[m]['log_loss']:.3f}" for m in cv)
        + f"); test ECE {before['ece']:.3f} -> {report['test']['ece']:.3f}"
    )
    return report


def _calibration_metrics(report: dict[str, Any]) -> dict[str, float]:
    """Parent-run metrics of the champion's calibration: every method's CV scores and the test scores."""
    from training.tracking import schema

    return schema.calibration_metrics(report)


def _register_gated(
    cfg: TrainConfig, data: Data, best: Entry, record: Any, tracker: Any, force: bool, say: Progress
) -> tuple[str, bool]:
    """Register ``best`` and decide, by the champion gate, whether the alias may move to it.

    Returns the new version and that decision; the caller moves the alias after the export.
    """
    from training import gate

    gold = data.test_labels.tolist()
    split = gate.split_hash(data.test_texts, gold)
    held = tracker.champion()
    same = held is not None and held.get("stance.test_hash") == split
    old = None
    if held is not None and same and not force:
        from training.stance_model import StanceModel
        from training.tracking import load_sklearn_model

        old = StanceModel(*load_sklearn_model(held["uri"], tracker.uri)).predict(data.test_texts)
    decision = gate.decide(
        gold,
        best.test_pred,
        old,
        previous=held["version"] if held else "",
        same_test=same,
        force=force,
        alpha=cfg.comparison.alpha,
        samples=cfg.comparison.bootstrap_samples,
        seed=cfg.seed,
    )
    version = tracker.register(record, tags={"stance.test_hash": split})
    say(decision.line(version, cfg.tracking.alias))
    tracker.log_gate(
        {
            "decision": "promoted" if decision.promote else "held",
            "reason": decision.reason,
            "previous_version": decision.previous or "none",
            "new_version": version,
        },
        decision.numbers,
    )
    return version, decision.promote


def _child_params(cfg: TrainConfig, entry: Entry) -> dict[str, Any]:
    from training.config import flatten
    from training.tracking import schema

    return schema.candidate_params(flatten(cfg), flatten(entry.candidate), entry.mode, entry.row()["params"])


def _frames(data: Data) -> dict[str, tuple[str, Any]]:
    from training.tracking import schema

    pool = {
        "text": data.texts,
        "label": data.labels.tolist(),
        "doc_id": data.docs.tolist(),
        "label_source": ["gold" if g else "weak" for g in data.gold.tolist()],
        "confidence": data.weight.tolist(),
    }
    test = {
        "text": data.test_texts,
        "label": data.test_labels.tolist(),
        "doc_id": [m["doc_id"] for m in data.test_meta],
    }
    return schema.dataset_frames(pool, test)


def train(cfg: TrainConfig, progress: Progress | None = None, dataset: Any = None, force: bool = False) -> TrainResult:
    """Run the whole comparison, log it to MLflow, register and export the champion.

    The alias and the export only move past the gate (see :mod:`training.gate`), or with ``force``.
    ``dataset`` may be a ``(DatasetDict, info)`` pair already in memory; otherwise
    ``cfg.dataset`` is loaded. Every check (config values, folds, tracking store) runs before
    the first fit. The export in ``cfg.export_dir`` is only replaced once everything else
    succeeded, as a whole.
    """
    from training import tracking
    from training.config import flatten
    from training.persistence import check_export_dir, write_export

    say = progress or (lambda _msg: None)
    t_start = time.perf_counter()
    if dataset is None:
        from training.dataset import load_built

        if not Path(cfg.dataset).exists():
            raise StanceError(f"dataset not found: {cfg.dataset} (run `stance build-dataset` first or pass --dataset)")
        dsd, info = load_built(cfg.dataset)
        source = str(Path(cfg.dataset).resolve())
    else:
        dsd, info = dataset
        source = ""
    data = prepare(dsd, info, source or "<memory>")
    check_plan(cfg, data)
    inputs = [Path(cfg.dataset)] if dataset is None else []
    check_export_dir(Path(cfg.export_dir), inputs)
    tracker = tracking.Tracker(cfg.tracking)
    tracker.check()  # an unreachable store fails here, before any training
    if cfg.cluster:
        from training.cluster import check_cluster

        say(check_cluster(cfg.cluster))  # unreachable, no workers or another stance on one: stops here
    from training.stores import shown  # a database URI's password stays out of output and metadata

    say(f"tracking: {shown(tracker.uri)} (experiment '{cfg.tracking.experiment}')")
    say(
        f"pool: {len(data.texts)} sentences ({int(data.gold.sum())} gold), test: {len(data.test_texts)} gold; "
        f"{len(cfg.candidates)} candidates x {len(_modes(cfg))} label mode(s), "
        f"{cfg.cv.repeats}x{cfg.cv.folds}-fold CV, " + ("on the cluster" if cfg.cluster else f"{cfg.n_jobs} worker(s)")
    )
    cfg_hash = config_hash(cfg)
    tags = {
        "dataset.fingerprint": data.fingerprint,
        "dataset.config_hash": data.dataset_hash,
        "config_hash": cfg_hash,
        "stance.training_data": cfg.training_data,
    }
    records: dict[str, Any] = {}
    runs = ExitStack()

    with _interrupts() as check, runs:

        def log_entry(entry: Entry) -> None:
            check()
            rec = records[entry.key] = _record(entry, data, cfg)
            entry.run_id = tracker.log_candidate(rec, _child_params(cfg, entry))

        # Opening the store (importing mlflow, migrating a new database) and creating the parent
        # run happen once the workers train, so these seconds overlap training instead of adding
        # to the wall time (measured: about 4 s shorter runs than opening it first). An
        # unreachable store was already refused by tracker.check() above; a store that fails
        # here stops the workers within seconds.
        result = run_comparison(
            cfg,
            data,
            progress,
            on_entry=log_entry,
            on_start=lambda: runs.enter_context(
                tracker.parent_run(flatten(cfg), tags, _frames(data), data.fingerprint, source)
            ),
        )
        check()
        entries, best = result.entries, result.best
        rows = [e.row() for e in entries]
        for e in entries:
            c = e.comparison
            tracker.update_candidate(
                e.run_id,
                {
                    "tied_with_best": float(c["tied"]),
                    "is_best": float(c["is_best"]),
                    "is_champion": float(c["is_champion"]),
                    "p_value": c.get("p_value", math.nan),
                    "mean_diff": c.get("mean_diff", math.nan),
                },
                {
                    "stance.tied_with_best": str(bool(c["tied"])).lower(),
                    "stance.is_best": str(bool(c["is_best"])).lower(),
                },
            )
        calibrated = _calibrate_champion(cfg, data, best, records[best.key], say)
        bcv = best.cv_summary()
        tracker.log_leaderboard(
            rows,
            best.key,
            cfg.comparison.metric,
            {
                **{f"best_cv_{k}_mean": v[0] for k, v in bcv.items()},
                **{f"best_test_{k}": v for k, v in best.test.items()},
                **_calibration_metrics(calibrated),
                "candidates": float(len(entries)),
            },
        )
        check()
        version, promoted = _register_gated(cfg, data, best, records[best.key], tracker, force, say)
        model_uri = (
            f"models:/{cfg.tracking.registered_model}@{cfg.tracking.alias}"
            if promoted
            else f"models:/{cfg.tracking.registered_model}/{version}"
        )
        say(f"champion: {best.key} -> models:/{cfg.tracking.registered_model}/{version}")
        meta = {
            "candidate": best.key,
            "training_data": best.mode,
            "params": best.row()["params"],
            "metrics": {
                **{f"cv_{k}_mean": v[0] for k, v in bcv.items()},
                **{f"cv_{k}_std": v[1] for k, v in bcv.items()},
                **{f"test_{k}": v for k, v in best.test.items()},
            },
            "dataset_fingerprint": data.fingerprint,
            "dataset_config_hash": data.dataset_hash,
            "config_hash": cfg_hash,
            "min_confidence": cfg.min_confidence,
            "calibration": calibrated,
            "mlflow": {
                "tracking_uri": shown(tracker.uri),
                "run_id": best.run_id,
                "parent_run_id": tracker.parent_id,
                "model_uri": model_uri,
                "logged_model_uri": records[best.key].model_uri,
            },
        }
        check()
        exported = promoted or not Path(cfg.export_dir).exists()
        if exported:
            # The alias moves only once the export is in place, under the export's lock: it never points
            # at a version without its export, and concurrent trains cannot leave it on another one.
            write_export(
                best.model,
                cfg.export_dir,
                meta,
                _card(best, rows, data, cfg, model_uri),
                model_bytes=best.model_bytes or None,
                inputs=inputs,
                then=(lambda: tracker.promote(version)) if promoted else None,
            )
            say(f"exported: {cfg.export_dir}")
        else:
            say(f"export left as it was: {cfg.export_dir} (the champion did not change)")
        if tracker.abandoned:
            say(f"marked {len(tracker.abandoned)} run(s) left RUNNING by a process that died as FAILED")
        total = time.perf_counter() - t_start
        exclusive = tracker.seconds - tracker.overlap(result.started, result.finished)
        tracker.log_timing(total, exclusive)
    return TrainResult(
        rows=rows,
        best=best.key,
        metric=cfg.comparison.metric,
        experiment=cfg.tracking.experiment,
        tracking_uri=shown(tracker.uri),
        parent_run_id=tracker.parent_id,
        registered=model_uri,
        export_dir=str(cfg.export_dir),
        seconds_total=time.perf_counter() - t_start,
        seconds_tracking=tracker.seconds,
        seconds_tracking_exclusive=exclusive,
        cpu_seconds_tracking=tracker.cpu_seconds,
        tracking_timings=dict(tracker.timings),
        method=cfg.comparison.method,
        alpha=cfg.comparison.alpha,
        exported=exported,
    )
