"""The champion: its model card, its calibration, and its registration behind the gate."""

from __future__ import annotations

from typing import Any

from training import classifiers as reg
from training import metrics
from training.config import config_hash
from training.labels import LABELS
from training.train.data import GROUPINGS, Data, Progress
from training.train.entry import Entry
from training.train.plan import with_context
from training.train_config import TrainConfig


def model_card(best: Entry, rows: list[dict[str, Any]], data: Data, cfg: TrainConfig, model_uri: str) -> str:
    cvs = best.cv_summary()
    lines = [
        f"# {cfg.tracking.registered_model}",
        "",
        f"Sentence-level stance toward normalization of relations between states: {', '.join(LABELS)}.",
        "",
        "## Model",
        f"- Candidate `{best.key}`: {reg.FEATURES[best.candidate.features].summary} + "
        f"{reg.CLASSIFIERS[best.candidate.classifier].summary}",
        f"- Parameters: `{best.row()['params']}`",
        f"- Trained on train + validation, labels: {best.mode}",
        f"- MLflow: `{model_uri}`",
        "",
        "## Scores (gold sentences only)",
        f"- CV ({cfg.cv.repeats} x {cfg.cv.folds}-fold, {best.grouping}-grouped, which picked the champion): macro-F1 "
        f"{cvs['macro_f1'][0]:.3f} ± {cvs['macro_f1'][1]:.3f}, F_avg {cvs['f_avg'][0]:.3f} ± {cvs['f_avg'][1]:.3f}",
        *[
            f"- CV grouped by {g}: macro-F1 {best.row()[f'cv_{g}_macro_f1_mean']:.3f}"
            for g in GROUPINGS
            if g != best.grouping and g in best.cv_by
        ],
        f"- Test ({len(data.test_texts)} sentences, used once): macro-F1 {best.test['macro_f1']:.3f}, "
        f"F_avg {best.test['f_avg']:.3f}, accuracy {best.test['accuracy']:.3f}",
        "",
        "| label | precision | recall | F1 | support |",
        "| --- | --- | --- | --- | --- |",
    ]
    for label, r in best.report.items():
        lines.append(f"| {label} | {r['precision']:.3f} | {r['recall']:.3f} | {r['f1']:.3f} | {int(r['support'])} |")
    tied = [r["candidate"] for r in rows if r["tied_with_best"] and not r["is_best"]]
    lines += [
        "",
        f"Tied with it ({cfg.comparison.method}, alpha {cfg.comparison.alpha}): {', '.join(tied) or 'none'}.",
        "",
        "## Data",
        f"- Dataset fingerprint `{data.fingerprint}`, training config hash `{config_hash(cfg)}`",
        "",
        "## Use and limits",
        "Load with `training.load_model` (skops with an explicit list of trusted types). Trained on English "
        "news sentences about a handful of normalization episodes; expect lower scores on other topics, "
        "registers or languages. Probabilities are columns in the order of `labels` in metadata.json.",
        "",
    ]
    return "\n".join(lines)


