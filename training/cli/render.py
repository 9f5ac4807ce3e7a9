"""What the commands print: error lines, consoles, progress bars, tables and reports.

rich is imported inside each function: ``stance --help`` never needs it.
"""

from __future__ import annotations

import math
import os
from typing import Any


def err(line: str) -> None:
    """One ``error: ...`` line on standard error."""
    from rich.console import Console
    from rich.markup import escape

    Console(stderr=True, highlight=False, soft_wrap=True).print(f"[bold red]error:[/] {escape(line)}", markup=True)


# Wide enough for the widest table (every leaderboard column) on one line.
FULL_WIDTH = 240


def console(full_width: bool = False) -> Any:
    """Standard output, as wide as the terminal or ``COLUMNS``; ``FULL_WIDTH`` for a file or a pipe.

    ``full_width``: never narrower than ``FULL_WIDTH``, so that no table column is cut short.
    """
    from rich.console import Console

    out = Console(highlight=False)
    if (out.is_terminal or os.environ.get("COLUMNS")) and not (full_width and out.width < FULL_WIDTH):
        return out
    return Console(highlight=False, width=FULL_WIDTH)


def stderr_console() -> Any:
    """Standard error, for progress lines."""
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def say_on_stderr() -> Any:
    """A ``say(line)`` callback that prints library progress lines as they are, on standard error."""
    out = stderr_console()
    return lambda line: out.print(line, markup=False, highlight=False)


def progress(description: str) -> Any:
    """A rich progress bar on stderr, silent when stderr is not a terminal."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    out = Console(stderr=True)
    return Progress(
        TextColumn(description),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=out,
        transient=True,
        disable=not out.is_terminal,
    )


def lf_table(rows: list[dict[str, Any]]) -> Any:
    """The labelling functions' coverage, overlap, conflict and accuracy against gold."""
    from rich.table import Table

    from training.labels import LABELS

    table = Table(title="labelling functions against gold")
    cols = ["function", "coverage", "overlap", "conflict", "gold_votes", "accuracy"] + [
        f"precision_{label}" for label in LABELS
    ]
    heads = ["function", "cover", "overlap", "conflict", "gold n", "acc"] + [f"P {label}" for label in LABELS]
    for c, head in zip(cols, heads):
        table.add_column(head, justify="left" if c == "function" else "right", no_wrap=True)
    for row in rows:
        table.add_row(
            *("" if row[c] is None else f"{row[c]:.3f}" if isinstance(row[c], float) else str(row[c]) for c in cols)
        )
    return table


def dataset_lines(info: dict[str, Any]) -> list[str]:
    """The label model, split sizes, leakage and agreement of a built dataset, one line each."""
    scores = ", ".join(f"{k} {v:.3f}" for k, v in info["label_model_gold_macro_f1"].items() if not math.isnan(v))
    lines = [
        f"label model: {info['label_model']} ({info['label_model_reason']}"
        + (f"; macro-F1 on gold: {scores})" if scores else ")"),
        "splits: "
        + ", ".join(f"{k} {v}" for k, v in info["splits"].items())
        + f"; duplicates dropped: {info['duplicates_dropped']}",
    ]
    leak = info["leakage"]
    lines.append(
        f"leakage: {leak['documents_in_several_splits']} documents and "
        f"{leak['near_duplicates_across_splits']} near-duplicate pairs across splits"
    )
    if info.get("agreement"):
        lines.append(
            f"agreement: Cohen's kappa {info['agreement']['kappa']:.3f} on {info['agreement']['sentences']} sentences"
        )
    return lines


def eval_report(report: dict[str, Any]) -> Any:
    """An evaluation report: per-label scores, the confusion matrix, headline and risk lines."""
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


def _num(row: dict[str, Any], key: str, fmt: str, scale: float = 1.0) -> str:
    """A row's value formatted, ``-`` when it is missing or NaN."""
    v = row.get(key)
    return "-" if v is None or math.isnan(v) else format(v / scale, fmt)


def leaderboard_table(rows: list[dict[str, Any]], metric: str, title: str) -> Any:
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
    for r in rows:
        verdict = "[bold green]best[/]" if r["is_best"] else "[green]tied[/]" if r["tied_with_best"] else "worse"
        if r.get("is_champion") and not r["is_best"]:
            verdict += " [bold green](champion)[/]"
        table.add_row(
            r["candidate"],
            r["training_data"],
            f"{_num(r, f'cv_{metric}_mean', '.3f')} ± {_num(r, f'cv_{metric}_std', '.3f')}",
            f"{_num(r, 'cv_f_avg_mean', '.3f')} ± {_num(r, 'cv_f_avg_std', '.3f')}",
            _num(r, "cv_accuracy_mean", ".3f"),
            _num(r, "cv_episode_macro_f1_mean", ".3f"),
            _num(r, "cv_document_macro_f1_mean", ".3f"),
            _num(r, "test_macro_f1", ".3f"),
            _num(r, "test_f_avg", ".3f"),
            _num(r, "cv_ece", ".3f"),
            _num(r, "test_ece", ".3f"),
            _num(r, "test_brier", ".3f"),
            _num(r, "fit_seconds", ".2f"),
            _num(r, "predict_sentences_per_s", ",.0f"),
            _num(r, "model_size_bytes", ",.0f", 1024),
            verdict,
            "" if r["is_best"] else _num(r, "p_value", ".3f"),
        )
    return table


# The README's leaderboard columns, with two-line headers so that the table fits 100 columns.
_NARROW_HEADS = (
    "candidate",
    "episode CV\nmacro-F1",
    "document CV\nmacro-F1",
    "test\nmacro-F1",
    "CV\nECE",
    "predict\nsent/s",
    "size",
    "vs best\n(p)",
)


def narrow_leaderboard_table(rows: list[dict[str, Any]], title: str) -> Any:
    """The README's leaderboard columns only, for an 100-column terminal (``--wide``: all of them)."""
    from rich import box
    from rich.table import Table

    table = Table(title=title, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True)
    for head in _NARROW_HEADS:
        left = head in ("candidate", "vs best\n(p)")
        # a candidate name too long for the terminal wraps; numbers are never cut
        table.add_column(head, justify="left" if left else "right", no_wrap=head != "candidate", overflow="fold")
    for r in rows:
        table.add_row(
            r["candidate"],
            f"{_num(r, 'cv_episode_macro_f1_mean', '.3f')} ± {_num(r, 'cv_episode_macro_f1_std', '.3f')}",
            _num(r, "cv_document_macro_f1_mean", ".3f"),
            _num(r, "test_macro_f1", ".3f"),
            _num(r, "cv_ece", ".3f"),
            _num(r, "predict_sentences_per_s", ",.0f"),
            _size(r.get("model_size_bytes")),
            _verdict(r),
        )
    return table


def _size(size: float | None) -> str:
    """A model size as the README writes it: ``134 KB``, ``91.5 MB``."""
    if size is None or math.isnan(size):
        return "-"
    return f"{size / 1024:,.0f} KB" if size < 1024**2 else f"{size / 1024**2:,.1f} MB"


def _verdict(row: dict[str, Any]) -> str:
    """Best, tied or worse than the best, with the p-value of the comparison."""
    if row["is_best"]:
        return "[bold green]best[/]"
    v = row.get("p_value")
    p = "-" if v is None or math.isnan(v) else "<0.001" if v < 0.001 else f"{v:.3f}"
    if row.get("is_champion"):  # only a candidate tied with the best becomes champion in its place
        return f"[bold green]champion[/] {p}"
    return f"[green]tied[/] {p}" if row["tied_with_best"] else f"worse {p}"
