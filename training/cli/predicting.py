"""Commands that run a saved model on text: ``predict`` and ``evaluate``."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from typing import Any

from . import options as o
from .base import user_errors
from .render import console, eval_report, stderr_console


@user_errors
def predict(
    sentences: o.SentencesArg = None,
    input: o.InputOpt = None,
    input_format: o.InputFormatOpt = None,
    text_column: o.TextColumnOpt = "text",
    documents: o.DocumentsOpt = False,
    model: o.ModelOpt = "models/stance-classifier",
    output: o.OutputOpt = None,
    fmt: o.PredictFormatOpt = None,
    batch_size: o.BatchSizeOpt = 4096,
    jobs: o.PredictJobsOpt = None,
    config: o.ConfigOpt = o.DATASET_CONFIG,
    min_confidence: o.MinConfidenceOpt = None,
    cluster: o.ClusterOpt = None,
) -> None:
    """Label sentences with a saved or registered model: label and probability of each label per sentence."""
    from training.predict_io import PredictOptions, run_predict, summary
    from training.predict_pool import usable_cores

    cfg = o.dataset_config(config) if documents else None
    opts = PredictOptions(
        texts=tuple(sentences or ()),
        input=input,
        input_format=input_format,
        text_column=text_column,
        documents=documents,
        model=model,
        output=output,
        format=fmt,
        batch_size=batch_size,
        id_column=cfg.reader.id_column if cfg else "id",
        jobs=usable_cores() if jobs is None else jobs,
        min_confidence=min_confidence,
        cluster=cluster,
    )
    stdin = getattr(sys.stdin, "buffer", None) or open(os.devnull, "rb")  # noqa: SIM115 - read to its end
    with contextlib.ExitStack() as stack:
        stats = run_predict(
            opts,
            stdin,
            sys.stdout,
            stdout_is_terminal=sys.stdout.isatty() and output is None,
            stdin_is_terminal=bool(sys.stdin and sys.stdin.isatty()),
            dataset_config=cfg,
            progress=_progress_bar(stack) if input is not None else None,
        )
    for name in sorted(stats.replaced_fields):
        sys.stderr.write(f"warning: the input's '{name}' field was replaced by the prediction\n")
    sys.stderr.write(summary(stats) + "\n")


def _progress_bar(stack: contextlib.ExitStack) -> Any:
    """A ``progress(done, total)`` callback drawing a bar on a terminal's stderr; None elsewhere."""
    if not sys.stderr.isatty():  # data goes to stdout; the bar only to a terminal
        return None
    from rich.progress import Progress

    bar = stack.enter_context(Progress(console=stderr_console(), transient=True))
    task = bar.add_task("labelling", total=None)
    return lambda done, total: bar.update(task, completed=done, total=total)


@user_errors
def evaluate(
    data: o.LabelledDataOpt,
    split: o.SplitOpt = None,
    model: o.ModelOpt = "models/stance-classifier",
    text_column: o.EvalTextColumnOpt = "text",
    label_column: o.LabelColumnOpt = "label",
    as_json: o.ReportJsonOpt = False,
    log: o.EvalLogOpt = False,
    config: o.TrainingConfigOpt = o.TRAIN_CONFIG,
    metrics: o.MetricsOpt = None,
    plots: o.PlotsOpt = None,
    target_accuracy: o.TargetAccuracyOpt = None,
) -> None:
    """Score a model on labelled sentences: macro-F1, F_avg, accuracy, per-label scores, confusion matrix."""
    from training.evaluate import evaluate_model

    report = evaluate_model(
        data,
        model,
        split=split,
        text_column=text_column,
        label_column=label_column,
        tracking=o.train_config(config).tracking if log else None,
        target_accuracy=target_accuracy,
    )
    if metrics or plots:
        from training.reports import write_reports

        write_reports(report, metrics=metrics, plots=plots)
    if as_json:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
        return
    console().print(eval_report(report))
