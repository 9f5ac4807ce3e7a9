"""Work on a Dask cluster: ``stance train --cluster`` and ``stance predict --cluster``.

Training submits its candidate tasks (the same calls that local worker processes run) as Dask
futures and takes their results back in order; the large inputs (the sentences, the splits)
are scattered once and shared by the tasks. Prediction sends batches
of sentences to the workers, which hold one copy of the model, and gets their probability
arrays back in input order; reading the input and writing the output stay here, as does every
call to MLflow.

Before any work, :func:`check_cluster` connects to the scheduler and asks every worker which
``stance`` it runs: a missing package, other code or other versions of the libraries that
decide the scores are refused with one line. A worker that dies while it runs a task is
replaced by Dask and the task runs again elsewhere (up to the scheduler's
``allowed-failures``); past that, the run stops with one line.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import re
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from training.errors import StanceError

T = TypeVar("T")
CONNECT_SECONDS = 5
# Libraries whose version changes the scores or the pickled objects exchanged with workers.
CHECKED_LIBRARIES = ("scikit-learn", "numpy", "scipy", "joblib", "skops", "dask", "distributed", "cloudpickle")
_ADDRESS = re.compile(r"^(?:(tcp|tls)://)?(\[[0-9a-fA-F:]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$")
_AHEAD = 2  # prediction batches in flight per worker thread
_serial = threading.Lock()


def normalize_address(address: str) -> str:
    """``tcp://HOST:PORT`` (or ``tls://``) from what the user typed; ``HOST:PORT`` means tcp."""
    match = _ADDRESS.match(address.strip())
    if not match or not 0 < int(match.group(3)) < 65536:
        raise StanceError(f"invalid Dask scheduler address '{address}' (use tcp://HOST:PORT, e.g. tcp://10.0.0.5:8786)")
    return f"{match.group(1) or 'tcp'}://{match.group(2)}:{match.group(3)}"


