"""The artifact files of ``stance train`` runs, written to a folder before MLflow uploads it.

Writing these files and drawing the charts is the command's own work, not MLflow's: callers
time only the upload.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from training.charts import bar_chart, confusion_png, leaderboard_csv
from training.tracking.schema import Candidate


def write_candidate_artifacts(folder: Path, cand: Candidate) -> None:
    """A child run's files: classification report, search results, misclassified test rows, charts."""
    (folder / "classification_report.txt").write_text(cand.report_text, encoding="utf-8")
    (folder / "classification_report.json").write_text(json.dumps(cand.report, indent=2), encoding="utf-8")
    (folder / "search.json").write_text(json.dumps(cand.search, indent=2, default=str), encoding="utf-8")
    with open(folder / "misclassified_test.csv", "w", newline="", encoding="utf-8") as fh:
        cols = ["doc_id", "sentence_index", "text", "gold", "predicted", *[f"p_{c}" for c in cand.classes]]
        writer = csv.DictWriter(fh, fieldnames=cols, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(cand.misclassified)
    png = cand.confusion_png or confusion_png(cand.confusion, cand.name, cand.metrics.get("test_macro_f1", math.nan))
    (folder / "confusion_matrix.png").write_bytes(png)
    if cand.reliability_png:
        (folder / "reliability_diagram.png").write_bytes(cand.reliability_png)


def write_leaderboard(folder: Path, rows: Sequence[Mapping[str, Any]], metric: str) -> None:
    """The parent run's files: the leaderboard as CSV and JSON, and its bar chart (with error bars)."""
    (folder / "leaderboard.csv").write_text(leaderboard_csv(rows), encoding="utf-8")
    (folder / "leaderboard.json").write_text(json.dumps(list(rows), indent=2, default=str), encoding="utf-8")
    bar_chart(rows, metric, folder / "leaderboard.png")


def write_evaluation(folder: Path, report: Mapping[str, Any], title: str, macro_f1: float) -> None:
    """An evaluation run's files: the report as JSON and, when it has one, its confusion matrix."""
    (folder / "evaluation.json").write_text(json.dumps(dict(report), indent=2, default=str), encoding="utf-8")
    matrix = report.get("confusion", {}).get("matrix")
    if matrix:
        (folder / "confusion_matrix.png").write_bytes(confusion_png(matrix, title, macro_f1))
