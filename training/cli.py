"""The ``stance`` command line: parse options, load config, call one library function, print.

This is the only module that imports typer. Heavy libraries are imported inside commands so
that ``stance --help`` stays fast.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import gc
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from training.errors import StanceError

app = typer.Typer(
    name="stance",
    help="Build a stance-toward-normalization dataset, compare classifiers in MLflow, label new text.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help text: rendering it through rich costs a third of a second at every start.
    rich_markup_mode=None,
)

F = TypeVar("F", bound=Callable[..., Any])

DATASET_CONFIG = Path("configs/dataset.yaml")
TRAIN_CONFIG = Path("configs/train.yaml")


def _err(line: str) -> None:
    from rich.console import Console
    from rich.markup import escape

    Console(stderr=True, highlight=False, soft_wrap=True).print(f"[bold red]error:[/] {escape(line)}", markup=True)


def _stdout_failed(exc: OSError) -> None:
    """Report a standard output that cannot take our rows (a full disk, ``/dev/full``) and silence it."""
    import errno

    sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - the interpreter flushes it at exit
    if exc.errno != errno.EPIPE:  # a reader that stopped early (``| head``) is no error of ours
        _err(f"cannot write standard output: {exc.strerror or exc} (free some space or redirect it elsewhere)")


def user_errors(func: F) -> F:
    """Turn a :class:`StanceError` into one line per problem on stderr and exit code 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from training.atomic import USER_ERRNOS, user_error
        from training.processes import sigterm_as_interrupt

        sigterm_as_interrupt()
        try:
            result = func(*args, **kwargs)
            sys.stdout.flush()  # a full standard output fails here, inside the handlers below
            return result
        except StanceError as exc:
            for line in exc.problems:
                _err(line)
            raise typer.Exit(1) from None
        except OSError as exc:
            if exc.errno not in USER_ERRNOS and exc.errno != errno.EPIPE:
                raise
            if exc.filename is None:
                _stdout_failed(exc)
            else:
                _err(user_error(exc, "write", exc.filename).problems[0])
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            _err("interrupted; earlier datasets, models and runs were left as they were")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def _print_version(value: bool) -> None:
    if value:
        from training import __version__

        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", help="Show the version and exit.", is_eager=True, callback=_print_version)
    ] = False,
) -> None:
    """Build a stance-toward-normalization dataset, compare classifiers in MLflow, label new text."""
    # Library progress bars and INFO lines are not ours to print; a user may turn them back on.
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    # With a tracking server MLflow prints a "View run" link on standard output, which is for data.
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    _log_warnings()


def _log_warnings() -> None:
    """Our modules' warnings reach standard error as ``warning: ...`` lines."""
    import logging

    class _Stderr(logging.Handler):
        # Whatever standard error is when the warning comes (a test runner swaps it).
        def emit(self, record: logging.LogRecord) -> None:
            sys.stderr.write(self.format(record) + "\n")

    logger = logging.getLogger("training")
    if not logger.handlers:
        handler = _Stderr()
        handler.setFormatter(logging.Formatter("warning: %(message)s"))
        handler.setLevel(logging.WARNING)
        logger.addHandler(handler)
        logger.propagate = False


ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="YAML config file.")]
ClusterOpt = Annotated[
    str | None,
    typer.Option(
        "--cluster",
        envvar="STANCE_CLUSTER",
        show_envvar=True,
        help="Dask scheduler, tcp://HOST:8786: its workers do the work, results identical to a local run.",
    ),
]


@app.command()
@user_errors
def segment(
    path: Annotated[Path, typer.Argument(help="A document file (.txt, .md, .html, .jsonl, .csv).")],
    config: ConfigOpt = DATASET_CONFIG,
) -> None:
    """Print the sentences the builder cuts from one file, as JSON lines (an annotation template)."""
    from training.config import DatasetConfig, load_config
    from training.corpus import segment_file

    cfg = load_config(config, DatasetConfig) if config.exists() or config != DATASET_CONFIG else DatasetConfig()
    for row in segment_file(path, cfg):
        sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")


