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
    from training.tracking import schema

    row = entry.row()
    wrong: list[dict[str, Any]] = []
    gold = data.test_labels.tolist()
    for i, (g, p) in enumerate(zip(gold, entry.test_pred)):
        if g != p and len(wrong) < cfg.tracking.misclassified_max:
            probs = {f"p_{c}": round(float(entry.test_proba[i][j]), 6) for j, c in enumerate(entry.classes)}
            wrong.append({**data.test_meta[i], "text": data.test_texts[i], "gold": g, "predicted": p, **probs})
    cand = entry.candidate
    comp = reg.CLASSIFIERS[cand.classifier]
    return schema.Candidate(
        name=entry.key,
        params=row["params"],
        metrics=schema.candidate_metrics(row, entry.report, entry.search, entry.register_f1),
        per_split=schema.split_metrics(entry.cv, SCORES),
        tags=schema.candidate_tags(
            entry.key,
            cand.features,
            cand.classifier,
            entry.mode,
            baseline=comp.baseline,
            weighted=entry.weighted,
            note=f"{reg.FEATURES[cand.features].summary} + {comp.summary}",
        ),
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
    from training.tracking import schema

    return schema.calibration_metrics(report)


def _child_params(cfg: TrainConfig, entry: Entry) -> dict[str, Any]:
    from training.config import flatten
    from training.tracking import schema

    return schema.candidate_params(flatten(cfg), flatten(entry.candidate), entry.mode, entry.row()["params"])


def _frames(data: Data) -> dict[str, tuple[str, Any]]:
    from training.tracking import schema

    pool = {
        "text": data.texts,
        "label": data.labels.tolist(),
        "doc_id": data.docs.tolist(),
        "label_source": ["gold" if g else "weak" for g in data.gold.tolist()],
        "confidence": data.weight.tolist(),
    }
    test = {
        "text": data.test_texts,
        "label": data.test_labels.tolist(),
        "doc_id": [m["doc_id"] for m in data.test_meta],
    }
    return schema.dataset_frames(pool, test)