def connect(address: str) -> Any:
    """A Dask client of the scheduler at ``address``; an unreachable one is one :class:`StanceError`."""
    address = normalize_address(address)
    from distributed import Client

    try:
        return Client(address, timeout=f"{CONNECT_SECONDS}s", set_as_default=False)
    except (OSError, TimeoutError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StanceError(
            f"Dask scheduler not reachable: {address} ({reason}; start `dask scheduler` there, or leave "
            "out --cluster to work on this machine)"
        ) from None


def fingerprint() -> dict[str, str]:
    """What must match between this process and every worker: stance's code and the key libraries."""
    import sys

    import training

    source = Path(training.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(source.rglob("*.py")):  # subpackages too
        digest.update(path.relative_to(source).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    out = {
        "stance": training.__version__,
        "stance code": digest.hexdigest()[:16],
        "python": ".".join(map(str, sys.version_info[:2])),
    }
    for dist in CHECKED_LIBRARIES:
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = "missing"
    return out


def _grouped(problems: dict[str, list[str]]) -> list[str]:
    """One line per kind of problem, naming every worker that has it."""
    lines = []
    for text, workers in problems.items():
        who = f"Dask worker {workers[0]}" if len(workers) == 1 else f"Dask workers {', '.join(workers)}"
        lines.append(f"{who} {text}")
    return lines


def check_workers(client: Any, address: str) -> dict[str, int]:
    """Refuse a cluster without workers or with a worker that runs another stance; return threads per worker."""
    threads = dict(client.nthreads())
    if not threads:
        raise StanceError(f"no Dask workers are connected to {address} (start `dask worker {address}` on each machine)")
    here = fingerprint()
    problems: dict[str, list[str]] = {}
    versions = client.run(importlib.metadata.version, "stance", on_error="return")
    missing = sorted(w for w, v in versions.items() if isinstance(v, BaseException))
    for worker in missing:
        problems.setdefault(
            "has no stance package (install this project in the workers' environment, the same version as here)", []
        ).append(worker)
    rest = [w for w in versions if w not in missing]
    prints = client.run(fingerprint, workers=rest, on_error="return") if rest else {}
    for worker, theirs in sorted(prints.items()):
        if isinstance(theirs, BaseException):
            first = str(theirs).strip().splitlines()[0] if str(theirs).strip() else type(theirs).__name__
            first = re.sub(r"^\w+\((['\"])(.*)\1\)$", r"\2", first)  # Error("text") as the worker sends it
            text = f"cannot load stance ({first}; install the same version as here)"
        else:
            diff = [f"{k} {theirs.get(k, 'missing')} (here {v})" for k, v in here.items() if theirs.get(k) != v]
            if not diff:
                continue
            text = f"runs another version: {', '.join(diff)} (install the same stance and libraries on every worker)"
        problems.setdefault(text, []).append(worker)
    if problems:
        raise StanceError(" ; ".join(_grouped(problems)))
    return threads


def check_cluster(address: str) -> str:
    """Connect, check every worker, disconnect; return a one-line description for the progress output."""
    address = normalize_address(address)
    client = connect(address)
    try:
        threads = check_workers(client, address)
    finally:
        client.close()
    return f"cluster: {address}, {len(threads)} worker(s), {sum(threads.values())} thread(s)"


def _one_at_a_time(func: Callable[..., T], *args: Any) -> T:
    """Run a training task on a worker, one per worker process at a time, as it runs locally.

    Training tasks keep per-process caches and set process-wide thread limits; a worker
    started with several threads runs them one after another (start workers with
    ``--nthreads 1``, one per core, to use every core). Inside the task joblib runs
    sequentially, as in a local worker process: an estimator's own ``Parallel`` (a random
    forest's) would otherwise hand its pieces back to the cluster and wait for them while
    holding this worker.
    """
    from joblib import parallel_config

    with _serial, parallel_config(backend="sequential"):
        return func(*args)


KEPT_TRAIN = "the run stopped and the previous export and champion were kept"
KEPT_PREDICT = "nothing was written"


def _lost(exc: BaseException, kept: str = KEPT_TRAIN) -> StanceError | None:
    """The one line for a cluster failure (a worker killed too often, the scheduler gone), else None."""
    name = type(exc).__name__
    ours = type(exc).__module__.split(".")[0] in ("distributed", "dask")
    if name == "KilledWorker":
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else name
        return StanceError(
            f"a Dask worker died on every try of one task ({first}); {kept} (check the workers' "
            "memory and logs, then run again)"
        )
    if ours or name in ("CancelledError", "StreamClosedError"):
        # a task's key means nothing to a user; its reason ("lost dependencies", ...) does
        reason = getattr(exc, "reason", None) or (str(exc).strip().splitlines() or [name])[0][:200]
        return StanceError(
            f"the Dask cluster lost the work ({name}: {reason}; a worker died holding data no other "
            f"worker had, or the scheduler went away); {kept} (check the scheduler and workers, then "
            "run again)"
        )
    return None


class OrderedResults(Iterator[T]):
    """Results of tasks run on a cluster, in the order they were given; :meth:`close` stops the rest."""

    def __init__(self, client: Any, results: Iterator[T]) -> None:
        self._client = client
        self._results = results

    def __next__(self) -> T:
        try:
            return next(self._results)
        except StopIteration:
            raise
        except Exception as exc:
            lost = _lost(exc)
            if lost is None:
                raise
            raise lost from None

    def close(self) -> None:
        """Stop waiting, cancel what has not run and disconnect."""
        try:
            close = getattr(self._results, "close", None)
            if close is not None:
                close()
        finally:
            self._client.close()


def run_tasks(
    address: str, func: Callable[..., T], calls: Sequence[tuple[Any, ...]], shared: Sequence[Any] = ()
) -> OrderedResults[T]:
    """Start ``func(*call)`` for every call on the cluster's workers, as Dask futures.

    Tasks are handed out at once, in the given order; results come back in that order, and the
    scheduler queues what its workers cannot start yet (a cluster of one single-threaded worker
    included). ``shared`` are the large arguments every call passes (the same objects): they are
    copied to every worker once, so a worker that dies takes no input with it and its tasks can
    run again on another.
    """
    client = connect(address)
    try:
        check_workers(client, normalize_address(address))
        copies = client.scatter(list(shared), broadcast=True, hash=False) if shared else []
        remote = {id(obj): copy for obj, copy in zip(shared, copies)}
        futures = [
            client.submit(_one_at_a_time, func, *(remote.get(id(a), a) for a in call), pure=False) for call in calls
        ]
    except BaseException:
        client.close()
        raise
    return OrderedResults(client, (future.result() for future in futures))


# ---------------------------------------------------------------- prediction


def _proba(model: Any, texts: list[str]) -> Any:
    return model.predict_proba_array(texts)


def proba_batches(
    address: str, model: Any, batches: Iterable[T], texts_of: Callable[[T], list[str]]
) -> Iterator[tuple[T, Any]]:
    """Yield ``(batch, probability array)`` for each batch, in input order, labelled on the cluster.

    The model is copied to every worker once; each batch's sentences go to a worker and its
    probabilities come back. At most two batches per worker thread are in flight, so memory
    here does not grow with the input.
    """
    client = connect(address)
    try:
        threads = sum(check_workers(client, normalize_address(address)).values())
        [remote_model] = client.scatter([model], broadcast=True, hash=False)
        pending: deque[tuple[T, Any]] = deque()
        for batch in batches:
            pending.append((batch, client.submit(_proba, remote_model, texts_of(batch), pure=False)))
            if len(pending) >= _AHEAD * threads:
                done, future = pending.popleft()
                yield done, _result(future)
        while pending:
            done, future = pending.popleft()
            yield done, _result(future)
    finally:
        client.close()


def _result(future: Any) -> Any:
    try:
        return future.result()
    except Exception as exc:
        lost = _lost(exc, KEPT_PREDICT)
        if lost is None:
            raise
        raise lost from None
