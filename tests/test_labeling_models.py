import numpy as np
import pytest
from training.config import DatasetConfig, load_config
from training.labeling import AGAINST, FAVOR, NEUTRAL, lf_analysis, macro_f1, weak_labels

LEX = load_config("configs/dataset.yaml", DatasetConfig).labeling


def test_weak_labels_choose_model_on_gold_and_analysis_counts() -> None:
    texts = ["Riyadh reopened its embassy.", "The US will not normalize ties.", "It rained in Amman.", "Talks resumed."]
    gold = np.array([FAVOR, AGAINST, NEUTRAL, -1])
    weak, votes = weak_labels(texts, gold, LEX)
    assert weak.model in ("majority", "dawid_skene")
    assert weak.labels.tolist()[:3] == [FAVOR, AGAINST, NEUTRAL]
    table = {row["function"]: row for row in lf_analysis(votes, gold)}
    assert table["favor_cue"]["coverage"] == pytest.approx(2 / 4)
    assert table["favor_cue"]["gold_votes"] == 1 and table["favor_cue"]["accuracy"] == 1.0
    assert table["negated_favor"]["precision_against"] == 1.0


def test_macro_f1_averages_every_class_including_one_never_hit() -> None:
    y_true = np.array([0, 0, 1, 2])
    y_pred = np.array([0, 1, 1, 1])
    # favor 2/3, against 2*1/(2+2+0) = 0.5, neutral 0
    assert macro_f1(y_true, y_pred) == pytest.approx((2 / 3 + 0.5 + 0) / 3)
