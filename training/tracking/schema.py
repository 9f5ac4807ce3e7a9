"""The MLflow tag, param and metric names of ``stance`` runs: payloads written and parsed back.

``stance train`` writes one parent run per comparison and one child run per candidate;
``stance compare`` reads them back. The builders here make the tag, param and metric payloads
of both kinds of run and the parsers turn runs back into leaderboard rows, so every name lives
in this one module. Plain data in, plain data out: no MLflow import.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from training.charts import LEADERBOARD_COLUMNS

MAX_PARAM_CHARS = 6000  # MLflow's limit for one param value

# What a run is, on every run a command writes.
KIND_TAG = "stance.kind"
COMPARISON, CANDIDATE, EVALUATION, LEARNING_CURVE = "comparison", "candidate", "evaluation", "learning_curve"
# Who runs it: a later `stance train` on this host marks the runs of a dead process FAILED.
HOST_TAG, PID_TAG = "stance.host", "stance.pid"
FAILURE_TAG = "stance.failure"
GIT_COMMIT_TAG = "git_commit"

# Parent run (one comparison).
FINGERPRINT_TAG, DATASET_HASH_TAG, CONFIG_HASH_TAG = "dataset.fingerprint", "dataset.config_hash", "config_hash"
TRAINING_DATA_TAG = "stance.training_data"  # on the parent (the configured mode) and on each child (its mode)
BEST_TAG, METRIC_TAG, REGISTERED_TAG = "stance.best", "stance.metric", "stance.registered"
TEST_HASH_TAG = "stance.test_hash"  # on a registered version: the test split its gate compared on
METHOD_PARAM, ALPHA_PARAM = "comparison.method", "comparison.alpha"
TRAINING_INPUT, TESTING_INPUT = "stance-dataset/train+validation", "stance-dataset/test (gold)"

# Child runs (one candidate).
CANDIDATE_TAG, FEATURES_TAG, CLASSIFIER_TAG = "stance.candidate", "stance.features", "stance.classifier"
BASELINE_TAG, WEIGHTED_TAG, NOTE_TAG = "stance.baseline", "stance.sample_weight_used", "mlflow.note.content"
TIED_TAG, IS_BEST_TAG = "stance.tied_with_best", "stance.is_best"
CANDIDATE_PREFIX, CHOSEN_PREFIX = "candidate.", "chosen."

METRIC_COLUMNS = tuple(
    c
    for c in LEADERBOARD_COLUMNS
    if c.startswith(("cv_", "test_"))
    or c in ("fit_seconds", "predict_sentences_per_s", "model_size_bytes", "p_value", "mean_diff")
)


def finite(v: Any) -> TypeGuard[int | float]:
    """Whether ``v`` is a number MLflow can store as a metric (NaN and infinities are left out)."""
    return isinstance(v, int | float) and math.isfinite(float(v))


def param_value(v: Any) -> str:
    """A param's text: strings as they are, the rest as JSON, cut to MLflow's length limit."""
    text = v if isinstance(v, str) else json.dumps(v, sort_keys=True, default=str)
    return text if len(text) <= MAX_PARAM_CHARS else text[: MAX_PARAM_CHARS - 3] + "..."


def flag(value: Any) -> str:
    """A boolean tag value, as MLflow's UI filters expect it: ``true`` or ``false``."""
    return str(bool(value)).lower()


@dataclass
class Candidate:
    """Everything logged for one candidate, as plain data (no training types)."""

    name: str
    params: dict[str, Any]
    metrics: dict[str, float]
    per_split: dict[str, list[float]]
    tags: dict[str, str]
    confusion: list[list[int]]
    report_text: str
    report: dict[str, Any]
    misclassified: list[dict[str, Any]]
    search: list[dict[str, Any]]
    model: Any
    classes: list[str]
    input_example: list[str]
    confusion_png: bytes = b""
    reliability_png: bytes = b""
    model_bytes: bytes = b""  # the model's skops file when already serialized
    run_id: str = ""
    model_uri: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------- payloads written by `stance train`


