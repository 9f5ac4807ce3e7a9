"""Charts and tables of a comparison: confusion matrices, the leaderboard chart and CSV.

Pure rendering with matplotlib's object-oriented API (no pyplot, no MLflow), so training
workers can draw in parallel and :mod:`training.tracking` only has to upload the results.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from training.labels import LABELS


def _figure(width: float, height: float) -> Any:
    # The object-oriented API with an Agg canvas: no pyplot, no global backend switch.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def confusion_png(matrix: list[list[int]], title: str, score: float) -> bytes:
    """A confusion matrix (gold rows, predicted columns) as PNG bytes; needs matplotlib, not mlflow.

    Pure rendering, so training workers can draw it in parallel with the logging.
    """
    fig = _figure(4.2, 3.8)
    ax = fig.add_subplot()
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(LABELS)), labels=list(LABELS))
    ax.set_yticks(range(len(LABELS)), labels=list(LABELS))
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    top = max((max(r) for r in matrix), default=0)
    for i, row in enumerate(matrix):
        for j, v in enumerate(row):
            ax.text(j, i, str(v), ha="center", va="center", color="white" if v > top / 2 else "black")
    ax.set_title(f"{title}\ntest macro-F1 {score:.3f}", fontsize=9)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def bar_chart(rows: Sequence[Mapping[str, Any]], metric: str, path: Path) -> None:
    """The leaderboard as a horizontal bar chart: CV mean with std error bars, test score as a dot."""
    ordered = sorted(rows, key=lambda r: r[f"cv_{metric}_mean"])
    fig = _figure(7.5, 0.9 + 0.32 * len(ordered))
    ax = fig.add_subplot()
    names = [r["candidate"] for r in ordered]
    means = [r[f"cv_{metric}_mean"] for r in ordered]
    stds = [r[f"cv_{metric}_std"] for r in ordered]
    colors = ["#1b7837" if r["is_best"] else "#5aae61" if r["tied_with_best"] else "#bababa" for r in ordered]
    ax.barh(names, means, xerr=stds, color=colors, capsize=3, label=f"CV {metric} (mean ± std)")
    ax.scatter(
        [r[f"test_{metric}"] for r in ordered],
        names,
        color="#762a83",
        marker="D",
        s=18,
        zorder=3,
        label=f"test {metric}",
    )
    ax.set_xlim(0, 1)
    ax.set_xlabel(metric)
    ax.set_title("dark green: best; light green: tied with best; grey: worse", fontsize=9)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)


LEADERBOARD_COLUMNS = (
    "candidate",
    "features",
    "classifier",
    "training_data",
    "cv_macro_f1_mean",
    "cv_macro_f1_std",
    "cv_f_avg_mean",
    "cv_f_avg_std",
    "cv_accuracy_mean",
    "cv_accuracy_std",
    "grouping",
    "cv_episode_macro_f1_mean",
    "cv_episode_macro_f1_std",
    "cv_document_macro_f1_mean",
    "cv_document_macro_f1_std",
    "cv_register_macro_f1",
    "test_macro_f1",
    "test_f_avg",
    "test_accuracy",
    "cv_ece",
    "cv_brier",
    "cv_log_loss",
    "test_ece",
    "test_brier",
    "test_log_loss",
    "fit_seconds",
    "predict_sentences_per_s",
    "model_size_bytes",
    "tied_with_best",
    "is_best",
    "is_champion",
    "p_value",
    "mean_diff",
    "params",
)


def leaderboard_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    """The leaderboard as CSV text (params as JSON)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(LEADERBOARD_COLUMNS), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow(
            {
                **r,
                **{k: json.dumps(v, sort_keys=True, default=str) for k, v in r.items() if isinstance(v, dict)},
                "params": json.dumps(r.get("params", {}), sort_keys=True, default=str),
            }
        )
    return buf.getvalue()


def reliability_png(curves: Mapping[str, Sequence[Mapping[str, float]]], title: str) -> bytes:
    """A reliability diagram (accuracy against mean top probability per bin, one line per curve) as PNG bytes."""
    fig = _figure(4.2, 3.8)
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfect")
    for name, rows in curves.items():
        if rows:
            ax.plot([r["confidence"] for r in rows], [r["accuracy"] for r in rows], marker="o", label=name)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("top probability (bin mean)")
    ax.set_ylabel("accuracy")
    ax.legend(fontsize=8, loc="upper left")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
