"""``stance learning-curve``: the labelling loop simulated on a built dataset, gold as the oracle.

The pool is the gold sentences of train + validation, the test set the gold sentences of the
test split (whole documents, as the builder split them), fixed for every run. Each run starts
from ``initial`` labels, fits word TF-IDF + logistic regression (the features are fitted once on
the pool's text, which a real loop has before any label), scores macro-F1 on test, asks its
strategy for the next ``step`` sentences, and goes on until the pool is used up or
``max_labels`` is reached. Strategies:

- ``random``: the next sentences at random (the baseline every other one is held against);
- ``margin`` / ``entropy``: the least certain sentences, nothing else (random start);
- ``margin-diverse`` / ``entropy-diverse``: :func:`training.selection.select`, uncertainty spread
  over clusters of sentence embeddings with a cap per document and no near-duplicates, after
  a diverse cold start (:func:`training.selection.cold_start`).

Each strategy runs once per seed; the summary gives the area under each curve (mean macro-F1
over the label counts measured, so 1.0 is a perfect curve), its spread over seeds, the paired
difference from random, and the labels each needs to come within ``tolerance`` of the score of
a model trained on the whole pool.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from training.errors import StanceError
from training.labels import LABELS

STRATEGIES = ("random", "margin", "entropy", "margin-diverse", "entropy-diverse")
MODEL_PARAMS = {"C": 2.0, "tol": 1e-4}  # tol 1e-3 stops newton-cg at zero weights on large balanced sets


@dataclass(frozen=True)
class CurveOptions:
    """The simulation's settings."""

    dataset: Path
    strategies: tuple[str, ...] = STRATEGIES
    seeds: tuple[int, ...] = (42, 43, 44, 45, 46)
    step: int = 100
    initial: int = 100
    max_labels: int | None = None
    per_doc: int = 5
    tolerance: float = 0.01


@dataclass
class Pool:
    """Features and gold labels of the pool and the test set."""

    x: Any
    y: np.ndarray
    docs: list[str]
    texts: list[str]
    x_test: Any
    y_test: np.ndarray


def check_options(opts: CurveOptions) -> None:
    """Refuse impossible settings before any work."""
    problems = [f"unknown strategy {s!r} (use {', '.join(STRATEGIES)})" for s in opts.strategies if s not in STRATEGIES]
    if "random" not in opts.strategies:
        problems.append("the strategies must include random (every other curve is compared with it)")
    if opts.step < 1 or opts.initial < 1:
        problems.append(f"invalid --step {opts.step} or --initial {opts.initial} (at least 1 each)")
    if not opts.seeds:
        problems.append("no seeds (pass --seeds 1 or more)")
    if problems:
        raise StanceError(*problems)


def load_pool(dataset: Path, seed: int) -> Pool:
    """Pool and test arrays from a built dataset (gold rows only)."""
    from training.classifiers import build_features
    from training.dataset import load_built

    dd, _ = load_built(dataset)
    names = dd["train"].features["label"].names

    def gold(split: str) -> tuple[list[str], list[int], list[str]]:
        """Texts, label numbers and documents of the gold rows of one split."""
        rows = [r for r in dd[split] if r["label_source"] == "gold"]
        return [r["text"] for r in rows], [LABELS.index(names[r["label"]]) for r in rows], [r["doc_id"] for r in rows]

    t1, y1, d1 = gold("train")
    t2, y2, d2 = gold("validation")
    tt, yt, _ = gold("test")
    if len(t1) + len(t2) < 10 or not tt:
        raise StanceError(
            f"too little gold in {dataset}: {len(t1) + len(t2)} sentences in train+validation and "
            f"{len(tt)} in test (the simulation needs gold in both)"
        )
    features = build_features("word", {})
    x = features.fit_transform(t1 + t2)
    return Pool(x, np.array(y1 + y2), d1 + d2, t1 + t2, features.transform(tt), np.array(yt))