def parent_tags(fingerprint: str, dataset_hash: str, config_hash: str, training_data: str) -> dict[str, str]:
    """The tags of a comparison's parent run that say what it trained on, with which config."""
    return {
        FINGERPRINT_TAG: fingerprint,
        DATASET_HASH_TAG: dataset_hash,
        CONFIG_HASH_TAG: config_hash,
        TRAINING_DATA_TAG: training_data,
    }


def candidate_tags(
    name: str, features: str, classifier: str, training_data: str, baseline: bool, weighted: bool, note: str
) -> dict[str, str]:
    """The tags of a candidate's child run: what it is, and a note MLflow's UI shows as its description."""
    return {
        CANDIDATE_TAG: name,
        FEATURES_TAG: features,
        CLASSIFIER_TAG: classifier,
        TRAINING_DATA_TAG: training_data,
        BASELINE_TAG: flag(baseline),
        WEIGHTED_TAG: flag(weighted),
        NOTE_TAG: note,
    }


def candidate_metrics(
    row: Mapping[str, Any],
    report: Mapping[str, Mapping[str, float]],
    search: Sequence[Mapping[str, Any]],
    register_f1: Mapping[str, float],
) -> dict[str, float]:
    """A child run's metrics: the numbers of its leaderboard row, per-label test scores, search and registers."""
    numbers = {k: v for k, v in row.items() if isinstance(v, int | float) and not isinstance(v, bool)}
    for label, scores in report.items():
        for what in ("precision", "recall", "f1"):
            numbers[f"test_{what}_{label}"] = scores[what]
    if search:
        numbers["search_best_score"] = max(p["score"] for p in search)
    for register, value in register_f1.items():
        numbers[f"cv_macro_f1_register_{register}"] = value
    return numbers


def split_metrics(cv: Sequence[Mapping[str, float]], scores: Sequence[str]) -> dict[str, list[float]]:
    """Each score of every CV split, as a metric stepped by the split's number."""
    return {f"cv_{s}_split": [split[s] for split in cv] for s in scores}


def candidate_params(
    config: Mapping[str, Any], candidate: Mapping[str, Any], training_data: str, chosen: Mapping[str, Any]
) -> dict[str, Any]:
    """A child run's params: the flattened config without the candidate list, its own candidate config
    (flattened, under ``candidate.``), its label mode, and the hyperparameters the search chose."""
    out = {k: v for k, v in config.items() if not k.startswith("candidates")}
    out.update({f"{CANDIDATE_PREFIX}{k}": v for k, v in candidate.items()})
    out[f"{CANDIDATE_PREFIX}training_data"] = training_data
    out.update({f"{CHOSEN_PREFIX}{k}": v for k, v in chosen.items()})
    return out


def comparison_metrics(comparison: Mapping[str, Any]) -> dict[str, float]:
    """The comparison's verdict on one candidate, as metrics added to its finished child run."""
    return {
        "tied_with_best": float(comparison["tied"]),
        "is_best": float(comparison["is_best"]),
        "is_champion": float(comparison["is_champion"]),
        "p_value": comparison.get("p_value", math.nan),
        "mean_diff": comparison.get("mean_diff", math.nan),
    }


def comparison_tags(comparison: Mapping[str, Any]) -> dict[str, str]:
    """The comparison's verdict on one candidate, as tags ``stance compare`` reads back."""
    return {TIED_TAG: flag(comparison["tied"]), IS_BEST_TAG: flag(comparison["is_best"])}


def calibration_metrics(report: Mapping[str, Any]) -> dict[str, float]:
    """Parent-run metrics of the champion's calibration: every method's CV scores and the test scores."""
    if not report:
        return {}
    out = {f"calibration_cv_{m}_{k}": v for m, scores in report["cv"].items() for k, v in scores.items()}
    out.update({f"calibration_test_{k}": v for k, v in report["test"].items()})
    out.update({f"calibration_test_uncalibrated_{k}": v for k, v in report["test_uncalibrated"].items()})
    chosen, at = report.get("validation_threshold"), report.get("test_at_validation_threshold")
    if chosen and at:
        out["calibration_validation_threshold"] = chosen["threshold"]
        out["calibration_validation_coverage"] = chosen["coverage"]
        out["calibration_test_accuracy_at_threshold"] = at["accuracy"]
        out["calibration_test_coverage_at_threshold"] = at["coverage"]
    return out


