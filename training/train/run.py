"""``stance train`` from end to end: load, check, compare, log, calibrate, register and export."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from training.config import config_hash
from training.errors import StanceError
from training.train.champion import calibrate_champion, model_card, register_gated
from training.train.data import Data, Progress, modes, prepare
from training.train.entry import Entry
from training.train.plan import check_plan
from training.train.records import _calibration_metrics, _child_params, _frames, _record
from training.train.workers import Comparison, run_comparison
from training.train_config import TrainConfig


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
def interrupts() -> Iterator[Callable[[], None]]:
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


def train(cfg: TrainConfig, progress: Progress | None = None, dataset: Any = None, force: bool = False) -> TrainResult:
    """Run the whole comparison, log it to MLflow, register and export the champion.

    The alias and the export only move past the gate (see :mod:`training.gate`), or with ``force``.
    ``dataset`` may be a ``(DatasetDict, info)`` pair already in memory; otherwise
    ``cfg.dataset`` is loaded. Every check (config values, folds, tracking store) runs before
    the first fit. The export in ``cfg.export_dir`` is only replaced once everything else
    succeeded, as a whole.
    """
    from training.config import flatten

    say = progress or (lambda _msg: None)
    t_start = time.perf_counter()
    data, source, inputs = _load(cfg, dataset)
    tracker = _checked_tracker(cfg, data, inputs, say)
    cfg_hash = config_hash(cfg)
    tags = _parent_tags(cfg, data, cfg_hash)
    records: dict[str, Any] = {}
    runs = ExitStack()

    with interrupts() as check, runs:

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
        best, rows = result.best, [e.row() for e in result.entries]
        _mark_ties(tracker, result.entries)
        calibrated = calibrate_champion(cfg, data, best, records[best.key], say)
        _log_leaderboard(tracker, cfg, result, rows, calibrated)
        check()
        version, promoted = register_gated(cfg, data, best, records[best.key], tracker, force, say)
        model_uri = _model_uri(cfg, version, promoted)
        say(f"champion: {best.key} -> models:/{cfg.tracking.registered_model}/{version}")
        meta = _metadata(cfg, data, best, tracker, model_uri, records[best.key].model_uri, calibrated, cfg_hash)
        check()
        promote = (lambda: tracker.promote(version)) if promoted else None
        exported = _export(cfg, data, best, rows, meta, model_uri, inputs, promote, say)
        if tracker.abandoned:
            say(f"marked {len(tracker.abandoned)} run(s) left RUNNING by a process that died as FAILED")
        exclusive = tracker.seconds - tracker.overlap(result.started, result.finished)
        tracker.log_timing(time.perf_counter() - t_start, exclusive)
    return _result(cfg, tracker, rows, best, model_uri, exported, t_start, exclusive)


def _parent_tags(cfg: TrainConfig, data: Data, cfg_hash: str) -> dict[str, str]:
    """Tags of the parent run: which data and which config it compared."""
    from training.tracking import schema

    return schema.parent_tags(data.fingerprint, data.dataset_hash, cfg_hash, cfg.training_data)


def _load(cfg: TrainConfig, dataset: Any) -> tuple[Data, str, list[Path]]:
    """The prepared data, the dataset folder it came from ("" in memory) and the inputs the export may not replace."""
    if dataset is None:
        from training.dataset import load_built

        if not Path(cfg.dataset).exists():
            raise StanceError(f"dataset not found: {cfg.dataset} (run `stance build-dataset` first or pass --dataset)")
        dsd, info = load_built(cfg.dataset)
        source = str(Path(cfg.dataset).resolve())
    else:
        dsd, info = dataset
        source = ""
    inputs = [Path(cfg.dataset)] if dataset is None else []
    return prepare(dsd, info, source or "<memory>"), source, inputs


def _checked_tracker(cfg: TrainConfig, data: Data, inputs: list[Path], say: Progress) -> Any:
    """Check the plan, the export folder, the tracking store and the cluster; return the tracker.

    Everything that can stop the run stops it here, before any training.
    """
    from training import tracking
    from training.persistence import check_export_dir
    from training.stores import shown  # a database URI's password stays out of output and metadata

    check_plan(cfg, data)
    check_export_dir(Path(cfg.export_dir), inputs)
    tracker = tracking.Tracker(cfg.tracking)
    tracker.check()  # an unreachable store fails here, before any training
    if cfg.cluster:
        from training.cluster import check_cluster

        say(check_cluster(cfg.cluster))  # unreachable, no workers or another stance on one: stops here
    say(f"tracking: {shown(tracker.uri)} (experiment '{cfg.tracking.experiment}')")
    say(
        f"pool: {len(data.texts)} sentences ({int(data.gold.sum())} gold), test: {len(data.test_texts)} gold; "
        f"{len(cfg.candidates)} candidates x {len(modes(cfg))} label mode(s), "
        f"{cfg.cv.repeats}x{cfg.cv.folds}-fold CV, " + ("on the cluster" if cfg.cluster else f"{cfg.n_jobs} worker(s)")
    )
    return tracker


def _mark_ties(tracker: Any, entries: list[Entry]) -> None:
    """Add the comparison's outcome (tie, best, champion, p-value) to every candidate's run."""
    from training.tracking import schema

    for e in entries:
        comparison = e.comparison
        tracker.update_candidate(e.run_id, schema.comparison_metrics(comparison), schema.comparison_tags(comparison))


def _log_leaderboard(
    tracker: Any, cfg: TrainConfig, result: Comparison, rows: list[dict[str, Any]], calibrated: dict[str, Any]
) -> None:
    """The leaderboard and the champion's scores on the parent run."""
    best = result.best
    tracker.log_leaderboard(
        rows,
        best.key,
        cfg.comparison.metric,
        {
            **{f"best_cv_{k}_mean": v[0] for k, v in best.cv_summary().items()},
            **{f"best_test_{k}": v for k, v in best.test.items()},
            **_calibration_metrics(calibrated),
            "candidates": float(len(result.entries)),
        },
    )


