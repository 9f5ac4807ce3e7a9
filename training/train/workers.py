"""Worker scheduling: candidates in worker processes (joblib), on a Dask cluster or in this process.

``_task`` and the per-process feature cache stay at module level here, so that joblib's loky
workers and Dask workers can import them by name.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from training import classifiers as reg
from training.train.data import GROUPINGS, Data, Progress, modes
from training.train.entry import Entry
from training.train.plan import all_splits
from training.train.protocol import Features, compare, evaluate
from training.train_config import CandidateConfig, TrainConfig


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


def _quiet_worker_restarts() -> None:
    """Silence loky's warning when it replaces a worker whose memory grew (an encoder loaded to
    time prediction): results are unaffected, so it is noise for the user."""
    import warnings

    warnings.filterwarnings("ignore", message="A worker stopped while some jobs were given to the executor")


# Feature matrices cached per process: worker processes evaluate many candidates in a row, and
# those sharing an extractor reuse its counts and fold matrices. ``token`` tells runs apart.
_CACHE: dict[str, Any] = {"token": None, "features": None}


# Niceness of worker processes: the parent process logs each finished candidate to MLflow while
# the workers train; with the workers a few steps below it, that logging gets a core when it needs
# one instead of waiting behind the training, and the workers still have the cores the rest of
# the time.
WORKER_NICENESS = 5


def yield_to_parent(parent_pid: int) -> None:
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
        yield_to_parent(parent_pid)
        watch_parent(parent_pid)
    from training import encoder_runtime, encoders

    encoders.use_cache(cfg.embedding_cache)
    if _CACHE["token"] != token:
        _CACHE["token"], _CACHE["features"] = token, Features(data)
    feats: Features = _CACHE["features"]
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


def _jobs(cfg: TrainConfig) -> tuple[list[tuple[CandidateConfig, str]], list[int], list[str]]:
    """Every ``(candidate, mode)`` in config order, the order to hand them out in, and their leaderboard keys.

    Grouped by extractor so a worker reuses its cached fold matrices; costliest groups and
    candidates first so that no worker is left alone with a long one at the end.
    """
    label_modes = modes(cfg)
    jobs = [(cand, mode) for cand in cfg.candidates for mode in label_modes]
    group_cost: dict[str, float] = {}
    for cand, _ in jobs:
        group_cost[cand.features] = group_cost.get(cand.features, 0.0) + _cost(cand, cfg)
    order = sorted(
        range(len(jobs)),
        key=lambda i: (-group_cost[jobs[i][0].features], jobs[i][0].features, -_cost(jobs[i][0], cfg), i),
    )
    keys = [c.name if len(label_modes) == 1 else f"{c.name}@{m}" for c, m in jobs]
    return jobs, order, keys


def _dispatch(cfg: TrainConfig, args: list[tuple[Any, ...]], shared: tuple[Any, ...]) -> Any:
    """Start the tasks on the cluster, in worker processes or (lazily) here; a generator of results in order."""
    if cfg.cluster:
        from training.cluster import run_tasks

        return run_tasks(cfg.cluster, _task, args, shared=shared)
    if cfg.n_jobs > 1:
        from joblib import Parallel, delayed

        _quiet_worker_restarts()
        # Workers start on this call; results come back in order through the generator.
        return Parallel(n_jobs=min(cfg.n_jobs, len(args)), return_as="generator")(delayed(_task)(*a) for a in args)
    return (_task(*a) for a in args)


def _test_train_ratio(cfg: TrainConfig, splits: list[tuple[Any, Any]]) -> float:
    """Held-out rows per training row of the scoring splits, for the corrected resampled t-test."""
    held = sum(len(te) for _, te in splits)
    train = sum(len(tr) for tr, _ in splits)
    return held / train if train else 1.0 / (cfg.cv.folds - 1)


def run_comparison(
    cfg: TrainConfig,
    data: Data,
    progress: Progress | None = None,
    on_entry: Callable[[Entry], None] | None = None,
    on_start: Callable[[], object] | None = None,
) -> Comparison:
    """Evaluate every candidate in every mode and pick the best.

    With ``cfg.n_jobs > 1`` candidates run in worker processes: ``on_start`` runs once they
    have started and ``on_entry`` as each result arrives, both in this process, so MLflow work
    overlaps with the training still going on. Results do not depend on the number of workers.
    """
    import uuid

    say = progress or (lambda _msg: None)
    _warm_encoders(cfg, data, say)
    grouping, search_splits, eval_splits = all_splits(cfg, data)
    jobs, order, keys = _jobs(cfg)
    token = uuid.uuid4().hex  # identifies this run's data in the per-process cache only
    parent = None if cfg.cluster else os.getpid()  # a Dask worker is no child of ours to watch
    args = [(token, data, jobs[i][0], jobs[i][1], keys[i], search_splits, eval_splits, cfg, parent) for i in order]
    started = time.time()
    results = _dispatch(cfg, args, (data, search_splits, eval_splits))
    done: dict[int, Entry] = {}
    finished = started
    metric = cfg.comparison.metric
    try:
        if on_start is not None:
            on_start()
        for n, (i, (entry, seconds, end)) in enumerate(zip(order, results), 1):
            done[i] = entry
            finished = max(finished, end)
            cvm = entry.cv_summary()[metric]
            say(
                f"[{n}/{len(jobs)}] {entry.key}: CV {metric} {cvm[0]:.3f} ± {cvm[1]:.3f}, "
                f"test {entry.test[metric]:.3f} ({seconds:.1f} s)"
            )
            if on_entry is not None:
                on_entry(entry)
    finally:
        results.close()  # on an error or interrupt: stop the workers instead of waiting for them
        _CACHE["token"] = _CACHE["features"] = None
    entries = [done[i] for i in range(len(jobs))]
    best = compare(entries, cfg, _test_train_ratio(cfg, eval_splits[grouping]))
    return Comparison(entries, best, started, finished)