def fit_score(pool: Pool, rows: np.ndarray, seed: int) -> tuple[float, np.ndarray]:
    """Macro-F1 on test of a model trained on ``rows``, and its probabilities on the whole pool."""
    from training import metrics
    from training.classifiers import build_classifier

    clf = build_classifier("logreg", MODEL_PARAMS, seed).fit(pool.x[rows], pool.y[rows])
    pred = clf.predict(pool.x_test)
    score = metrics.macro_f1([LABELS[c] for c in pool.y_test], [LABELS[c] for c in pred])
    proba = np.zeros((pool.x.shape[0], len(LABELS)))
    proba[:, clf.classes_] = clf.predict_proba(pool.x)
    return float(score), proba


def _start(strategy: str, pool: Pool, emb: Any, opts: CurveOptions, seed: int) -> list[int]:
    """The first labels: a diverse cold start for the diverse strategies, random for the rest."""
    from training.selection import cold_start

    n = len(pool.y)
    k = min(opts.initial, n)
    if strategy.endswith("-diverse"):
        rows = [i for i, _ in cold_start(emb, pool.docs, k, seed, per_group=opts.per_doc)]
    else:
        rows = np.random.default_rng(seed).permutation(n)[:k].tolist()
    taken = set(rows)
    rest = [i for i in np.random.default_rng(seed + 1).permutation(n).tolist() if i not in taken]
    while len(set(pool.y[rows].tolist())) < 2 and rest:  # a classifier needs two classes to start
        rows.append(rest.pop(0))
    return rows


def _next(
    strategy: str,
    proba: np.ndarray,
    unlabelled: np.ndarray,
    pool: Pool,
    emb: Any,
    k: int,
    rng: np.random.Generator,
    opts: CurveOptions,
    seed: int,
) -> list[int]:
    """The next ``k`` rows the strategy asks for."""
    from training.selection import select, uncertainty

    if strategy == "random":
        return rng.choice(unlabelled, size=k, replace=False).tolist()
    measure = strategy.split("-", maxsplit=1)[0]
    scores = uncertainty(proba, measure)
    if not strategy.endswith("-diverse"):
        return unlabelled[np.argsort(-scores[unlabelled], kind="stable")[:k]].tolist()
    chosen = [i for i, _ in select(scores, emb, pool.docs, k, seed, per_group=opts.per_doc, candidates=unlabelled)]
    if len(chosen) < k:  # caps left the batch short: top it up with the most uncertain of the rest
        left = np.setdiff1d(unlabelled, chosen)
        chosen += left[np.argsort(-scores[left], kind="stable")[: k - len(chosen)]].tolist()
    return chosen


def run_curve(strategy: str, pool: Pool, emb: Any, opts: CurveOptions, seed: int) -> list[tuple[int, float]]:
    """(labels, test macro-F1) after each step of one strategy and seed."""
    n = len(pool.y)
    limit = min(opts.max_labels or n, n)
    rng = np.random.default_rng(seed)
    labelled = np.zeros(n, dtype=bool)
    labelled[_start(strategy, pool, emb, opts, seed)] = True
    curve = []
    while True:
        score, proba = fit_score(pool, np.flatnonzero(labelled), seed)
        curve.append((int(labelled.sum()), score))
        if labelled.sum() >= limit:
            return curve
        k = min(opts.step, limit - int(labelled.sum()))
        labelled[_next(strategy, proba, np.flatnonzero(~labelled), pool, emb, k, rng, opts, seed + len(curve))] = True


