"""What the tracking store receives for a run: candidate records, child-run params, dataset frames."""

from __future__ import annotations

from typing import Any

from training import classifiers as reg
from training import metrics
from training.train.data import Data
from training.train.entry import SCORES, Entry
from training.train_config import TrainConfig


def _record(entry: Entry, data: Data, cfg: TrainConfig) -> Any:
    """The plain-data view of an entry that :mod:`training.tracking` logs."""
    from training.tracking import Candidate

    row = entry.row()
    numbers = {k: v for k, v in row.items() if isinstance(v, int | float) and not isinstance(v, bool)}
    for label, r in entry.report.items():
        for what in ("precision", "recall", "f1"):
            numbers[f"test_{what}_{label}"] = r[what]
    if entry.search:
        numbers["search_best_score"] = max(p["score"] for p in entry.search)
    for register, value in entry.register_f1.items():
        numbers[f"cv_macro_f1_register_{register}"] = value
    wrong = []
    gold = data.test_labels.tolist()
    for i, (g, p) in enumerate(zip(gold, entry.test_pred)):
        if g != p and len(wrong) < cfg.tracking.misclassified_max:
            probs = {f"p_{c}": round(float(entry.test_proba[i][j]), 6) for j, c in enumerate(entry.classes)}
            wrong.append({**data.test_meta[i], "text": data.test_texts[i], "gold": g, "predicted": p, **probs})
    comp = reg.CLASSIFIERS[entry.candidate.classifier]
    tags = {
        "stance.candidate": entry.key,
        "stance.features": entry.candidate.features,
        "stance.classifier": entry.candidate.classifier,
        "stance.training_data": entry.mode,
        "stance.baseline": str(comp.baseline).lower(),
        "stance.sample_weight_used": str(entry.weighted).lower(),
        "mlflow.note.content": f"{reg.FEATURES[entry.candidate.features].summary} + {comp.summary}",
    }
    return Candidate(
        name=entry.key,
        params=row["params"],
        metrics=numbers,
        per_split={f"cv_{s}_split": [r[s] for r in entry.cv] for s in SCORES},
        tags=tags,
        confusion=entry.confusion,
        report_text=metrics.report_text(gold, entry.test_pred),
        report=entry.report,
        misclassified=wrong,
        search=entry.search,
        model=entry.model,
        model_bytes=entry.model_bytes,
        classes=entry.classes,
        input_example=(data.test_texts or data.texts)[:3],
        confusion_png=entry.confusion_png,
        reliability_png=entry.reliability_png,
    )


def _calibration_metrics(report: dict[str, Any]) -> dict[str, float]:
    """Parent-run metrics of the champion's calibration: every method's CV scores and the test scores."""
    if not report:
        return {}
    out = {f"calibration_cv_{m}_{k}": v for m, scores in report["cv"].items() for k, v in scores.items()}
    out.update({f"calibration_test_{k}": v for k, v in report["test"].items()})
    out.update({f"calibration_test_uncalibrated_{k}": v for k, v in report["test_uncalibrated"].items()})
    return out


def _child_params(cfg: TrainConfig, entry: Entry) -> dict[str, Any]:
    from training.config import flatten

    out = {k: v for k, v in flatten(cfg).items() if not k.startswith("candidates")}
    out.update(flatten(entry.candidate, prefix="candidate."))
    out["candidate.training_data"] = entry.mode
    out.update({f"chosen.{k}": v for k, v in entry.row()["params"].items()})
    return out


def _frames(data: Data) -> dict[str, tuple[str, Any]]:
    import pandas as pd

    pool = pd.DataFrame(
        {
            "text": data.texts,
            "label": data.labels.tolist(),
            "doc_id": data.docs.tolist(),
            "label_source": ["gold" if g else "weak" for g in data.gold.tolist()],
            "confidence": data.weight.tolist(),
        }
    )
    test = pd.DataFrame(
        {"text": data.test_texts, "label": data.test_labels.tolist(), "doc_id": [m["doc_id"] for m in data.test_meta]}
    )
    return {"training": ("stance-dataset/train+validation", pool), "testing": ("stance-dataset/test (gold)", test)}