def _progress(description: str) -> Any:
    """A rich progress bar on stderr, silent when stderr is not a terminal."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    return Progress(
        TextColumn(description),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )


@app.command("build-dataset")
@user_errors
def build_dataset(
    config: ConfigOpt = DATASET_CONFIG,
    seeds: Annotated[
        Path | None, typer.Option("--seeds", help="Folder of documents (default: seeds_dir from the config).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Where to save the dataset (default: out_dir from the config).")
    ] = None,
    hf: Annotated[
        str | None,
        typer.Option(
            "--hf", help="A Hugging Face dataset name, saved dataset folder or parquet file instead of --seeds."
        ),
    ] = None,
    text_column: Annotated[
        str | None, typer.Option("--text-column", help="Column holding the text (csv, jsonl, --hf).")
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Seed for the split (default: the config's seed).")
    ] = None,
    weak_labels: Annotated[
        str,
        typer.Option(
            "--weak-labels",
            help="Weak labels from the labelling functions (rules), a trained model (model), or the model voting with them (both).",
        ),
    ] = "rules",
    model: Annotated[
        str | None,
        typer.Option(
            "--model", "-m", help="The model for --weak-labels model|both (default: models/stance-classifier)."
        ),
    ] = None,
) -> None:
    """Turn documents into a labelled, split, fingerprinted Hugging Face dataset."""

    from training.config import DatasetConfig, load_config
    from training.dataset import build_dataset as build

    cfg = load_config(config, DatasetConfig)
    if seed is not None:
        cfg = cfg.model_copy(update={"seed": seed})
    with _progress("reading documents") as bar:
        task = bar.add_task("read", total=None)
        result = build(
            cfg,
            seeds=seeds,
            out=out,
            hf=hf,
            text_column=text_column,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
            weak_labels=weak_labels,
            model=model,
        )
    console = _console()
    info = result.info
    console.print(_lf_table(result.lf_table))
    scores = ", ".join(f"{k} {v:.3f}" for k, v in info["label_model_gold_macro_f1"].items() if v == v)
    console.print(
        f"label model: {info['label_model']} ({info['label_model_reason']}"
        + (f"; macro-F1 on gold: {scores})" if scores else ")")
    )
    console.print(
        "splits: "
        + ", ".join(f"{k} {v}" for k, v in info["splits"].items())
        + f"; duplicates dropped: {info['duplicates_dropped']}"
    )
    leak = info["leakage"]
    console.print(
        f"leakage: {leak['documents_in_several_splits']} documents and "
        f"{leak['near_duplicates_across_splits']} near-duplicate pairs across splits"
    )
    if info.get("agreement"):
        console.print(
            f"agreement: Cohen's kappa {info['agreement']['kappa']:.3f} on {info['agreement']['sentences']} sentences"
        )
    console.print(f"saved {result.out} (fingerprint {result.fingerprint[:16]})")


def _console() -> Any:
    """Standard output; wide enough for tables when it is a file or a pipe."""
    from rich.console import Console

    console = Console(highlight=False)
    return console if console.is_terminal else Console(highlight=False, width=240)


def _lf_table(rows: list[dict[str, Any]]) -> Any:
    from rich.table import Table

    from training.config import LABELS

    table = Table(title="labelling functions against gold")
    cols = ["function", "coverage", "overlap", "conflict", "gold_votes", "accuracy"] + [
        f"precision_{l}" for l in LABELS
    ]
    heads = ["function", "cover", "overlap", "conflict", "gold n", "acc"] + [f"P {l}" for l in LABELS]
    for c, head in zip(cols, heads):
        table.add_column(head, justify="left" if c == "function" else "right", no_wrap=True)
    for row in rows:
        table.add_row(
            *("" if row[c] is None else f"{row[c]:.3f}" if isinstance(row[c], float) else str(row[c]) for c in cols)
        )
    return table


ModelOpt = Annotated[
    str,
    typer.Option(
        "--model",
        "-m",
        help="Export directory, .skops file or MLflow model URI (runs:/..., models:/stance-classifier@champion).",
    ),
]


@app.command()
@user_errors
def predict(
    sentences: Annotated[
        list[str] | None,
        typer.Argument(help="Sentences to label (else --input or standard input).", show_default=False),
    ] = None,
    input: Annotated[
        Path | None,
        typer.Option(
            "--input", "-i", help="A .txt (one sentence a line), .jsonl or .csv file; .md/.html with --documents."
        ),
    ] = None,
    input_format: Annotated[
        str | None,
        typer.Option("--input-format", help="txt, jsonl or csv (default: the file suffix; txt for standard input)."),
    ] = None,
    text_column: Annotated[
        str, typer.Option("--text-column", help="Field or column holding the text (jsonl, csv).")
    ] = "text",
    documents: Annotated[
        bool, typer.Option("--documents", help="Treat each input as a document and segment it like build-dataset.")
    ] = False,
    model: ModelOpt = "models/stance-classifier",
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write rows to this file (atomically) instead of standard output."),
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            help="table, jsonl or csv (default: a table on a terminal, else jsonl; csv for a .csv --output).",
        ),
    ] = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", help="Sentences per model call; memory follows this, not the input size.")
    ] = 4096,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            help="Processes labelling batches in parallel, output in input order (default: the usable CPU cores; 1: no extra process).",
            show_default=False,
        ),
    ] = None,
    config: ConfigOpt = DATASET_CONFIG,
    min_confidence: Annotated[
        float | None,
        typer.Option(
            "--min-confidence",
            help="Label a sentence 'uncertain' when its top probability is below this, between 0 and 1 (default: min_confidence of the train config the model was trained with; none: label every sentence).",
            show_default=False,
        ),
    ] = None,
    cluster: ClusterOpt = None,
) -> None:
    """Label sentences with a saved or registered model: label and probability of each label per sentence."""
    from training.predict_io import PredictOptions, run_predict, summary
    from training.predict_pool import usable_cores

    cfg = None
    if documents:
        from training.config import DatasetConfig, load_config

        cfg = load_config(config, DatasetConfig) if config.exists() or config != DATASET_CONFIG else DatasetConfig()
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
    stdin = getattr(sys.stdin, "buffer", None) or open(os.devnull, "rb")
    with contextlib.ExitStack() as stack:
        report = None
        if input is not None and sys.stderr.isatty():  # data goes to stdout; the bar only to a terminal
            from rich.progress import Progress

            bar = stack.enter_context(Progress(console=_stderr_console(), transient=True))
            task = bar.add_task("labelling", total=None)
            report = lambda done, total: bar.update(task, completed=done, total=total)  # noqa: E731
        stats = run_predict(
            opts,
            stdin,
            sys.stdout,
            stdout_is_terminal=sys.stdout.isatty() and output is None,
            stdin_is_terminal=bool(sys.stdin and sys.stdin.isatty()),
            dataset_config=cfg,
            progress=report,
        )
    for name in sorted(stats.replaced_fields):
        sys.stderr.write(f"warning: the input's '{name}' field was replaced by the prediction\n")
    sys.stderr.write(summary(stats) + "\n")


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


@app.command()
@user_errors
def evaluate(
    data: Annotated[
        Path,
        typer.Option("--data", "-d", help="Labelled .jsonl/.csv file, or a dataset folder saved by build-dataset."),
    ],
    split: Annotated[str | None, typer.Option("--split", help="Split of a dataset folder (default: test).")] = None,
    model: ModelOpt = "models/stance-classifier",
    text_column: Annotated[str, typer.Option("--text-column", help="Field or column holding the text.")] = "text",
    label_column: Annotated[
        str, typer.Option("--label-column", help="Field or column holding the true label.")
    ] = "label",
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    log: Annotated[
        bool, typer.Option("--log", help="Record the evaluation as an MLflow run linked to the model.")
    ] = False,
    config: Annotated[
        Path, typer.Option("--config", "-c", help="Training config (its tracking section, for --log).")
    ] = TRAIN_CONFIG,
    metrics: Annotated[
        Path | None,
        typer.Option("--metrics", help="Also write the headline metrics as JSON here (for dvc metrics)."),
    ] = None,
    plots: Annotated[
        Path | None,
        typer.Option("--plots", help="Also write confusion and per-class CSVs into this folder (for dvc plots)."),
    ] = None,
    target_accuracy: Annotated[
        float | None,
        typer.Option(
            "--target-accuracy",
            help="Also find the smallest top-probability threshold whose kept sentences reach this accuracy (0 to 1).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Score a model on labelled sentences: macro-F1, F_avg, accuracy, per-label scores, confusion matrix."""
    from training.evaluate import evaluate_model

    tracking_cfg = None
    if log:
        from training.config import load_config
        from training.train_config import TrainConfig

        tracking_cfg = (
            load_config(config, TrainConfig) if config.exists() or config != TRAIN_CONFIG else TrainConfig()
        ).tracking
    report = evaluate_model(
        data,
        model,
        split=split,
        text_column=text_column,
        label_column=label_column,
        tracking=tracking_cfg,
        target_accuracy=target_accuracy,
    )
    if metrics or plots:
        from training.reports import write_reports

        write_reports(report, metrics=metrics, plots=plots)
    if as_json:
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
        return
    _console().print(_eval_report(report))


