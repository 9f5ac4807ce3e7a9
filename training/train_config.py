"""Configuration of ``stance train`` (``configs/train.yaml``): candidates, CV, comparison, tracking.

Names of feature extractors, classifiers and their parameters are checked against the
registry in :mod:`training.classifiers` when the file is loaded, so a typo is reported with
its line before any data is read. Parameter *values* are checked by scikit-learn itself in
:func:`training.train.check_plan`, still before training starts.
"""

from __future__ import annotations

import difflib
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from training.config import DEFAULT_SEED, Strict
from training.errors import StanceError

Param = bool | int | float | str | None | tuple[str, ...]


def _suggest(name: str, valid: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(name, list(valid), n=1, cutoff=0.5)
    return f"did you mean '{close[0]}'? " if close else ""


class CandidateConfig(Strict):
    """One candidate: a feature extractor, a classifier, fixed parameters and a search grid.

    ``params``/``search`` belong to the classifier, ``feature_params``/``feature_search`` to the
    extractor. The grid is the product of every searched list.
    """

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$", max_length=60)
    features: str = "word"
    classifier: str
    params: dict[str, Param] = Field(default_factory=dict)
    search: dict[str, tuple[Param, ...]] = Field(default_factory=dict)
    feature_params: dict[str, Param] = Field(default_factory=dict)
    feature_search: dict[str, tuple[Param, ...]] = Field(default_factory=dict)

    @field_validator("features")
    @classmethod
    def _known_features(cls, value: str) -> str:
        from training.classifiers import FEATURES

        if value not in FEATURES:
            raise ValueError(
                f"unknown feature extractor '{value}' ({_suggest(value, tuple(FEATURES))}known: {', '.join(FEATURES)})"
            )
        return value

    @field_validator("classifier")
    @classmethod
    def _known_classifier(cls, value: str) -> str:
        from training.classifiers import CLASSIFIERS

        if value not in CLASSIFIERS:
            raise ValueError(
                f"unknown classifier '{value}' ({_suggest(value, tuple(CLASSIFIERS))}known: {', '.join(CLASSIFIERS)})"
            )
        return value

    @model_validator(mode="after")
    def _known_params(self) -> CandidateConfig:
        from training.classifiers import CLASSIFIERS, FEATURES

        clf, feat = CLASSIFIERS[self.classifier], FEATURES[self.features]
        if clf.needs_features and self.features == "none":
            raise ValueError(
                f"classifier '{self.classifier}' needs features (set features to one of "
                f"{', '.join(f for f in FEATURES if f != 'none')})"
            )
        if not clf.needs_features and self.features != "none":
            raise ValueError(f"classifier '{self.classifier}' reads raw sentences (set features: none)")
        for where, comp, fixed, grid in (
            ("", clf, self.params, self.search),
            ("feature_", feat, self.feature_params, self.feature_search),
        ):
            for key in (*fixed, *grid):
                if key not in comp.param_names:
                    valid = comp.param_names
                    raise ValueError(
                        f"unknown parameter '{key}' in {where}params/{where}search of '{comp.name}' "
                        f"({_suggest(key, valid)}valid: {', '.join(valid) or 'none'})"
                    )
            for key, values in grid.items():
                if not values:
                    raise ValueError(f"empty search list for '{key}' (give at least one value)")
                if len(set(map(repr, values))) != len(values):
                    raise ValueError(f"repeated value in the search list for '{key}'")
            both = sorted(set(fixed) & set(grid))
            if both:
                raise ValueError(f"'{both[0]}' is both fixed in {where}params and searched in {where}search (keep one)")
        if (
            self.classifier == "complement_nb"
            and self.features == "embedding"
            and self.feature_params.get("nonnegative") is not True
        ):
            raise ValueError(
                "classifier 'complement_nb' needs non-negative features and encoder vectors have "
                "negative values (set feature_params: {nonnegative: true}, which maps them to [0, 1])"
            )
        return self

    @property
    def encoders(self) -> tuple[str, ...]:
        """Names of the sentence encoders this candidate uses (its grid included), sorted."""
        from training.classifiers import CLASSIFIERS, FEATURES

        found: set[str] = set()
        for comp, fixed, grid in (
            (FEATURES[self.features], self.feature_params, self.feature_search),
            (CLASSIFIERS[self.classifier], self.params, self.search),
        ):
            if "encoder" not in comp.param_names:
                continue
            values = grid.get("encoder") or (fixed.get("encoder", comp.defaults["encoder"]),)
            found.update(str(v) for v in values)
        return tuple(sorted(found))

    @property
    def encoder_backends(self) -> tuple[tuple[str, str], ...]:
        """``(encoder, backend)`` pairs this candidate runs (torch unless its embedding or vote asks for onnx)."""
        from training.classifiers import CLASSIFIERS

        backends: tuple[Any, ...] = ("torch",)
        if self.features == "embedding":
            backends = self.feature_search.get("backend") or (self.feature_params.get("backend", "torch"),)
        elif "backend" in CLASSIFIERS[self.classifier].param_names:
            backends = self.search.get("backend") or (self.params.get("backend", "torch"),)
        return tuple(sorted((n, str(b)) for n in self.encoders for b in backends))

    @property
    def grid_size(self) -> int:
        """Number of parameter combinations the search tries."""
        size = 1
        for values in (*self.search.values(), *self.feature_search.values()):
            size *= len(values)
        return size


class CVConfig(Strict):
    """Stratified, document-grouped cross-validation on train + validation."""

    folds: int = Field(5, ge=2, le=20)
    repeats: int = Field(3, ge=1, le=20, description="seeds of repeated CV that score every candidate")
    max_grid: int = Field(12, ge=1, description="largest search grid allowed per candidate")


class ComparisonConfig(Strict):
    """How the best candidate is chosen and how a tie with it is decided."""

    metric: Literal["macro_f1", "f_avg"] = "macro_f1"
    grouping: Literal["episode", "document"] = Field(
        "episode", description="CV groups that pick the best: whole normalization episodes held out, or documents"
    )
    choose: Literal["best", "fastest_tied"] = Field(
        "best", description="champion: the best candidate, or the fastest to predict among those tied with it"
    )
    method: Literal["corrected_ttest", "bootstrap"] = "corrected_ttest"
    alpha: float = Field(0.05, gt=0.0, lt=1.0)
    bootstrap_samples: int = Field(2000, ge=100)


class TrackingConfig(Strict):
    """Where and how runs are recorded in MLflow."""

    uri: str | None = Field(None, description="None: $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db")
    experiment: str = Field("stance", min_length=1)
    registered_model: str = Field("stance-classifier", min_length=1)
    alias: str = Field("champion", pattern=r"^[A-Za-z_][A-Za-z0-9_-]*$")
    log_models: Literal["all", "champion"] = "all"
    misclassified_max: int = Field(500, ge=0, description="rows in each misclassified-sentences CSV")


def _default_candidates() -> tuple[CandidateConfig, ...]:
    c = CandidateConfig
    return (
        c(name="dummy", features="none", classifier="dummy"),
        c(name="rules", features="none", classifier="rules"),
        c(name="logreg-word", features="word", classifier="logreg", search={"C": (2.0, 8.0)}),
        c(name="logreg-word_char", features="word_char", classifier="logreg", search={"C": (2.0, 8.0)}),
        c(name="logreg-negation", features="negation", classifier="logreg", search={"C": (2.0, 8.0)}),
        c(name="linear_svc-char", features="char", classifier="linear_svc", search={"C": (0.1, 0.5)}),
        c(name="linear_svc-negation", features="negation", classifier="linear_svc", search={"C": (0.1, 0.5)}),
        c(name="complement_nb-word", features="word", classifier="complement_nb", search={"alpha": (0.1, 0.3, 1.0)}),
        c(name="sgd-word_char", features="word_char", classifier="sgd", search={"alpha": (1e-5, 1e-4)}),
        c(name="ridge-word", features="word", classifier="ridge", search={"alpha": (0.3, 1.0, 3.0)}),
        c(name="random_forest-word", features="word", classifier="random_forest"),
        c(name="knn-word", features="word", classifier="knn", search={"n_neighbors": (5, 15)}),
        c(
            name="logreg-minilm",
            features="embedding",
            classifier="logreg",
            feature_params={"encoder": "all-MiniLM-L6-v2", "backend": "onnx"},
            search={"C": (1.0, 4.0)},
        ),
        c(
            name="knn-minilm",
            features="embedding",
            classifier="knn",
            feature_params={"encoder": "all-MiniLM-L6-v2", "backend": "onnx"},
            search={"n_neighbors": (5, 15)},
        ),
        c(
            name="vote-word_char+minilm",
            features="none",
            classifier="soft_vote",
            params={"tfidf": "word_char", "encoder": "all-MiniLM-L6-v2", "backend": "onnx"},
        ),
    )


class TrainConfig(Strict):
    """Everything ``stance train`` reads."""

    seed: int = DEFAULT_SEED
    n_jobs: int = Field(
        2, ge=1, le=64, description="worker processes evaluating candidates (results do not depend on it)"
    )
    cluster: str | None = Field(
        None,
        description="Dask scheduler (tcp://HOST:8786) whose workers evaluate the "
        "candidates instead of local processes; None: this machine",
    )
    dataset: str = "data/dataset"
    export_dir: str = "models/stance-classifier"
    training_data: Literal["gold", "gold+weak", "both"] = Field(
        "gold", description="train on gold labels, on gold plus weak labels weighted by confidence, or compare both"
    )
    embedding_cache: str | None = Field(
        "data/embeddings", description="folder of the sentence-vector cache shared by every run (null: no disk cache)"
    )
    min_confidence: float | None = Field(
        None,
        gt=0.0,
        lt=1.0,
        description="default of `stance predict --min-confidence` for the exported model (null: off)",
    )
    cv: CVConfig = CVConfig()
    comparison: ComparisonConfig = ComparisonConfig()
    tracking: TrackingConfig = TrackingConfig()
    candidates: tuple[CandidateConfig, ...] = Field(default_factory=_default_candidates)

    @field_validator("cluster")
    @classmethod
    def _scheduler_address(cls, value: str | None) -> str | None:
        from training.cluster import normalize_address

        try:
            return None if value is None else normalize_address(value)
        except StanceError as exc:
            raise ValueError(exc.problems[0]) from None

    @model_validator(mode="after")
    def _unique_and_small(self) -> TrainConfig:
        if not self.candidates:
            raise ValueError("no candidates (list at least one under candidates)")
        seen: set[str] = set()
        for cand in self.candidates:
            if cand.name in seen:
                raise ValueError(f"candidate name '{cand.name}' is used twice (names must be unique)")
            seen.add(cand.name)
            if cand.grid_size > self.cv.max_grid:
                raise ValueError(
                    f"search grid of '{cand.name}' has {cand.grid_size} combinations, more than "
                    f"cv.max_grid={self.cv.max_grid} (shorten its search lists or raise cv.max_grid)"
                )
        return self


def with_overrides(cfg: TrainConfig, top: dict[str, Any], tracking: dict[str, Any]) -> TrainConfig:
    """``cfg`` with command-line values replacing config values, validated like the file.

    ``None`` values mean "not given". A bad value becomes one :class:`StanceError` line
    naming the setting.
    """
    top = {k: v for k, v in top.items() if v is not None}
    tracking = {k: v for k, v in tracking.items() if v is not None}
    if not top and not tracking:
        return cfg
    data = {**cfg.model_dump(), **top, "tracking": {**cfg.tracking.model_dump(), **tracking}}
    try:
        return TrainConfig.model_validate(data)
    except ValidationError as exc:
        raise StanceError(
            *(
                f"invalid value for '{'.'.join(str(p) for p in e['loc'])}' given on the command line: {e['msg']}"
                for e in exc.errors()
            )
        ) from None
