"""Labelling batches on several cores for ``stance predict --jobs``, results in input order.

The model is loaded once; worker processes are forked from the process that holds it, so they
share its memory instead of loading it again (about as long as the prediction of a 100,000-line
file on one core). Only sentences go to a worker and only a probability array comes back; the
reading, the labels and the writing stay in the calling process, which keeps the output code
single-threaded and in order. At most two batches per worker are in flight, so memory does not
grow with the input. One batch is labelled where it is, without workers, so a single sentence
pays nothing for this.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from training.errors import StanceError
from training.processes import watch_parent

T = TypeVar("T")

# Batches queued per worker: one being labelled, one ready to start as soon as it finishes.
_AHEAD = 2

_model: Any = None  # the model, in a worker process (set by _start_worker)


def usable_cores() -> int:
    """CPUs this process may run on (its affinity mask), at least 1."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def can_fork() -> bool:
    """True where worker processes can inherit the loaded model (Linux and other POSIX systems)."""
    return "fork" in multiprocessing.get_all_start_methods()


def _start_worker(model: Any, parent_pid: int) -> None:
    global _model
    _model = model
    watch_parent(parent_pid)
    from training import encoder_runtime

    encoder_runtime.set_default_threads(1)  # one torch thread per worker: the workers share the cores
    # Ctrl-C reaches every process of the terminal's group; the parent alone handles it (and
    # stops the pool), so workers do not each print a KeyboardInterrupt traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Fresh streams: the inherited ones may hold the parent's unwritten bytes (flushed again when
    # a worker exits) or a lock taken by the parent's progress-bar thread at the fork. Standard
    # output is for the parent's rows only; warnings still reach standard error.
    sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - lives as long as the worker
    sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False, buffering=1)  # noqa: SIM115


def _proba(texts: list[str]) -> Any:
    return _model.predict_proba_array(texts)


def proba_batches(
    model: Any,
    batches: Iterable[T],
    texts_of: Callable[[T], list[str]],
    jobs: int,
    before_fork: Callable[[], None] | None = None,
) -> Iterator[tuple[T, Any]]:
    """Yield ``(batch, probability array)`` for each batch, in the order the batches come.

    With ``jobs`` > 1 and more than one batch, ``jobs`` forked processes label them in parallel.
    ``before_fork`` runs just before the workers start (the caller flushes its output there, so
    no buffered row is copied into a worker). A worker that dies (killed, out of memory) stops
    the run with one line; an error raised in a worker is raised here.
    """
    if jobs <= 1 or not can_fork():
        # each batch is written before the next one is read
        for batch in batches:
            yield batch, model.predict_proba_array(texts_of(batch))
        return
    it = iter(batches)
    first = next(it, None)
    if first is None:
        return
    second = next(it, None)
    if second is None:
        yield first, model.predict_proba_array(texts_of(first))
        return
    if before_fork is not None:
        before_fork()
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            stream.flush()
    pool = ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_start_worker,
        initargs=(model, os.getpid()),
    )
    try:
        pending: deque[tuple[T, Future[Any]]] = deque()
        for batch in _chain(first, second, it):
            pending.append((batch, pool.submit(_proba, texts_of(batch))))
            if len(pending) >= _AHEAD * jobs:
                done, future = pending.popleft()
                yield done, _result(future)
        while pending:
            done, future = pending.popleft()
            yield done, _result(future)
    finally:
        # On an error or an early stop, queued batches are dropped; running ones finish first.
        pool.shutdown(wait=True, cancel_futures=True)


def _chain(first: T, second: T, rest: Iterator[T]) -> Iterator[T]:
    yield first
    yield second
    yield from rest


def _result(future: Future[Any]) -> Any:
    try:
        return future.result()
    except BrokenProcessPool:
        raise StanceError(
            "a prediction worker stopped unexpectedly (killed, or out of memory; "
            "retry with --jobs 1 or a smaller --batch-size)"
        ) from None