def _eval_report(report: dict[str, Any]) -> Any:
    from rich.console import Group
    from rich.table import Table

    labels = report["confusion"]["labels"]
    scores = Table(title=f"{report['model']} on {report['data']} ({report['n']} sentences)", title_justify="left")
    for head in ("label", "precision", "recall", "F1", "support"):
        scores.add_column(head, justify="left" if head == "label" else "right")
    for label, r in report["per_class"].items():
        scores.add_row(label, f"{r['precision']:.3f}", f"{r['recall']:.3f}", f"{r['f1']:.3f}", str(int(r["support"])))
    matrix = Table(title="confusion (rows: true, columns: predicted)", title_justify="left")
    matrix.add_column("true \\ predicted")
    for label in labels:
        matrix.add_column(label, justify="right")
    for label, row in zip(labels, report["confusion"]["matrix"]):
        matrix.add_row(label, *(str(v) for v in row))
    lines = [f"macro-F1 {report['macro_f1']:.4f}   F_avg {report['f_avg']:.4f}   accuracy {report['accuracy']:.4f}"]
    lines += _risk_lines(report)
    if report.get("skipped_empty"):
        lines.append(f"skipped {report['skipped_empty']} empty rows")
    if report.get("mlflow_run_id"):
        lines.append(f"logged MLflow run {report['mlflow_run_id']}")
    return Group(scores, matrix, *lines)


