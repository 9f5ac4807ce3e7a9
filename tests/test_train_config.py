"""training.train_config: candidates checked against the registry, bounds, frozen sections, overrides."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError
from training.config import DEFAULT_SEED, load_config
from training.errors import StanceError
from training.train_config import (
    CandidateConfig,
    ComparisonConfig,
    CVConfig,
    TrackingConfig,
    TrainConfig,
    with_overrides,
)

ROOT = Path(__file__).resolve().parents[1]


def _cand(**values: Any) -> CandidateConfig:
    return CandidateConfig.model_validate({"name": "a", "features": "word", "classifier": "logreg", **values})


def test_a_candidate_defaults_to_word_features_and_empty_grids() -> None:
    cand = CandidateConfig(name="lr", classifier="logreg")
    assert (cand.features, cand.params, cand.search, cand.feature_params, cand.feature_search) == (
        "word",
        {},
        {},
        {},
        {},
    )
    assert cand.grid_size == 1 and cand.encoders == () and cand.encoder_backends == ()


@pytest.mark.parametrize("name", ["", "-lead", "has space", "a/b", "x" * 61])
def test_candidate_names_must_be_short_and_plain(name: str) -> None:
    with pytest.raises(ValidationError, match=r"name\n.*(String should match pattern|at most 60 characters)"):
        _cand(name=name)


def test_candidate_names_may_hold_dots_pluses_and_dashes() -> None:
    assert _cand(name="vote-word_char+minilm.v2").name == "vote-word_char+minilm.v2"


def test_an_unknown_classifier_lists_the_known_ones() -> None:
    with pytest.raises(
        ValidationError,
        match=r"unknown classifier 'xgboost' \(known: logreg, linear_svc, complement_nb, .*, dummy, rules\)",
    ):
        _cand(classifier="xgboost")


def test_a_repeated_search_value_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"repeated value in the search list for 'C'"):
        _cand(search={"C": [1.0, 2.0, 1.0]})
    # 1 and 1.0 have different reprs: they are different values to the check.
    assert _cand(search={"C": [1, 1.0]}).search == {"C": (1, 1.0)}


def test_feature_parameters_fixed_and_searched_name_the_feature_sections() -> None:
    with pytest.raises(
        ValidationError,
        match=r"'max_features' is both fixed in feature_params and searched in feature_search \(keep one\)",
    ):
        _cand(feature_params={"max_features": 100}, feature_search={"max_features": [100, 200]})


def test_an_empty_feature_search_list_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"empty search list for 'max_features' \(give at least one value\)"):
        _cand(feature_search={"max_features": []})


def test_parameters_of_a_component_without_any_say_none() -> None:
    with pytest.raises(
        ValidationError, match=r"unknown parameter 'x' in feature_params/feature_search of 'none' .*valid: none\)"
    ):
        CandidateConfig(name="d", features="none", classifier="dummy", feature_params={"x": 1})


def test_the_grid_is_the_product_of_every_searched_list() -> None:
    cand = _cand(search={"C": [1.0, 2.0, 4.0]}, feature_search={"max_features": [100, 200]})
    assert cand.grid_size == 6


def test_lists_become_tuples_and_the_candidate_is_frozen() -> None:
    cand = _cand(search={"C": [1.0, 2.0]})
    assert cand.search["C"] == (1.0, 2.0)
    with pytest.raises(ValidationError, match="frozen"):
        cand.name = "b"  # type: ignore[misc]


def test_encoders_come_from_fixed_parameters_grids_and_defaults() -> None:
    default = CandidateConfig(name="e", features="embedding", classifier="logreg")
    assert default.encoders == ("all-MiniLM-L6-v2",)
    grid = CandidateConfig(
        name="e", features="embedding", classifier="logreg", feature_search={"encoder": ["hashing", "all-MiniLM-L6-v2"]}
    )
    assert grid.encoders == ("all-MiniLM-L6-v2", "hashing")
    vote = CandidateConfig(name="v", features="none", classifier="soft_vote", params={"encoder": "hashing"})
    assert vote.encoders == ("hashing",)


def test_encoder_backends_are_torch_unless_embeddings_or_votes_ask_for_onnx() -> None:
    onnx = CandidateConfig(
        name="e", features="embedding", classifier="logreg", feature_search={"backend": ["torch", "onnx"]}
    )
    assert onnx.encoder_backends == (("all-MiniLM-L6-v2", "onnx"), ("all-MiniLM-L6-v2", "torch"))
    vote = CandidateConfig(name="v", features="none", classifier="soft_vote")
    assert vote.encoder_backends == (("all-MiniLM-L6-v2", "torch"),)
    vote_onnx = CandidateConfig(name="v", features="none", classifier="soft_vote", params={"backend": "onnx"})
    assert vote_onnx.encoder_backends == (("all-MiniLM-L6-v2", "onnx"),)


def test_the_shipped_encoder_candidates_run_on_onnx_runtime() -> None:
    """configs/train.yaml serves its encoder candidates without torch (README, "Prediction speed")."""
    cfg = load_config(ROOT / "configs/train.yaml", TrainConfig)
    pairs = {c.name: c.encoder_backends for c in cfg.candidates if c.encoders}
    assert set(pairs) == {"logreg-minilm", "knn-minilm", "vote-word_char+minilm"}
    assert set(pairs.values()) == {(("all-MiniLM-L6-v2", "onnx"),)}


@pytest.mark.parametrize(
    ("section", "values", "field"),
    [
        (CVConfig, {"folds": 1}, "folds"),
        (CVConfig, {"folds": 21}, "folds"),
        (CVConfig, {"repeats": 0}, "repeats"),
        (CVConfig, {"max_grid": 0}, "max_grid"),
        (ComparisonConfig, {"alpha": 0.0}, "alpha"),
        (ComparisonConfig, {"alpha": 1.0}, "alpha"),
        (ComparisonConfig, {"bootstrap_samples": 99}, "bootstrap_samples"),
        (ComparisonConfig, {"metric": "accuracy"}, "metric"),
        (ComparisonConfig, {"method": "wilcoxon"}, "method"),
        (TrackingConfig, {"alias": "1st"}, "alias"),
        (TrackingConfig, {"experiment": ""}, "experiment"),
        (TrackingConfig, {"log_models": "none"}, "log_models"),
        (TrackingConfig, {"misclassified_max": -1}, "misclassified_max"),
        (TrainConfig, {"n_jobs": 0}, "n_jobs"),
        (TrainConfig, {"n_jobs": 65}, "n_jobs"),
        (TrainConfig, {"min_confidence": 1.0}, "min_confidence"),
        (TrainConfig, {"training_data": "weak"}, "training_data"),
    ],
)
def test_values_out_of_bounds_are_refused_naming_the_field(section: Any, values: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError, match=rf"^1 validation error for {section.__name__}\n{field}\n"):
        section.model_validate(values)


def test_sections_refuse_unknown_keys_and_changes() -> None:
    with pytest.raises(ValidationError, match=r"foldz\n  Extra inputs are not permitted"):
        CVConfig.model_validate({"foldz": 3})
    cfg = TrainConfig()
    with pytest.raises(ValidationError, match="frozen"):
        cfg.cv.folds = 2  # type: ignore[misc]
    with pytest.raises(ValidationError, match="frozen"):
        cfg.seed = 1  # type: ignore[misc]


def test_no_candidates_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"no candidates \(list at least one under candidates\)"):
        TrainConfig(candidates=())


@pytest.mark.parametrize(
    ("given", "stored"),
    [("10.0.0.5:8786", "tcp://10.0.0.5:8786"), (" tls://sched:8786 ", "tls://sched:8786"), (None, None)],
)
def test_a_cluster_address_is_normalised(given: str | None, stored: str | None) -> None:
    assert TrainConfig(cluster=given).cluster == stored


def test_a_bad_cluster_address_is_the_scheduler_message() -> None:
    with pytest.raises(
        ValidationError, match=r"invalid Dask scheduler address 'tcp://host:99999' \(use tcp://HOST:PORT"
    ):
        TrainConfig(cluster="tcp://host:99999")


def test_the_defaults_the_shipped_config_spells_out() -> None:
    cfg = TrainConfig()
    assert (cfg.seed, cfg.n_jobs, cfg.cluster, cfg.training_data, cfg.min_confidence) == (
        DEFAULT_SEED,
        2,
        None,
        "gold",
        None,
    )
    assert (cfg.dataset, cfg.export_dir, cfg.embedding_cache) == (
        "data/dataset",
        "models/stance-classifier",
        "data/embeddings",
    )
    assert (cfg.cv.folds, cfg.cv.repeats, cfg.cv.max_grid) == (5, 3, 12)
    assert cfg.comparison == ComparisonConfig(
        metric="macro_f1",
        grouping="episode",
        choose="best",
        method="corrected_ttest",
        alpha=0.05,
        bootstrap_samples=2000,
    )
    assert cfg.tracking == TrackingConfig(
        uri=None, experiment="stance", registered_model="stance-classifier", alias="champion", log_models="all"
    )
    assert cfg.tracking.misclassified_max == 500


def test_the_shipped_file_sets_every_key_and_the_default_candidates() -> None:
    data = yaml.safe_load((ROOT / "configs" / "train.yaml").read_text(encoding="utf-8"))
    assert set(data) == set(TrainConfig.model_fields)
    for section in ("cv", "comparison", "tracking"):
        assert set(data[section]) == set(TrainConfig.model_fields[section].annotation.model_fields)  # type: ignore[union-attr]
    names = [c.name for c in TrainConfig().candidates]
    assert [c["name"] for c in data["candidates"]] == names
    assert len(set(names)) == len(names) == 15
    assert max(c.grid_size for c in TrainConfig().candidates) <= TrainConfig().cv.max_grid
    assert set().union(*(c.encoders for c in TrainConfig().candidates)) == {"all-MiniLM-L6-v2"}


def test_overrides_that_give_nothing_return_the_same_object() -> None:
    cfg = TrainConfig()
    assert with_overrides(cfg, {"n_jobs": None, "dataset": None}, {"uri": None}) is cfg


def test_overrides_replace_values_and_keep_the_rest() -> None:
    cfg = TrainConfig(seed=7)
    got = with_overrides(cfg, {"n_jobs": 4, "cluster": "sched:8786"}, {"experiment": "night", "uri": None})
    assert (got.n_jobs, got.cluster, got.tracking.experiment) == (4, "tcp://sched:8786", "night")
    assert got.seed == 7 and got.tracking.registered_model == "stance-classifier" and got.candidates == cfg.candidates
    assert cfg.n_jobs == 2  # the original is untouched


def test_bad_overrides_are_one_line_each_naming_the_setting() -> None:
    with pytest.raises(StanceError) as caught:
        with_overrides(TrainConfig(), {"n_jobs": 0}, {"alias": "no spaces"})
    assert len(caught.value.problems) == 2
    assert caught.value.problems[0].startswith(
        "invalid value for 'n_jobs' given on the command line: Input should be greater than or equal to 1"
    )
    assert caught.value.problems[1].startswith("invalid value for 'tracking.alias' given on the command line: ")


def test_a_bad_cluster_override_is_the_scheduler_message() -> None:
    with pytest.raises(
        StanceError,
        match=r"^invalid value for 'cluster' given on the command line: Value error, invalid Dask scheduler address 'nope'",
    ):
        with_overrides(TrainConfig(), {"cluster": "nope"}, {})
