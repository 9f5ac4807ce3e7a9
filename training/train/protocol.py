"""The CV engine: search, repeated CV, the single test evaluation of a candidate, and the comparison."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

from training import classifiers as reg
from training import metrics
from training.labels import LABELS
from training.train.data import Data, chosen_grouping, training_rows
from training.train.entry import Entry
from training.train.plan import grid, with_context
from training.train_config import CandidateConfig, TrainConfig


class Features:
    """Per-fold feature matrices, computed once per (extractor, params, split, mode)."""

    def __init__(self, data: Data) -> None:
        self.data = data
        self._counts: dict[Any, reg.FoldFeatures] = {}
        self._folds: dict[Any, tuple[Any, Any]] = {}

    def get(
        self, features: str, params: Mapping[str, Any], split_id: Any, rows: Any, held: Any, mode: str
    ) -> tuple[Any, Any]:
        """Train and held-out matrices of one split; the extractor's counts are shared by all its splits."""
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


def cv_scores(
    data: Data,
    feats: Features,
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
        rows, w = training_rows(data, tr, mode)
        if comp.needs_features:
            xtr, xte = feats.get(cand.features, fp, (tag, i), rows, held, mode)
        else:
            xtr, xte = [data.texts[j] for j in rows], [data.texts[j] for j in held]
        clf = reg.build_classifier(cand.classifier, with_context(cand, cp, data.info), seed)
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
    feats: Features,
    search_splits: list[tuple[Any, Any]],
    eval_splits: dict[str, list[tuple[Any, Any]]],
    cfg: TrainConfig,
) -> Entry:
    """Search, repeated CV (under each grouping in ``eval_splits``) and the single test evaluation of one candidate.

    The search and the scores that pick the best use ``cfg.comparison.grouping``.
    """
    entry = Entry(key=key, candidate=cand, mode=mode)
    cross_validate(entry, data, feats, search_splits, eval_splits, cfg)
    _fit_and_test(entry, data, cfg)
    _calibration_scores(entry, data)
    return entry


def cross_validate(
    entry: Entry,
    data: Data,
    feats: Features,
    search_splits: list[tuple[Any, Any]],
    eval_splits: dict[str, list[tuple[Any, Any]]],
    cfg: TrainConfig,
) -> None:
    """The CV part of :func:`evaluate`: search the grid, then score the chosen point under every grouping."""
    entry.params, entry.feature_params = _search(entry, data, feats, search_splits, cfg)
    _score_cv(entry, data, feats, eval_splits, cfg)


def _search(
    entry: Entry, data: Data, feats: Features, splits: list[tuple[Any, Any]], cfg: TrainConfig
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The grid point with the best mean CV score, ties to the first; each point's score goes to ``entry.search``."""
    cand, metric = entry.candidate, cfg.comparison.metric
    points = grid(cand)
    best = points[0]
    if len(points) > 1:
        best_score = -math.inf
        for cp, fp in points:
            s = metrics.mean_std(
                [r[metric] for r in cv_scores(data, feats, cand, entry.mode, cp, fp, splits, "search", cfg.seed)]
            )[0]
            entry.search.append({"params": {**cp, **{f"features.{k}": v for k, v in fp.items()}}, "score": s})
            if s > best_score:
                best, best_score = (cp, fp), s
    return best


def _score_cv(
    entry: Entry, data: Data, feats: Features, eval_splits: dict[str, list[tuple[Any, Any]]], cfg: TrainConfig
) -> None:
    """Repeated CV of the chosen point under every grouping; out-of-fold results of the choosing one."""
    import numpy as np

    best = (entry.params, entry.feature_params)
    grouping = entry.grouping = chosen_grouping(cfg, data)
    for g, splits in eval_splits.items():
        preds: list[Any] = []
        probas: list[Any] | None = [] if g == grouping else None
        entry.cv_by[g] = cv_scores(
            data, feats, entry.candidate, entry.mode, *best, splits, f"eval-{g}", cfg.seed, preds, probas
        )
        if g == grouping:
            entry.register_f1 = _register_scores(data, splits, preds)
            entry.oof_rows = np.concatenate([held for _, held in splits])
            entry.oof_proba = np.vstack(probas) if probas else np.zeros((0, len(LABELS)))
    entry.cv = entry.cv_by[grouping]


def _fit_and_test(entry: Entry, data: Data, cfg: TrainConfig) -> None:
    """Fit the chosen point on all of train + validation and apply it once to test."""
    import numpy as np

    from training.charts import confusion_png
    from training.persistence import dump_bytes

    cand = entry.candidate
    model = reg.assemble(
        reg.build_features(cand.features, entry.feature_params),
        reg.build_classifier(cand.classifier, with_context(cand, entry.params, data.info), cfg.seed),
    )
    rows, w = training_rows(data, np.arange(len(data.texts)), entry.mode)
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
    entry.confusion_png = confusion_png(entry.confusion, entry.key, entry.test["macro_f1"])


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
