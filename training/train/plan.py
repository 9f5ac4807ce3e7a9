"""Checks before training: every problem that would stop the comparison later, found before the first fit."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from training import classifiers as reg
from training.errors import StanceError
from training.labels import LABELS
from training.train.data import GROUPINGS, Data, chosen_grouping, make_splits, modes, training_rows
from training.train_config import CandidateConfig, TrainConfig


def grid(cand: CandidateConfig) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Every ``(classifier params, feature params)`` point of the candidate's search, in order."""
    keys = [("c", k) for k in sorted(cand.search)] + [("f", k) for k in sorted(cand.feature_search)]
    values = [cand.search[k] if w == "c" else cand.feature_search[k] for w, k in keys]
    points = []
    for combo in itertools.product(*values):
        # Any: a searched value may be a list (a tuple in the config, such as an n-gram range).
        cp: dict[str, Any] = dict(cand.params)
        fp: dict[str, Any] = dict(cand.feature_params)
        for (w, k), v in zip(keys, combo):
            (cp if w == "c" else fp)[k] = list(v) if isinstance(v, tuple) else v
        points.append((cp, fp))
    return points


def with_context(cand: CandidateConfig, params: dict[str, Any], info: Mapping[str, Any]) -> dict[str, Any]:
    """Fill in what a classifier takes from the dataset (the rule lexicons the builder used)."""
    if cand.classifier == "rules":
        labeling = dict(info.get("labeling") or {})
        model = labeling.pop("label_model", "auto")
        params = {"lexicons": labeling, "label_model": model, **params}
    return params


def _validate_estimator(est: Any) -> None:
    """Run scikit-learn's own parameter checks on ``est`` and everything nested in it."""
    from sklearn.base import BaseEstimator

    if est is None:
        return
    if hasattr(est, "_parameter_constraints") and hasattr(est, "_validate_params"):
        est._validate_params()
    for value in est.get_params(deep=False).values():
        if isinstance(value, BaseEstimator):
            _validate_estimator(value)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, tuple) and len(item) >= 2 and isinstance(item[1], BaseEstimator):
                    _validate_estimator(item[1])


def check_plan(cfg: TrainConfig, data: Data) -> None:
    """Raise one :class:`StanceError` listing every problem that would stop training later."""
    problems: list[str] = []
    where = "the train config"
    k = cfg.cv.folds
    if not data.gold.any():
        problems.append(f"no gold sentences in train+validation of {data.source} (annotate some; only gold is scored)")
    if len(data.test_texts) == 0:
        problems.append(
            f"no gold sentences in the test split of {data.source} (rebuild the dataset with gold test documents)"
        )
    problems += group_problems(data, k, chosen_grouping(cfg, data), where)
    if cfg.training_data != "gold" and not data.has_weak:
        problems.append(
            f"training_data is '{cfg.training_data}' but {data.source} has no weak labels "
            f"(set training_data: gold in {where}, or build the dataset with unannotated documents)"
        )
    min_train = _smallest_training_fold(data, cfg) if not problems else 0
    problems += _encoder_problems(cfg)
    for cand in cfg.candidates:
        problems += _candidate_problems(cfg, data, cand, min_train, where)
    if problems:
        raise StanceError(*problems)


