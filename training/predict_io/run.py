"""One ``stance predict`` run: checks in order of cost, then the input streams through the model."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from operator import attrgetter
from typing import IO, Any, BinaryIO, TextIO

from training.atomic import atomic_file
from training.selective import UNCERTAIN, abstain, check_min_confidence

from .options import PredictOptions, PredictStats, input_format, output_format, validate
from .readers import check_file, document_file, open_input, rows, sentences
from .writers import WRITERS, Writer

log = logging.getLogger(__name__)

Progress = Callable[[int, int | None], None]


def run_predict(
    opts: PredictOptions,
    stdin: BinaryIO,
    stdout: TextIO,
    *,
    stdout_is_terminal: bool = False,
    stdin_is_terminal: bool = False,
    dataset_config: Any = None,
    progress: Progress | None = None,
    model: Any = None,
) -> PredictStats:
    """Label every sentence of the input and write the rows; return the counts.

    Checks run in order of cost: options, the model path, the whole input file, then the
    model is loaded and the input streams through it in batches of ``opts.batch_size``, labelled
    by ``opts.jobs`` processes (see :mod:`training.predict_pool`) and written in input order.
    ``progress(done_bytes, total_bytes)`` is called after each batch of a file input is written.
    """
    from training.predict import check_model_location, load_model

    validate(opts, stdin_is_terminal)
    opts = _capped_jobs(opts)
    fmt_out = output_format(opts, stdout_is_terminal and opts.output is None)
    if model is None:
        check_model_location(opts.model)
    check_file(opts)
    if opts.documents and dataset_config is None:
        from training.config import DatasetConfig

        dataset_config = DatasetConfig()
    if opts.cluster:
        from training.cluster import check_cluster

        check_cluster(opts.cluster)  # unreachable, no workers or another stance on one: before the model loads
    if model is None:
        model = load_model(opts.model)
    stats = PredictStats(format=fmt_out, output=opts.output, cluster=opts.cluster or "")
    stats.min_confidence = _min_confidence(opts, model)
    start = time.perf_counter()
    with contextlib.ExitStack() as stack:
        fh, total, pairs = _input(stack, opts, stdin, dataset_config, stats)
        out: IO[str] = stack.enter_context(atomic_file(opts.output)) if opts.output else stdout
        writer = WRITERS[fmt_out](out, model.labels, stats)
        _label(opts, model, pairs, fh, total, writer, progress)
        writer.close()
    stats.seconds = time.perf_counter() - start
    return stats


def _capped_jobs(opts: PredictOptions) -> PredictOptions:
    """``opts`` with ``jobs`` at most the usable cores (more processes only compete for them)."""
    from training.predict_pool import usable_cores

    cores = usable_cores()
    if opts.jobs <= cores:
        return opts
    log.warning("--jobs %d is more than the %d usable cores; using %d", opts.jobs, cores, cores)
    return dataclasses.replace(opts, jobs=cores)


def _min_confidence(opts: PredictOptions, model: Any) -> float | None:
    """The option's threshold, else the one recorded with the model at training (None: no abstention)."""
    if opts.min_confidence is not None:
        return opts.min_confidence
    return check_min_confidence(model.metadata.get("min_confidence"), f"min_confidence in {model.source} metadata")


Pairs = Iterator[tuple[str, dict[str, Any]]]


def _input(
    stack: contextlib.ExitStack, opts: PredictOptions, stdin: BinaryIO, dataset_config: Any, stats: PredictStats
) -> tuple[BinaryIO | None, int | None, Pairs]:
    """The open input (None for sentences given as arguments), its size if a file, its sentences."""
    fmt_in = input_format(opts)
    fh: BinaryIO | None = None
    total: int | None = None
    if opts.input is not None:
        where, base = str(opts.input), opts.input.stem
        if fmt_in == "document":
            return None, None, sentences(document_file(opts.input, dataset_config), opts, dataset_config, stats)
        fh = stack.enter_context(open_input(opts.input))
        total = opts.input.stat().st_size
    else:
        where, base = "<stdin>", "stdin"
        fh = stdin if not opts.texts else None
    return fh, total, sentences(rows(opts, fmt_in, fh, where, base), opts, dataset_config, stats)


def _label(
    opts: PredictOptions,
    model: Any,
    pairs: Pairs,
    fh: BinaryIO | None,
    total: int | None,
    writer: Writer,
    progress: Progress | None,
) -> None:
    """Label the sentences batch by batch, in input order, and write each batch as it comes."""
    from training.predict_pool import proba_batches

    stats = writer.stats

    def forking() -> None:
        stats.jobs = opts.jobs
        writer.fh.flush()

    # standard input cannot tell its position (a pipe); a file can
    batches = _batches(pairs, opts.batch_size, fh if opts.input is not None else None)
    if opts.cluster:
        from training import cluster

        labelled = cluster.proba_batches(opts.cluster, model, batches, attrgetter("texts"))
    else:
        labelled = proba_batches(model, batches, attrgetter("texts"), opts.jobs, before_fork=forking)
    for batch, proba in labelled:
        labels = abstain(model.label_array(proba), proba, stats.min_confidence)
        stats.abstained += labels.count(UNCERTAIN)
        stats.sentences += len(batch.records)
        stats.labels.update(labels)
        writer.write(batch.records, labels, proba)
        if progress is not None and batch.position is not None:
            progress(batch.position, total)
    if progress is not None and fh is not None:
        progress(total or fh.tell(), total)


@dataclass
class _Batch:
    """Sentences for one model call, their output records, and how far the input was read."""

    texts: list[str]
    records: list[dict[str, Any]]
    position: int | None  # bytes of a file input read up to the end of this batch, for the progress bar


def _batches(pairs: Pairs, size: int, fh: BinaryIO | None) -> Iterator[_Batch]:
    texts: list[str] = []
    records: list[dict[str, Any]] = []
    for text, rec in pairs:
        texts.append(text)
        records.append(rec)
        if len(records) >= size:
            yield _Batch(texts, records, fh.tell() if fh is not None else None)
            texts, records = [], []
    if records:
        yield _Batch(texts, records, None)


def summary(stats: PredictStats) -> str:
    """One line for standard error: counts, labels, where the rows went."""
    counts = ", ".join(f"{k} {v}" for k, v in sorted(stats.labels.items(), key=lambda kv: -kv[1]))
    parts = [f"labelled {stats.sentences} sentence{'s' if stats.sentences != 1 else ''}"]
    if stats.documents:
        parts[0] += f" from {stats.documents} document{'s' if stats.documents != 1 else ''}"
    if counts:
        parts[0] += f" ({counts})"
    if stats.min_confidence is not None:
        parts.append(f"{stats.abstained} uncertain (top probability below {stats.min_confidence:g})")
    if stats.empty:
        parts.append(f"skipped {stats.empty} empty input{'s' if stats.empty != 1 else ''}")
    if stats.output is not None:
        parts.append(f"wrote {stats.output} ({stats.format})")
    rate = stats.sentences / stats.seconds if stats.seconds > 0 else 0.0
    where = (
        f" on the Dask cluster {stats.cluster}"
        if stats.cluster
        else f" on {stats.jobs} processes"
        if stats.jobs > 1
        else ""
    )
    parts.append(f"{stats.seconds:.1f}s, {rate:,.0f}/s" + where)
    return "; ".join(parts)