def calibrate_champion(cfg: TrainConfig, data: Data, best: Entry, record: Any, say: Progress) -> dict[str, Any]:
    """Replace the champion's model by its calibrated form (see :mod:`training.calibrate`); return the report.

    The entry's test predictions and scores become those of the calibrated model; the
    leaderboard rows keep the uncalibrated candidates the comparison ranked. An empty report
    means the model stays uncalibrated (the line says why).
    """
    import numpy as np

    from training import calibrate, calibration
    from training.persistence import dump_bytes

    if best.mode != "gold":
        say("calibration: skipped (the champion learns from weak labels too, and calibration uses gold labels only)")
        return {}
    cand = best.candidate

    def make_base() -> Any:
        return reg.assemble(
            reg.build_features(cand.features, best.feature_params),
            reg.build_classifier(cand.classifier, with_context(cand, best.params, data.info), cfg.seed),
        )

    rows = np.flatnonzero(data.gold)
    try:
        model, report = calibrate.choose_and_fit(
            make_base,
            [data.texts[i] for i in rows],
            data.labels[rows],
            data.groups(best.grouping)[rows],
            cfg.cv.folds,
            cfg.seed,
        )
    except ValueError as exc:  # e.g. a neighbour count larger than an inner fold
        say(f"calibration: skipped ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})")
        return {}
    gold = data.test_labels.tolist()
    before = {k[len("test_") :]: v for k, v in best.calibration.items() if k.startswith("test_")}
    best.model, best.model_bytes = model, dump_bytes(model)
    best.classes = [str(c) for c in model.classes_]
    best.test_proba = model.predict_proba(data.test_texts)
    best.test_pred = [str(p) for p in model.predict(data.test_texts)]
    best.test, best.report = metrics.scores(gold, best.test_pred), metrics.per_class(gold, best.test_pred)
    best.confusion = metrics.confusion(gold, best.test_pred)
    record.model, record.model_bytes, record.model_uri, record.classes = model, best.model_bytes, "", best.classes
    proba = calibration.aligned(best.test_proba, best.classes, LABELS)
    report["test"] = calibration.scores(gold, proba, LABELS)
    report["test_uncalibrated"] = before
    cv, chosen = report["cv"], report.get("validation_threshold")
    if chosen:  # the threshold was chosen on out-of-fold predictions; the test split only checks it
        report["test_at_validation_threshold"] = calibrate.at_threshold(gold, proba, chosen["threshold"])
    say(
        f"calibration: {report['method']} (CV log loss "
        + ", ".join(f"{m} {cv[m]['log_loss']:.3f}" for m in cv)
        + f"); test ECE {before['ece']:.3f} -> {report['test']['ece']:.3f}"
        + _threshold_line(report)
    )
    return report


def _threshold_line(report: dict[str, Any]) -> str:
    """The validation threshold for the target accuracy and what it gives on the test split."""
    from training.calibrate import TARGET_ACCURACY

    at = report.get("test_at_validation_threshold")
    if not at:
        return f"; no threshold reaches accuracy {TARGET_ACCURACY:.2f} on out-of-fold predictions"
    return (
        f"; --min-confidence {at['threshold']:.3f} (chosen on out-of-fold predictions for accuracy "
        f"{TARGET_ACCURACY:.2f}) gives test accuracy {at['accuracy']:.3f} at coverage {at['coverage']:.2f}"
    )


def register_gated(
    cfg: TrainConfig, data: Data, best: Entry, record: Any, tracker: Any, force: bool, say: Progress
) -> tuple[str, bool]:
    """Register ``best`` and decide, by the champion gate, whether the alias may move to it.

    Returns the new version and that decision; the caller moves the alias after the export.
    """
    from training import gate
    from training.tracking import schema

    gold = data.test_labels.tolist()
    split = gate.split_hash(data.test_texts, gold)
    held = tracker.champion()
    same = held is not None and held.get(schema.TEST_HASH_TAG) == split
    old = None
    if held is not None and same and not force:
        from training.stance_model import StanceModel
        from training.tracking import load_sklearn_model

        old = StanceModel(*load_sklearn_model(held["uri"], tracker.uri)).predict(data.test_texts)
    decision = gate.decide(
        gold,
        best.test_pred,
        old,
        previous=held["version"] if held else "",
        same_test=same,
        force=force,
        alpha=cfg.comparison.alpha,
        samples=cfg.comparison.bootstrap_samples,
        seed=cfg.seed,
    )
    version = tracker.register(record, tags={schema.TEST_HASH_TAG: split})
    say(decision.line(version, cfg.tracking.alias))
    tracker.log_gate(
        {
            "decision": "promoted" if decision.promote else "held",
            "reason": decision.reason,
            "previous_version": decision.previous or "none",
            "new_version": version,
        },
        decision.numbers,
    )
    return version, decision.promote