def _candidate_problems(cfg: TrainConfig, data: Data, cand: CandidateConfig, min_train: int, where: str) -> list[str]:
    """Why points of ``cand``'s grid cannot be fitted: parameters the estimators refuse, or too large for a fold.

    ``min_train`` is the smallest training fold (0 when unknown, which skips the size checks).
    """
    problems: list[str] = []
    for cp, fp in grid(cand):
        shown = ", ".join(f"{a}={b!r}" for a, b in {**cp, **fp}.items()) or "defaults"
        try:
            feats = reg.build_features(cand.features, fp)
            clf = reg.build_classifier(cand.classifier, with_context(cand, cp, data.info), cfg.seed)
            _validate_estimator(feats)
            _validate_estimator(clf)
        except Exception as exc:  # sklearn raises several types; each becomes one line
            msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            problems.append(
                f"impossible parameters for candidate '{cand.name}' ({shown}): {msg} (fix its params/search in {where})"
            )
            continue
        defaults = reg.CLASSIFIERS[cand.classifier].defaults
        nn = cp.get("n_neighbors", defaults.get("n_neighbors"))
        if cand.classifier == "knn" and isinstance(nn, int) and min_train and nn > min_train:
            problems.append(
                f"impossible parameters for candidate '{cand.name}': n_neighbors={nn} is more "
                f"than the {min_train} training sentences of the smallest fold (search smaller values)"
            )
        nc = cp.get("n_components", defaults.get("n_components"))
        if cand.classifier == "random_forest" and isinstance(nc, int) and min_train and nc >= min_train:
            problems.append(
                f"impossible parameters for candidate '{cand.name}': n_components={nc} needs more "
                f"than the {min_train} training sentences of the smallest fold (lower it)"
            )
    return problems


def group_problems(data: Data, k: int, grouping: str, where: str) -> list[str]:
    """Why ``k``-fold CV grouped by ``grouping`` is impossible on ``data`` (empty if it is possible)."""
    unit = "episodes" if grouping == "episode" and data.episodes is not None else "documents"
    groups = data.groups(grouping)
    n_groups = len(set(groups.tolist()))
    if n_groups < k:
        other = " or comparison.grouping: document" if grouping == "episode" else ""
        return [
            f"only {n_groups} {unit} in train+validation for cv.folds={k} "
            f"(set cv.folds to {max(2, n_groups)} or fewer{other} in {where}, or add {unit})"
        ]
    out = []
    for label in LABELS:
        mask = data.gold & (data.labels == label)
        n, d = int(mask.sum()), len(set(groups[mask].tolist()))
        if d < k:
            fix = f"set cv.folds to {d} or fewer in {where}" if d >= 2 else f"annotate more {unit} with this label"
            out.append(
                f"too few examples of class '{label}' for cv.folds={k}: {n} gold sentences in "
                f"{d} {unit} of train+validation, and every fold needs one ({fix})"
            )
    return out


def _encoder_problems(cfg: TrainConfig) -> list[str]:
    """One line per sentence encoder the candidates use that cannot be loaded here."""
    from training import encoders

    out: list[str] = []
    for name, backend in sorted({p for cand in cfg.candidates for p in cand.encoder_backends}):
        try:
            encoders.require(name, backend)
        except StanceError as exc:
            out += [line for line in exc.problems if line not in out]
    return out


def _smallest_training_fold(data: Data, cfg: TrainConfig) -> int:
    """Fewest training sentences any fit of the comparison will get (search and scoring splits)."""
    seeds = range(cfg.seed, cfg.seed + cfg.cv.repeats + 1)
    sizes = [
        len(training_rows(data, tr, mode)[0])
        for g in groupings(cfg, data)
        for s in seeds
        for tr, _ in make_splits(data, cfg.cv.folds, s, g)
        for mode in modes(cfg)
    ]
    return min(sizes)


def groupings(cfg: TrainConfig, data: Data) -> list[str]:
    """The grouping that picks the best, then the other one when CV grouped that way is possible and differs."""
    chosen = chosen_grouping(cfg, data)
    if data.episodes is None:
        return [chosen]
    other = [g for g in GROUPINGS if g != chosen and not group_problems(data, cfg.cv.folds, g, "")]
    return [chosen, *other]


def all_splits(cfg: TrainConfig, data: Data) -> tuple[str, list[tuple[Any, Any]], dict[str, list[tuple[Any, Any]]]]:
    """The choosing grouping, its search splits, and the scoring splits of every grouping computed."""
    grouping = chosen_grouping(cfg, data)
    search = make_splits(data, cfg.cv.folds, cfg.seed, grouping)
    scoring = {
        g: [s for r in range(1, cfg.cv.repeats + 1) for s in make_splits(data, cfg.cv.folds, cfg.seed + r, g)]
        for g in groupings(cfg, data)
    }
    return grouping, search, scoring
