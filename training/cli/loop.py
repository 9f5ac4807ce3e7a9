"""Commands of the labelling loop: ``queue``, ``annotate``, ``import-labels``, ``agreement``,
``audit-labels`` and ``learning-curve``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from training.errors import StanceError

from . import options as o
from .base import user_errors
from .render import console, say_on_stderr


@user_errors
def queue(
    folder: o.FolderArg,
    k: o.KOpt = 50,
    out: o.QueueOutOpt = Path("queue.jsonl"),
    model: o.ScoringModelOpt = "models/stance-classifier",
    by: o.ByOpt = "margin",
    per_doc: o.QueuePerDocOpt = 5,
    fmt: o.QueueFormatOpt = None,
    seed: o.ClusteringSeedOpt = 42,
    config: o.ConfigOpt = o.DATASET_CONFIG,
) -> None:
    """Choose the next sentences to label: uncertain ones, spread over clusters and documents."""
    from training.queue import QueueOptions, build_queue, output_format, summary, write_queue

    opts = QueueOptions(folder, k, out, model, by, per_doc, fmt, seed)
    rows = build_queue(opts, o.dataset_config(config))
    write_queue(rows, out, output_format(opts))
    sys.stderr.write(summary(rows, out) + "\n")


@user_errors
def annotate(queue_file: o.QueueArg, annotator: o.AnnotatorOpt, out: o.GoldOutOpt = None) -> None:
    """Label a queue in the terminal: f favor, a against, n neutral, s skip, u undo, q quit."""
    from training.annotate import annotate as run_session
    from training.annotate import stdin_keys, summary

    sys.stderr.write(summary(run_session(queue_file, annotator, out, stdin_keys(), console().print)) + "\n")


@user_errors
def import_labels(
    files: o.LabelFilesArg,
    docs: o.DocsOpt,
    skip_bad: o.SkipBadOpt = False,
    replace: o.ReplaceOpt = False,
    config: o.ConfigOpt = o.DATASET_CONFIG,
) -> None:
    """Bring labels back into gold files; nothing is written while a label is unknown, unmatched or in conflict."""
    from training.import_labels import import_labels as run

    result = run(files, docs, o.dataset_config(config), skip_bad=skip_bad, replace=replace)
    for line in result["problems"]:
        sys.stderr.write(f"warning: skipped: {line}\n")
    sys.stderr.write(
        f"imported {result['written']} of {result['labels']} labels into {len(result['files'])} gold files "
        f"({result['unchanged']} were there already)\n"
    )


@user_errors
def agreement(
    files: o.GoldFilesArg,
    out: o.AdjudicationOutOpt = Path("adjudication.jsonl"),
    as_json: o.NumbersJsonOpt = False,
) -> None:
    """Cohen's kappa per pair, Krippendorff's alpha, per-class agreement, and the disagreements to settle."""
    from training.agreement import adjudication_rows, measure, read_annotations, report_lines, write_adjudication

    labels, rows = read_annotations(files)
    result = measure(labels)
    write_adjudication(adjudication_rows(result, labels, rows), out)
    if as_json:
        numbers = {k: v for k, v in result.items() if k != "disputed"} | {"disagreements": len(result["disputed"])}
        sys.stdout.write(json.dumps(numbers, indent=2) + "\n")
    else:
        for line in report_lines(result):
            console().print(line)
    sys.stderr.write(f"wrote {len(result['disputed'])} disagreements to {out}\n")


@user_errors
def audit_labels(
    data: o.DatasetFolderOpt = Path("data/dataset"),
    out: o.ReviewOutOpt = Path("review.jsonl"),
    folds: o.FoldsOpt = 5,
    limit: o.LimitOpt = None,
    seed: o.AuditSeedOpt = 42,
) -> None:
    """Find likely label errors in gold with out-of-fold probabilities and confident learning."""
    from training.audit import audit, write_review

    if folds < 2:
        raise StanceError(f"invalid --folds {folds} (at least 2)")
    result = audit(data, folds=folds, seed=seed, limit=limit)
    write_review(result["rows"], out)
    sys.stderr.write(
        f"{result['issues']} of {result['gold']} gold sentences look mislabelled (folds grouped by "
        f"{result['grouped_by']}, {result['groups']} groups; out-of-fold accuracy {result['oof_accuracy']:.3f}); "
        f"wrote {len(result['rows'])} to {out}\n"
    )


@user_errors
def learning_curve(
    data: o.OracleDataOpt = Path("data/dataset"),
    strategies: o.StrategiesOpt = "random,margin,entropy,margin-diverse,entropy-diverse",
    seeds: o.SeedCountOpt = 5,
    seed: o.FirstSeedOpt = 42,
    step: o.StepOpt = 100,
    initial: o.InitialOpt = 100,
    max_labels: o.MaxLabelsOpt = None,
    per_doc: o.StepPerDocOpt = 5,
    out: o.CurveOutOpt = Path("docs/learning-curve.md"),
    log: o.CurveLogOpt = True,
    tracking_uri: o.TrackingUriOpt = None,
    experiment: o.CurveExperimentOpt = "stance-learning-curve",
) -> None:
    """Simulate the labelling loop on a labelled dataset: each strategy against random, as learning curves."""
    from training.curve_report import write_report
    from training.learning_curve import CurveOptions, mlflow_payload, simulate, summary_lines

    names = tuple(s.strip() for s in strategies.split(",") if s.strip())
    opts = CurveOptions(data, names, tuple(range(seed, seed + seeds)), step, initial, max_labels, per_doc)
    result = simulate(opts, progress=say_on_stderr())
    command = (
        f"stance learning-curve --data {data} --strategies {','.join(opts.strategies)} --seeds {seeds} --seed {seed} "
        f"--step {step} --initial {initial} --per-doc {per_doc}" + (f" --max-labels {max_labels}" if max_labels else "")
    )
    written = write_report(result, out, command)
    if log:
        from training.tracking import log_learning_curve

        run_id = log_learning_curve(tracking_uri, experiment, result["options"], *mlflow_payload(result), written)
        sys.stderr.write(f"MLflow run {run_id} (experiment '{experiment}')\n")
    for line in [*summary_lines(result), "wrote " + ", ".join(str(p) for p in written)]:
        console().print(line)
