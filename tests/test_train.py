"""The settings of `stance train`: config errors name the line and the fix; the shipped config is the default."""

from __future__ import annotations

from pathlib import Path

import pytest
from training.config import load_config
from training.errors import StanceError
from training.train_config import TrainConfig


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        (
            "candidates:\n  - {name: a, features: word, classifier: logregr}\n",
            r"train.yaml:2: invalid value for 'candidates.0.classifier': .*unknown classifier 'logregr' \(did you mean 'logreg'\?",
        ),
        (
            "candidates:\n  - {name: a, features: words, classifier: logreg}\n",
            r"unknown feature extractor 'words' \(did you mean 'word'\?",
        ),
        (
            "candidates:\n  - {name: a, features: word, classifier: logreg, search: {CC: [1, 2]}}\n",
            r"unknown parameter 'CC' in params/search of 'logreg' \(did you mean 'C'\? valid: C, class_weight",
        ),
        (
            "candidates:\n  - {name: a, features: word, classifier: logreg, feature_params: {ngram: 2}}\n",
            r"unknown parameter 'ngram' in feature_params/feature_search of 'word'",
        ),
        (
            "candidates:\n  - {name: a, features: word, classifier: logreg, search: {C: []}}\n",
            r"empty search list for 'C'",
        ),
        (
            "candidates:\n  - {name: a, features: word, classifier: logreg, params: {C: 1}, search: {C: [1, 2]}}\n",
            r"'C' is both fixed in params and searched in search",
        ),
        (
            "candidates:\n  - {name: a, features: word, classifier: dummy}\n",
            r"reads raw sentences \(set features: none\)",
        ),
        ("candidates:\n  - {name: a, features: none, classifier: knn}\n", r"classifier 'knn' needs features"),
        (
            "candidates:\n  - {name: a, features: word, classifier: knn}\n  - {name: a, features: word, classifier: sgd}\n",
            r"candidate name 'a' is used twice",
        ),
        (
            "cv: {max_grid: 2}\ncandidates:\n  - {name: a, features: word, classifier: logreg, search: {C: [1, 2, 3]}}\n",
            r"search grid of 'a' has 3 combinations, more than cv.max_grid=2",
        ),
        ("cv: {foldz: 3}\n", r"train.yaml:1: unknown key 'cv.foldz'; did you mean 'folds'\?"),
    ],
)
def test_config_errors_name_the_line_and_the_fix(tmp_path: Path, yaml_text: str, message: str) -> None:
    path = tmp_path / "train.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    with pytest.raises(StanceError, match=message):
        load_config(path, TrainConfig)


def test_shipped_config_is_the_default() -> None:
    shipped = load_config(Path(__file__).resolve().parents[1] / "configs" / "train.yaml", TrainConfig)
    assert shipped == TrainConfig()
    assert {c.classifier for c in shipped.candidates} >= {
        "logreg",
        "linear_svc",
        "complement_nb",
        "sgd",
        "ridge",
        "random_forest",
        "knn",
        "dummy",
        "rules",
    }
    assert {c.features for c in shipped.candidates} >= {"word", "char", "word_char", "negation"}
