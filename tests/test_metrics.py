"""Scores and paired comparisons in training.metrics."""

from __future__ import annotations

import math
import random
import warnings

import pytest
from training import metrics
from training.labels import LABELS


def _random_labels(n: int, seed: int) -> tuple[list[str], list[str]]:
    rng = random.Random(seed)
    y = [rng.choice(LABELS) for _ in range(n)]
    p = [t if rng.random() < 0.6 else rng.choice(LABELS) for t in y]
    return y, p


@pytest.mark.parametrize("seed", range(5))
def test_scores_match_scikit_learn(seed: int) -> None:
    from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

    y, p = _random_labels(60, seed)
    s = metrics.scores(y, p)
    assert s["macro_f1"] == pytest.approx(f1_score(y, p, labels=list(LABELS), average="macro"), abs=1e-12)
    assert s["accuracy"] == pytest.approx(accuracy_score(y, p), abs=1e-12)
    f1 = f1_score(y, p, labels=list(LABELS), average=None)
    assert s["f_avg"] == pytest.approx((f1[0] + f1[1]) / 2, abs=1e-12)
    prec, rec, f, sup = precision_recall_fscore_support(y, p, labels=list(LABELS), zero_division=0)
    report = metrics.per_class(y, p)
    for i, label in enumerate(LABELS):
        assert report[label]["precision"] == pytest.approx(prec[i], abs=1e-12)
        assert report[label]["recall"] == pytest.approx(rec[i], abs=1e-12)
        assert report[label]["f1"] == pytest.approx(f[i], abs=1e-12)
        assert report[label]["support"] == sup[i]


def test_absent_class_counts_as_zero_like_scikit_learn() -> None:
    from sklearn.metrics import f1_score

    y = ["favor", "favor", "against"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = f1_score(y, y, labels=list(LABELS), average="macro")
    assert metrics.macro_f1(y, y) == pytest.approx(expected) == pytest.approx(2 / 3)


def test_hand_computed_example() -> None:
    y = ["favor", "favor", "against", "against", "neutral", "neutral"]
    p = ["favor", "against", "against", "against", "favor", "neutral"]
    assert metrics.confusion(y, p) == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    report = metrics.per_class(y, p)
    assert report["favor"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2.0}
    assert report["against"]["f1"] == pytest.approx(0.8)  # P 2/3, R 1
    assert report["neutral"]["f1"] == pytest.approx(2 / 3)  # P 1, R 1/2
    assert metrics.f_avg(y, p) == pytest.approx((0.5 + 0.8) / 2)
    assert metrics.macro_f1(y, p) == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)
    assert metrics.accuracy(y, p) == pytest.approx(4 / 6)
    text = metrics.report_text(y, p)
    assert "favor" in text and "macro-F1 0.6556" in text and "n=6" in text


def test_length_mismatch_is_an_error() -> None:
    with pytest.raises(ValueError, match="3 labels but y_pred has 2"):
        metrics.confusion(["favor"] * 3, ["favor"] * 2)
    with pytest.raises(ValueError, match="3 labels but y_pred has 2"):
        metrics.accuracy(["favor"] * 3, ["favor"] * 2)


def test_mean_std() -> None:
    assert metrics.mean_std([1.0, 2.0, 3.0, 4.0]) == pytest.approx((2.5, math.sqrt(5 / 3)))
    assert metrics.mean_std([0.7]) == (0.7, 0.0)
    assert all(math.isnan(v) for v in metrics.mean_std([]))


def test_corrected_ttest_matches_the_formula_and_is_more_cautious() -> None:
    from scipy import stats

    diffs = [0.02, 0.05, -0.01, 0.03, 0.04, 0.00, 0.02, 0.06, 0.01, 0.03]
    ratio = 1 / 4  # 5-fold CV
    t, p = metrics.corrected_ttest(diffs, ratio)
    mean, std = metrics.mean_std(diffs)
    expected_t = mean / math.sqrt((1 / len(diffs) + ratio) * std**2)
    assert t == pytest.approx(expected_t)
    assert p == pytest.approx(2 * stats.t.sf(abs(expected_t), df=len(diffs) - 1))
    naive = stats.ttest_1samp(diffs, 0.0).pvalue
    assert p > naive  # the correction widens the variance for overlapping training sets
    assert metrics.corrected_ttest([0.0] * 6, ratio) == (0.0, 1.0)
    assert metrics.corrected_ttest([0.1] * 6, ratio)[1] < 1e-12
    with pytest.raises(ValueError, match="at least 2"):
        metrics.corrected_ttest([0.1], ratio)


def test_bootstrap_interval_is_seeded_and_brackets_the_mean() -> None:
    diffs = [0.02, 0.05, -0.01, 0.03, 0.04, 0.00, 0.02, 0.06, 0.01, 0.03]
    a = metrics.bootstrap_ci(diffs, 0.05, 2000, seed=7)
    assert a == metrics.bootstrap_ci(diffs, 0.05, 2000, seed=7)
    assert a[0] < sum(diffs) / len(diffs) < a[1]
    assert a[0] > 0  # consistently positive differences: zero is outside the interval
    with pytest.raises(ValueError, match="alpha"):
        metrics.bootstrap_ci(diffs, 1.5, 100, seed=0)


@pytest.mark.parametrize("method", ["corrected_ttest", "bootstrap"])
def test_paired_tie(method: str) -> None:
    best = [0.80, 0.82, 0.79, 0.81, 0.83, 0.80, 0.82, 0.81, 0.80, 0.79]
    close = [b - d for b, d in zip(best, [0.01, -0.02, 0.02, 0.0, -0.01, 0.02, -0.01, 0.01, 0.0, -0.02])]
    far = [b - 0.3 + 0.01 * (i % 3) for i, b in enumerate(best)]
    kw = {"method": method, "alpha": 0.05, "test_train_ratio": 0.25, "samples": 2000, "seed": 1}
    assert metrics.paired_tie(best, best, **kw)["tied"] is True
    assert metrics.paired_tie(best, close, **kw)["tied"] is True
    result = metrics.paired_tie(best, far, **kw)
    assert result["tied"] is False
    assert result["mean_diff"] == pytest.approx(0.3 - 0.01 * sum(i % 3 for i in range(10)) / 10)
    with pytest.raises(ValueError, match="same splits"):
        metrics.paired_tie(best, far[:5], **kw)


def test_unknown_comparison_method() -> None:
    with pytest.raises(ValueError, match="unknown comparison method 'wilcoxon'"):
        metrics.paired_tie([0.1, 0.2], [0.1, 0.2], method="wilcoxon", alpha=0.05, test_train_ratio=0.25)