def simulate(opts: CurveOptions, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Every strategy and seed, the full-data score, and the summary."""
    from training.selection import embed

    check_options(opts)
    pool = load_pool(opts.dataset, opts.seeds[0])
    emb = embed(pool.texts, opts.seeds[0])
    full, _ = fit_score(pool, np.arange(len(pool.y)), opts.seeds[0])
    curves: dict[str, dict[int, list[tuple[int, float]]]] = {}
    for strategy in opts.strategies:
        for seed in opts.seeds:
            curves.setdefault(strategy, {})[seed] = run_curve(strategy, pool, emb, opts, seed)
            if progress:
                progress(f"{strategy} seed {seed}: {len(curves[strategy][seed])} points")
    return {
        "pool": len(pool.y),
        "test": len(pool.y_test),
        "full_score": full,
        "curves": curves,
        "summary": summarize(curves, full, opts.tolerance),
        "options": _options(opts),
    }


def _options(opts: CurveOptions) -> dict[str, Any]:
    return {
        "dataset": str(opts.dataset),
        "strategies": list(opts.strategies),
        "seeds": list(opts.seeds),
        "step": opts.step,
        "initial": opts.initial,
        "max_labels": opts.max_labels,
        "per_doc": opts.per_doc,
        "tolerance": opts.tolerance,
        "model": f"word TF-IDF + logistic regression {MODEL_PARAMS}",
    }


def area(curve: Sequence[tuple[int, float]]) -> float:
    """Area under a curve divided by its width (trapezoids): the mean macro-F1 over the labels measured."""
    x = np.array([p[0] for p in curve], dtype=float)
    y = np.array([p[1] for p in curve], dtype=float)
    if len(x) < 2:
        return float(y[0]) if len(y) else float("nan")
    return float(np.trapezoid(y, x) / (x[-1] - x[0]))


def labels_to_reach(curve: Sequence[tuple[int, float]], target: float) -> int | None:
    """The fewest labels at which the curve reaches ``target`` (None if it never does)."""
    return next((n for n, score in curve if score >= target), None)


def summarize(curves: dict[str, dict[int, list[tuple[int, float]]]], full: float, tolerance: float) -> dict[str, Any]:
    """Per strategy: area (mean, std over seeds), paired gap to random, labels to reach full - tolerance."""
    out: dict[str, dict[str, Any]] = {}
    base = {seed: area(c) for seed, c in curves["random"].items()}
    for strategy, by_seed in curves.items():
        areas = {seed: area(c) for seed, c in by_seed.items()}
        gaps = np.array([areas[s] - base[s] for s in areas if s in base])
        grid = [n for n, _ in next(iter(by_seed.values()))]
        same_grid = all([n for n, _ in c] == grid for c in by_seed.values())
        mean_curve = (
            [(n, float(np.mean([c[i][1] for c in by_seed.values()]))) for i, n in enumerate(grid)] if same_grid else []
        )
        reach = [labels_to_reach(c, full - tolerance) for c in by_seed.values()]
        out[strategy] = {
            "auc_mean": float(np.mean(list(areas.values()))),
            "auc_std": float(np.std(list(areas.values()), ddof=1)) if len(areas) > 1 else 0.0,
            "gap_mean": float(gaps.mean()),
            "gap_std": float(gaps.std(ddof=1)) if len(gaps) > 1 else 0.0,
            "wins": int((gaps > 0).sum()),
            "seeds": len(areas),
            "reach_mean_curve": labels_to_reach(mean_curve, full - tolerance) if mean_curve else None,
            "reach_per_seed": reach,
            "mean_curve": mean_curve,
        }
    learners = [s for s in out if s != "random"]
    best = max(learners, key=lambda s: out[s]["auc_mean"]) if learners else "random"
    return {"strategies": out, "best": best, "full_score": full, "target": full - tolerance}


def summary_lines(result: dict[str, Any]) -> list[str]:
    """One line per strategy and the full-data score, for the terminal."""
    lines = [
        f"{name}: area {row['auc_mean']:.4f} ± {row['auc_std']:.4f}, gap to random {row['gap_mean']:+.4f} ± "
        f"{row['gap_std']:.4f}, target reached at {row['reach_mean_curve'] or '-'} labels"
        for name, row in result["summary"]["strategies"].items()
    ]
    return [*lines, f"full-data score {result['full_score']:.4f} on {result['test']} test sentences"]


def mlflow_payload(result: dict[str, Any]) -> tuple[dict[str, float], dict[str, list[tuple[int, float]]]]:
    """Summary metrics (area and gap per strategy, the full-data score) and each strategy's mean curve."""
    summary = result["summary"]["strategies"]
    metrics = {
        f"{k}.{s.replace('-', '_')}": v
        for s, row in summary.items()
        for k, v in row.items()
        if k in ("auc_mean", "auc_std", "gap_mean", "gap_std") and not math.isnan(v)
    }
    metrics["full_score"] = result["full_score"]
    return metrics, {s: row["mean_curve"] for s, row in summary.items()}