def _model_uri(cfg: TrainConfig, version: str, promoted: bool) -> str:
    """The champion's URI: the alias once it moved to this version, else the version itself."""
    if promoted:
        return f"models:/{cfg.tracking.registered_model}@{cfg.tracking.alias}"
    return f"models:/{cfg.tracking.registered_model}/{version}"


def _metadata(
    cfg: TrainConfig,
    data: Data,
    best: Entry,
    tracker: Any,
    model_uri: str,
    logged_model_uri: str,
    calibrated: dict[str, Any],
    cfg_hash: str,
) -> dict[str, Any]:
    """The export's metadata.json: the champion, its scores, its data and where MLflow keeps it."""
    from training.stores import shown

    bcv = best.cv_summary()
    return {
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
            "logged_model_uri": logged_model_uri,
        },
    }


def _export(
    cfg: TrainConfig,
    data: Data,
    best: Entry,
    rows: list[dict[str, Any]],
    meta: dict[str, Any],
    model_uri: str,
    inputs: list[Path],
    promote: Callable[[], Any] | None,
    say: Progress,
) -> bool:
    """Replace the export with the champion when it was promoted (or there is none yet); whether it did."""
    from training.persistence import write_export

    if promote is None and Path(cfg.export_dir).exists():
        say(f"export left as it was: {cfg.export_dir} (the champion did not change)")
        return False
    # The alias moves only once the export is in place, under the export's lock: it never points
    # at a version without its export, and concurrent trains cannot leave it on another one.
    write_export(
        best.model,
        cfg.export_dir,
        meta,
        model_card(best, rows, data, cfg, model_uri),
        model_bytes=best.model_bytes or None,
        inputs=inputs,
        then=promote,
    )
    say(f"exported: {cfg.export_dir}")
    return True


def _result(
    cfg: TrainConfig,
    tracker: Any,
    rows: list[dict[str, Any]],
    best: Entry,
    model_uri: str,
    exported: bool,
    t_start: float,
    exclusive: float,
) -> TrainResult:
    """What the CLI prints, with the run's timings."""
    from training.stores import shown

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