def _risk_lines(report: dict[str, Any]) -> list[str]:
    """Calibration and risk-coverage lines of an evaluation report."""
    c, rc = report["calibration"], report["risk_coverage"]
    lines = [
        f"calibration: ECE {c['ece']:.4f} (15 bins)   Brier {c['brier']:.4f}   log loss {c['log_loss']:.4f}",
        "coverage  "
        + "   ".join(
            f"{100 * r['coverage']:.0f}%: acc {r['accuracy']:.3f} F1 {r['macro_f1']:.3f}" for r in rc["at_coverage"]
        ),
        f"area under the risk-coverage curve {rc['aurc']:.4f}",
    ]
    if "target_accuracy" in rc:
        t = rc["target_threshold"]
        lines.append(
            f"no threshold reaches accuracy {rc['target_accuracy']:g} on this data"
            if t is None
            else f"accuracy {rc['target_accuracy']:g}: --min-confidence {t['threshold']:.4f} keeps "
            f"{100 * t['coverage']:.1f}% of sentences at accuracy {t['accuracy']:.3f}"
        )
    return lines


def _leaderboard_table(rows: list[dict[str, Any]], metric: str, title: str) -> Any:
    """The leaderboard as a rich table: CV mean ± std, test scores, speed, size, tie with the best."""
    from rich.table import Table

    table = Table(title=title)
    for head in (
        "candidate",
        "labels",
        f"CV {metric}",
        "CV F_avg",
        "CV acc",
        "episode CV",
        "document CV",
        "test macro-F1",
        "test F_avg",
        "CV ECE",
        "test ECE",
        "test Brier",
        "fit s",
        "pred sent/s",
        "size KB",
        "vs best",
        "p",
    ):
        table.add_column(head, justify="left" if head in ("candidate", "labels", "vs best") else "right", no_wrap=True)

    def num(key: str, fmt: str, scale: float = 1.0) -> str:
        v = r.get(key)
        return "-" if v is None or v != v else format(v / scale, fmt)

    for r in rows:
        verdict = "[bold green]best[/]" if r["is_best"] else "[green]tied[/]" if r["tied_with_best"] else "worse"
        if r.get("is_champion") and not r["is_best"]:
            verdict += " [bold green](champion)[/]"
        table.add_row(
            r["candidate"],
            r["training_data"],
            f"{num(f'cv_{metric}_mean', '.3f')} ± {num(f'cv_{metric}_std', '.3f')}",
            f"{num('cv_f_avg_mean', '.3f')} ± {num('cv_f_avg_std', '.3f')}",
            num("cv_accuracy_mean", ".3f"),
            num("cv_episode_macro_f1_mean", ".3f"),
            num("cv_document_macro_f1_mean", ".3f"),
            num("test_macro_f1", ".3f"),
            num("test_f_avg", ".3f"),
            num("cv_ece", ".3f"),
            num("test_ece", ".3f"),
            num("test_brier", ".3f"),
            num("fit_seconds", ".2f"),
            num("predict_sentences_per_s", ",.0f"),
            num("model_size_bytes", ",.0f", 1024),
            verdict,
            "" if r["is_best"] else num("p_value", ".3f"),
        )
    return table


