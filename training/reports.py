"""Evaluation files for DVC: a metrics JSON and the CSVs behind the confusion and per-class plots.

``stance evaluate --metrics/--plots`` and ``stance pipeline`` both write them, so ``dvc metrics
show`` and ``dvc plots show`` display exactly what the pipeline measured.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

CONFUSION_FILE = "confusion.csv"
PER_CLASS_FILE = "per_class.csv"
RELIABILITY_FILE = "reliability.csv"


def _atomic_text(path: Path, text: str) -> None:
    from training.atomic import atomic_file

    with atomic_file(path) as fh:
        fh.write(text)


def metrics_of(report: dict[str, Any]) -> dict[str, Any]:
    """The headline numbers of an evaluation report, rounded for stable diffs."""
    return {
        "macro_f1": round(report["macro_f1"], 6),
        "f_avg": round(report["f_avg"], 6),
        "accuracy": round(report["accuracy"], 6),
        "n": report["n"],
        **{k: round(float(v), 6) for k, v in report.get("calibration", {}).items() if k != "bins"},
        **({"aurc": round(report["risk_coverage"]["aurc"], 6)} if "risk_coverage" in report else {}),
        "per_class": {
            label: {k: round(float(v), 6) for k, v in scores.items() if k in ("precision", "recall", "f1")}
            for label, scores in report["per_class"].items()
        },
    }


def write_reports(report: dict[str, Any], metrics: Path | None = None, plots: Path | None = None) -> list[Path]:
    """Write the metrics JSON and/or the plot CSVs; return the paths written."""
    written: list[Path] = []
    if metrics is not None:
        _atomic_text(metrics, json.dumps(metrics_of(report), indent=2) + "\n")
        written.append(metrics)
    if plots is not None:
        labels = report["confusion"]["labels"]
        # DVC's confusion template counts rows, so each sentence is one (actual, predicted) row.
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["actual", "predicted"])
        for actual, row in zip(labels, report["confusion"]["matrix"]):
            for predicted, count in zip(labels, row):
                writer.writerows([[actual, predicted]] * int(count))
        _atomic_text(plots / CONFUSION_FILE, buf.getvalue())
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["label", "f1", "precision", "recall"])
        for label, s in report["per_class"].items():
            writer.writerow([label, f"{s['f1']:.6f}", f"{s['precision']:.6f}", f"{s['recall']:.6f}"])
        _atomic_text(plots / PER_CLASS_FILE, buf.getvalue())
        written += [plots / CONFUSION_FILE, plots / PER_CLASS_FILE]
        if "calibration" in report:
            buf = io.StringIO()
            writer = csv.writer(buf, lineterminator="\n")
            writer.writerow(["confidence", "accuracy", "n"])
            for b in report["calibration"]["bins"]:
                writer.writerow([f"{b['confidence']:.6f}", f"{b['accuracy']:.6f}", int(b["n"])])
            _atomic_text(plots / RELIABILITY_FILE, buf.getvalue())
            written.append(plots / RELIABILITY_FILE)
    return written
