"""A leaderboard entry: one candidate trained on one kind of labels, and its flat row."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from training import classifiers as reg
from training import metrics
from training.train.data import GROUPINGS
from training.train_config import CandidateConfig

SCORES = ("macro_f1", "f_avg", "accuracy")
CALIBRATION_COLUMNS = ("cv_ece", "cv_brier", "cv_log_loss", "test_ece", "test_brier", "test_log_loss")


@dataclass
class Entry:
    """One leaderboard row: a candidate trained on one kind of labels, fully scored."""

    key: str
    candidate: CandidateConfig
    mode: str
    params: dict[str, Any] = field(default_factory=dict)
    feature_params: dict[str, Any] = field(default_factory=dict)
    search: list[dict[str, Any]] = field(default_factory=list)
    cv: list[dict[str, float]] = field(default_factory=list)  # under the grouping that picks the best
    cv_by: dict[str, list[dict[str, float]]] = field(default_factory=dict)  # every grouping computed
    grouping: str = "document"
    register_f1: dict[str, float] = field(default_factory=dict)  # out-of-fold macro-F1 per register
    test: dict[str, float] = field(default_factory=dict)
    report: dict[str, dict[str, float]] = field(default_factory=dict)
    confusion: list[list[int]] = field(default_factory=list)
    test_pred: list[str] = field(default_factory=list)
    test_proba: Any = None
    classes: list[str] = field(default_factory=list)
    fit_seconds: float = 0.0
    predict_per_second: float = 0.0
    size_bytes: int = 0
    model_bytes: bytes = b""  # the skops file, written once here and reused by model logging and the export
    weighted: bool = False
    model: Any = None
    comparison: dict[str, Any] = field(default_factory=dict)
    confusion_png: bytes = b""
    run_id: str = ""
    oof_rows: Any = None  # pool rows of the out-of-fold predictions (every repeat of the choosing grouping)
    oof_proba: Any = None  # their probabilities, columns in LABELS order
    calibration: dict[str, float] = field(default_factory=dict)  # cv_/test_ ece, brier, log_loss
    reliability_png: bytes = b""

    @property
    def baseline(self) -> bool:
        """Whether this is a reference point (dummy floor or the rules) rather than a learner."""
        return reg.CLASSIFIERS[self.candidate.classifier].baseline

    def cv_summary(self) -> dict[str, tuple[float, float]]:
        """Mean and standard deviation of each score over the CV splits."""
        return {s: metrics.mean_std([row[s] for row in self.cv]) for s in SCORES}

    def row(self) -> dict[str, Any]:
        """The flat leaderboard row shown by the CLI and stored in MLflow."""
        cvs = self.cv_summary()
        out: dict[str, Any] = {
            "candidate": self.key,
            "features": self.candidate.features,
            "classifier": self.candidate.classifier,
            "training_data": self.mode,
        }
        for s in SCORES:
            out[f"cv_{s}_mean"], out[f"cv_{s}_std"] = cvs[s]
        out["grouping"] = self.grouping
        for g in GROUPINGS:
            runs = self.cv_by.get(g)
            out[f"cv_{g}_macro_f1_mean"], out[f"cv_{g}_macro_f1_std"] = (
                metrics.mean_std([r["macro_f1"] for r in runs]) if runs else (math.nan, math.nan)
            )
        out["cv_register_macro_f1"] = dict(self.register_f1)
        for s in SCORES:
            out[f"test_{s}"] = self.test[s]
        for k in CALIBRATION_COLUMNS:
            out[k] = self.calibration.get(k, math.nan)
        out.update(
            {
                "fit_seconds": self.fit_seconds,
                "predict_sentences_per_s": self.predict_per_second,
                "model_size_bytes": self.size_bytes,
                "tied_with_best": bool(self.comparison.get("tied")),
                "is_best": bool(self.comparison.get("is_best")),
                "is_champion": bool(self.comparison.get("is_champion")),
                "p_value": self.comparison.get("p_value", math.nan),
                "mean_diff": self.comparison.get("mean_diff", math.nan),
            }
        )
        # The chosen parameters; the rule lexicons come from the dataset, not the search.
        chosen = {k: v for k, v in self.params.items() if k != "lexicons"}
        out["params"] = {**chosen, **{f"features.{k}": v for k, v in self.feature_params.items()}}
        return out