@app.command()
@user_errors
def train(
    config: ConfigOpt = TRAIN_CONFIG,
    dataset: Annotated[
        Path | None, typer.Option("--dataset", "-d", help="Built dataset folder (default: dataset in the config).")
    ] = None,
    experiment: Annotated[
        str | None, typer.Option("--experiment", "-e", help="MLflow experiment (default: tracking.experiment).")
    ] = None,
    tracking_uri: Annotated[
        str | None,
        typer.Option(
            "--tracking-uri", help="MLflow store (default: tracking.uri, $MLFLOW_TRACKING_URI, sqlite:///mlflow.db)."
        ),
    ] = None,
    export_dir: Annotated[
        Path | None, typer.Option("--export-dir", help="Where the champion is exported (default: export_dir).")
    ] = None,
    training_data: Annotated[
        str | None, typer.Option("--training-data", help="gold, gold+weak or both (default: training_data).")
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Seed of CV splits and models (default: the config's seed).")
    ] = None,
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", help="Worker processes (default: n_jobs).")] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Move the champion alias to the new model even when it is significantly worse than the current one.",
        ),
    ] = False,
    cluster: ClusterOpt = None,
) -> None:
    """Compare the configured classifiers with repeated grouped CV, log to MLflow, register and export the best."""
    from training.config import load_config
    from training.train import train as run
    from training.train_config import TrainConfig, with_overrides

    cfg = load_config(config, TrainConfig) if config.exists() or config != TRAIN_CONFIG else TrainConfig()
    cfg = with_overrides(
        cfg,
        {
            "dataset": dataset and str(dataset),
            "export_dir": export_dir and str(export_dir),
            "training_data": training_data,
            "seed": seed,
            "n_jobs": jobs,
            "cluster": cluster,
        },
        {"experiment": experiment, "uri": tracking_uri},
    )
    err = _stderr_console()
    result = run(cfg, progress=lambda line: err.print(line, markup=False, highlight=False), force=force)
    console = _console()
    rows = sorted(result.rows, key=lambda r: -r[f"cv_{result.metric}_mean"])
    console.print(
        _leaderboard_table(
            rows,
            result.metric,
            f"leaderboard ({result.method}, alpha {result.alpha}; CV on train+validation, test used once)",
        )
    )
    where = f"exported to {result.export_dir}" if result.exported else f"{result.export_dir} left as it was"
    console.print(f"best: {result.best} -> {result.registered}; {where}")
    console.print(f"MLflow: {result.tracking_uri}, experiment '{result.experiment}', run {result.parent_run_id}")
    total = max(result.seconds_total, 1e-9)
    console.print(
        f"time: {result.seconds_total:.1f} s; MLflow: {result.seconds_tracking_exclusive:.1f} s not overlapped "
        f"by training ({100 * result.seconds_tracking_exclusive / total:.1f}%), "
        f"{result.seconds_tracking:.1f} s in all ({100 * result.seconds_tracking / total:.1f}%)"
    )


