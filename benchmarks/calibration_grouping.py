"""The champion's calibration fitted on episode-grouped and on document-grouped folds, side by side.

``python -m benchmarks.calibration_grouping [CANDIDATE]`` (default: the vote of word+char TF-IDF and
MiniLM) fits :func:`training.calibrate.choose_and_fit` on the gold pool of ``data/dataset`` with
each grouping, and prints, per grouping, the chosen method, the out-of-fold ECE of every method,
the test split's ECE, the ``--min-confidence`` chosen on out-of-fold predictions for 90% accuracy
and what it gives on the test split. Episode-grouped folds estimate news from episodes the model
has not seen; the test split holds other documents of the episodes it trained on.
"""

from __future__ import annotations

import json
import sys
from typing import Any


def measure(candidate: str, grouping: str) -> dict[str, Any]:
    """Calibrate ``candidate`` with folds grouped by ``grouping``; scores out of fold and on test."""
    import numpy as np
    from training import calibrate, calibration, encoders, selective
    from training import classifiers as reg
    from training.config import load_config
    from training.dataset import load_built
    from training.labels import LABELS
    from training.train import prepare
    from training.train.plan import with_context
    from training.train_config import TrainConfig

    cfg = load_config("configs/train.yaml", TrainConfig)
    encoders.use_cache(cfg.embedding_cache)
    data = prepare(*load_built(cfg.dataset), cfg.dataset)
    cand = next(c for c in cfg.candidates if c.name == candidate)

    def make_base() -> Any:
        params = with_context(cand, dict(cand.params), data.info)
        return reg.assemble(
            reg.build_features(cand.features, dict(cand.feature_params)),
            reg.build_classifier(cand.classifier, params, cfg.seed),
        )

    rows = np.flatnonzero(data.gold)
    texts, labels, groups = [data.texts[i] for i in rows], data.labels[rows], data.groups(grouping)[rows]
    model, report = calibrate.choose_and_fit(make_base, texts, labels, groups, cfg.cv.folds, cfg.seed)
    proba = calibration.aligned(model.predict_proba(data.test_texts), [str(c) for c in model.classes_], LABELS)
    gold, pred = data.test_labels.tolist(), [LABELS[i] for i in proba.argmax(axis=1)]
    chosen = report["validation_threshold"]
    return {
        "method": report["method"],
        "cv_ece": {m: round(s["ece"], 4) for m, s in report["cv"].items()},
        "test_ece": round(calibration.ece(gold, proba, LABELS), 4),
        "validation_threshold": chosen,
        "test_at_validation_threshold": chosen and calibrate.at_threshold(gold, proba, chosen["threshold"]),
        "test_threshold_for_0.9": selective.threshold_for(gold, pred, proba, 0.9),
    }


def main(argv: list[str]) -> None:
    """Print one JSON line per grouping."""
    candidate = argv[0] if argv else "vote-word_char+minilm"
    for grouping in ("episode", "document"):
        print(json.dumps({"grouping": grouping, **measure(candidate, grouping)}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