def dataset_frames(training: Mapping[str, list[Any]], testing: Mapping[str, list[Any]]) -> dict[str, tuple[str, Any]]:
    """The dataset inputs of a comparison, by context: their names and their columns as DataFrames."""
    import pandas as pd

    return {"training": (TRAINING_INPUT, pd.DataFrame(training)), "testing": (TESTING_INPUT, pd.DataFrame(testing))}


# ---------------------------------------------------------------- parsed back by `stance compare`


def leaderboard_row(child: Any) -> dict[str, Any]:
    """One candidate's leaderboard row from its child run (an MLflow ``Run``)."""
    m, t, p = child.data.metrics, child.data.tags, child.data.params
    return {
        "candidate": t.get(CANDIDATE_TAG, child.info.run_name),
        "features": t.get(FEATURES_TAG, ""),
        "classifier": t.get(CLASSIFIER_TAG, ""),
        "training_data": t.get(TRAINING_DATA_TAG, ""),
        **{c: m.get(c) for c in METRIC_COLUMNS},  # None when missing: --json stays valid JSON
        "tied_with_best": t.get(TIED_TAG) == "true",
        "is_best": t.get(IS_BEST_TAG) == "true",
        "params": {k[len(CHOSEN_PREFIX) :]: v for k, v in p.items() if k.startswith(CHOSEN_PREFIX)},
        "run_id": child.info.run_id,
        "status": child.info.status,
    }


def leaderboard(uri: str, parent: Any, children: Sequence[Any]) -> dict[str, Any]:
    """A comparison read back: its parent run's summary and its candidates' rows, best first."""
    metric = parent.data.tags.get(METRIC_TAG, "macro_f1")

    def order(r: dict[str, Any]) -> tuple[int, float, str]:
        v = r.get(f"cv_{metric}_mean")
        return (0, -float(v), r["candidate"]) if finite(v) else (1, 0.0, r["candidate"])

    return {
        "tracking_uri": uri,
        "experiment_id": parent.info.experiment_id,
        "run_id": parent.info.run_id,
        "run_name": parent.info.run_name,
        "status": parent.info.status,
        "start_time": parent.info.start_time,
        "best": parent.data.tags.get(BEST_TAG, ""),
        "metric": metric,
        "method": parent.data.params.get(METHOD_PARAM, ""),
        "alpha": parent.data.params.get(ALPHA_PARAM, ""),
        "registered": parent.data.tags.get(REGISTERED_TAG, ""),
        "dataset_fingerprint": parent.data.tags.get(FINGERPRINT_TAG, ""),
        "rows": sorted((leaderboard_row(c) for c in children), key=order),
    }


# ---------------------------------------------------------------- `stance evaluate`


def evaluation_tags(report: Mapping[str, Any], origin: Mapping[str, Any]) -> dict[str, str]:
    """The tags linking an evaluation run to the model it evaluated (``origin``: the model's MLflow metadata)."""
    return {
        KIND_TAG: EVALUATION,
        "stance.model": str(report.get("model", "")),
        "stance.model_sha256": str(report.get("model_sha256", "")),
        "stance.model_uri": str(origin.get("model_uri") or report.get("model", "")),
        "stance.model_run_id": str(origin.get("run_id") or ""),
        "stance.data": str(report.get("data", "")),
        "stance.data_fingerprint": str(report.get("data_fingerprint", "")),
    }


def evaluation_metrics(report: Mapping[str, Any]) -> dict[str, float]:
    """An evaluation run's metrics: the headline scores and each label's."""
    values: dict[str, float] = {k: float(report[k]) for k in ("macro_f1", "f_avg", "accuracy", "n")}
    for label, scores in report.get("per_class", {}).items():
        for name in ("precision", "recall", "f1", "support"):
            values[f"{label}_{name}"] = float(scores[name])
    return values


def curve_metric(strategy: str) -> str:
    """The stepped metric of one learning-curve strategy (MLflow metric names take no dashes here)."""
    return f"curve_macro_f1.{strategy.replace('-', '_')}"