@app.command()
@user_errors
def compare(
    experiment: Annotated[str, typer.Option("--experiment", "-e", help="MLflow experiment to read.")] = "stance",
    run_id: Annotated[
        str | None,
        typer.Option("--run", "-r", help="A `stance train` parent run id (default: the latest finished one)."),
    ] = None,
    tracking_uri: Annotated[
        str | None,
        typer.Option("--tracking-uri", help="MLflow store (default: $MLFLOW_TRACKING_URI, sqlite:///mlflow.db)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the leaderboard as JSON.")] = False,
) -> None:
    """Print the leaderboard of a `stance train` run, read back from MLflow."""
    from training.tracking import read_leaderboard

    board = read_leaderboard(tracking_uri, experiment, run_id)
    if as_json:
        sys.stdout.write(json.dumps(board, indent=2, default=str) + "\n")
        return
    console = _console()
    console.print(
        _leaderboard_table(
            board["rows"],
            board["metric"],
            f"run {board['run_id']} ({board['run_name']}), {board['method']} alpha {board['alpha']}",
        )
    )
    console.print(
        f"best: {board['best']}; registered {board['registered'] or '-'}; "
        f"dataset {board['dataset_fingerprint'][:16] or '-'}"
    )


@app.command()
@user_errors
def queue(
    folder: Annotated[Path, typer.Argument(help="Folder of unlabelled documents (any format build-dataset reads).")],
    k: Annotated[int, typer.Option("--k", help="How many sentences to choose.")] = 50,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="The queue file: .jsonl, .csv, or .json for Label Studio.")
    ] = Path("queue.jsonl"),
    model: Annotated[
        str, typer.Option("--model", "-m", help="Model that scores the sentences; 'rules' for the labelling functions.")
    ] = "models/stance-classifier",
    by: Annotated[str, typer.Option("--by", help="Uncertainty measure: margin or entropy.")] = "margin",
    per_doc: Annotated[
        int | None, typer.Option("--per-doc", help="At most this many sentences from one document.")
    ] = 5,
    fmt: Annotated[
        str | None,
        typer.Option("--format", "-f", help="jsonl, csv or labelstudio (default: from the --out suffix)."),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the clustering.")] = 42,
    config: ConfigOpt = DATASET_CONFIG,
) -> None:
    """Choose the next sentences to label: uncertain ones, spread over clusters and documents."""
    from training.config import DatasetConfig, load_config
    from training.queue import QueueOptions, build_queue, output_format, summary, write_queue

    cfg = load_config(config, DatasetConfig) if config.exists() or config != DATASET_CONFIG else DatasetConfig()
    opts = QueueOptions(folder, k, out, model, by, per_doc, fmt, seed)
    rows = build_queue(opts, cfg)
    write_queue(rows, out, output_format(opts))
    sys.stderr.write(summary(rows, out) + "\n")


@app.command()
@user_errors
def annotate(
    queue_file: Annotated[
        Path,
        typer.Argument(
            metavar="QUEUE", help="A queue written by `stance queue`, `agreement` or `audit-labels` (.jsonl)."
        ),
    ],
    annotator: Annotated[
        str, typer.Option("--annotator", "-a", help="Your name (letters, digits, . _ -); it goes on every label.")
    ],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Gold output (default: <queue>.<annotator>.gold.jsonl).")
    ] = None,
) -> None:
    """Label a queue in the terminal: f favor, a against, n neutral, s skip, u undo, q quit."""
    from training.annotate import annotate as run_session
    from training.annotate import stdin_keys, summary

    sys.stderr.write(summary(run_session(queue_file, annotator, out, stdin_keys(), _console().print)) + "\n")


@app.command("import-labels")
@user_errors
def import_labels(
    files: Annotated[
        list[Path], typer.Argument(help="Label Studio JSON exports, CSV or JSON-lines files with text and label.")
    ],
    docs: Annotated[
        Path, typer.Option("--docs", help="The document folder whose <stem>.gold.jsonl files receive the labels.")
    ],
    skip_bad: Annotated[
        bool, typer.Option("--skip-bad", help="Write the good labels and list the bad ones as warnings.")
    ] = False,
    replace: Annotated[
        bool, typer.Option("--replace", help="Let imported labels overwrite different gold labels.")
    ] = False,
    config: ConfigOpt = DATASET_CONFIG,
) -> None:
    """Bring labels back into gold files; nothing is written while a label is unknown, unmatched or in conflict."""
    from training.config import DatasetConfig, load_config
    from training.import_labels import import_labels as run

    cfg = load_config(config, DatasetConfig) if config.exists() or config != DATASET_CONFIG else DatasetConfig()
    result = run(files, docs, cfg, skip_bad=skip_bad, replace=replace)
    for line in result["problems"]:
        sys.stderr.write(f"warning: skipped: {line}\n")
    sys.stderr.write(
        f"imported {result['written']} of {result['labels']} labels into {len(result['files'])} gold files "
        f"({result['unchanged']} were there already)\n"
    )


@app.command()
@user_errors
def agreement(
    files: Annotated[list[Path], typer.Argument(help="Gold files of two or more annotators (annotate's outputs).")],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Adjudication queue of the disagreements (open it with annotate).")
    ] = Path("adjudication.jsonl"),
    as_json: Annotated[bool, typer.Option("--json", help="Print the numbers as JSON.")] = False,
) -> None:
    """Cohen's kappa per pair, Krippendorff's alpha, per-class agreement, and the disagreements to settle."""
    from training.agreement import adjudication_rows, measure, read_annotations, report_lines, write_adjudication

    labels, rows = read_annotations(files)
    result = measure(labels)
    write_adjudication(adjudication_rows(result, labels, rows), out)
    if as_json:
        sys.stdout.write(
            json.dumps(
                {k: v for k, v in result.items() if k != "disputed"} | {"disagreements": len(result["disputed"])},
                indent=2,
            )
            + "\n"
        )
    else:
        for line in report_lines(result):
            _console().print(line)
    sys.stderr.write(f"wrote {len(result['disputed'])} disagreements to {out}\n")


@app.command("audit-labels")
@user_errors
def audit_labels(
    data: Annotated[Path, typer.Option("--data", "-d", help="A dataset folder saved by build-dataset.")] = Path(
        "data/dataset"
    ),
    out: Annotated[Path, typer.Option("--out", "-o", help="Review queue (open it with annotate).")] = Path(
        "review.jsonl"
    ),
    folds: Annotated[int, typer.Option("--folds", help="Folds of the grouped cross-validation.")] = 5,
    limit: Annotated[
        int | None, typer.Option("--limit", help="Keep only this many of the likeliest errors.")
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the folds and the model.")] = 42,
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


@app.command("learning-curve")
@user_errors
def learning_curve(
    data: Annotated[
        Path, typer.Option("--data", "-d", help="A dataset folder saved by build-dataset (its gold is the oracle).")
    ] = Path("data/dataset"),
    strategies: Annotated[
        str,
        typer.Option("--strategies", help="Comma-separated: random, margin, entropy, margin-diverse, entropy-diverse."),
    ] = "random,margin,entropy,margin-diverse,entropy-diverse",
    seeds: Annotated[int, typer.Option("--seeds", help="How many seeds (runs per strategy).")] = 5,
    seed: Annotated[int, typer.Option("--seed", help="The first seed; the others follow it.")] = 42,
    step: Annotated[int, typer.Option("--step", help="Labels added per step.")] = 100,
    initial: Annotated[int, typer.Option("--initial", help="Labels to start from.")] = 100,
    max_labels: Annotated[
        int | None, typer.Option("--max-labels", help="Stop at this many labels (default: the whole pool).")
    ] = None,
    per_doc: Annotated[
        int, typer.Option("--per-doc", help="Diverse strategies: at most this many sentences of one document per step.")
    ] = 5,
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="The Markdown report; the chart (.png) and raw curves (.json) go beside it."),
    ] = Path("docs/learning-curve.md"),
    log: Annotated[bool, typer.Option("--log/--no-log", help="Also record the run in MLflow.")] = True,
    tracking_uri: Annotated[
        str | None,
        typer.Option("--tracking-uri", help="MLflow store (default: $MLFLOW_TRACKING_URI, sqlite:///mlflow.db)."),
    ] = None,
    experiment: Annotated[str, typer.Option("--experiment", "-e", help="MLflow experiment.")] = "stance-learning-curve",
) -> None:
    """Simulate the labelling loop on a labelled dataset: each strategy against random, as learning curves."""
    from training.curve_report import write_report
    from training.learning_curve import CurveOptions, mlflow_payload, simulate, summary_lines

    opts = CurveOptions(
        data,
        tuple(s.strip() for s in strategies.split(",") if s.strip()),
        tuple(range(seed, seed + seeds)),
        step,
        initial,
        max_labels,
        per_doc,
    )
    err = _stderr_console()
    result = simulate(opts, progress=lambda line: err.print(line, markup=False, highlight=False))
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
        _console().print(line)


METRICS = Path("metrics/evaluate.json")
PLOTS = Path("metrics/plots")


@app.command()
@user_errors
def pipeline(
    dataset_config: Annotated[Path, typer.Option("--dataset-config", help="Config of build-dataset.")] = DATASET_CONFIG,
    train_config: Annotated[Path, typer.Option("--train-config", help="Config of train.")] = TRAIN_CONFIG,
    metrics: Annotated[Path, typer.Option("--metrics", help="Where the test metrics JSON goes.")] = METRICS,
    plots: Annotated[Path, typer.Option("--plots", help="Where the confusion and per-class CSVs go.")] = PLOTS,
) -> None:
    """Run the whole job: build the dataset, train and compare, evaluate the champion on test."""
    from training.config import DatasetConfig, load_config
    from training.pipeline import run_pipeline
    from training.train_config import TrainConfig

    dcfg = load_config(dataset_config, DatasetConfig)
    tcfg = load_config(train_config, TrainConfig)
    err = _stderr_console()
    result = run_pipeline(dcfg, tcfg, metrics, plots, say=lambda line: err.print(line, markup=False, highlight=False))
    console = _console()
    trained = result.train
    rows = sorted(trained.rows, key=lambda r: -r[f"cv_{trained.metric}_mean"])
    console.print(
        _leaderboard_table(
            rows,
            trained.metric,
            f"leaderboard ({trained.method}, alpha {trained.alpha}; CV on train+validation, test used once)",
        )
    )
    console.print(_eval_report(result.report))
    console.print(
        f"dataset {result.dataset} (fingerprint {result.fingerprint[:16]}); champion {trained.best} "
        f"-> {trained.registered}, exported to {trained.export_dir}"
    )
    console.print(f"MLflow: {trained.tracking_uri}, experiment '{trained.experiment}', run {trained.parent_run_id}")
    console.print("metrics: " + ", ".join(str(p) for p in result.written))


def main() -> None:
    """Entry point of the ``stance`` console script; usage errors too are one ``error:`` line (exit 2)."""
    code: Any = 0
    try:
        code = app(standalone_mode=False)
    except typer.Abort:
        _err("interrupted")
        code = 130
    except Exception as exc:
        # Usage errors are click exceptions, which typer does not re-export: recognised by their
        # documented interface (format_message, exit_code), not by a private import.
        if not (hasattr(exc, "format_message") and isinstance(getattr(exc, "exit_code", None), int)):
            raise
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError":
            sys.stderr.write(exc.format_message() + "\n")
        else:
            where = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
            _err(f"{exc.format_message()}{where}")
        code = exc.exit_code
    finally:
        # At exit the interpreter runs a last garbage collection over every object still alive:
        # after scikit-learn, scipy and pandas are imported that alone takes about 0.4 s, for
        # memory the process hands back anyway. Frozen objects are left out of it; atexit
        # handlers (MLflow's, logging's) still run. Measured by the startup benchmark.
        gc.freeze()
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
