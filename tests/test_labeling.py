import json
from pathlib import Path

import numpy as np
import pytest
from training.config import DatasetConfig, ReaderConfig, load_config
from training.errors import StanceError
from training.label_model import fit_dawid_skene, majority_vote
from training.labeling import (
    ABSTAIN,
    AGAINST,
    FAVOR,
    LABELING_FUNCTIONS,
    NEUTRAL,
    apply_lfs,
    index_gold,
    lf_analysis,
    read_gold,
    weak_labels,
)
from training.rules import RuleClassifier

LEX = load_config("configs/dataset.yaml", DatasetConfig).labeling


def votes_of(text: str) -> dict[str, int]:
    row = apply_lfs([text], LEX)[0]
    return {name: int(v) for name, v in zip(LABELING_FUNCTIONS, row) if v != ABSTAIN}


def test_negation_flips_cues() -> None:
    assert votes_of("The US will not normalize relations with Syria.")["negated_favor"] == AGAINST
    assert votes_of("Cairo did not rule out reopening the embassy.")["negated_against"] == FAVOR
    assert "favor_cue" in votes_of("Riyadh reopened its embassy in Damascus.")


def test_contrast_blocking_enabling_and_exclusion() -> None:
    v = votes_of("Arab allies re-established ties, but the US will not follow suit and opposes it.")
    assert v["contrast_main_clause"] == AGAINST
    assert votes_of("There will be no embassy until the occupation ends.")["blocking_condition"] == AGAINST
    assert votes_of("Assad would be invited once members reach a consensus.")["enabling_condition"] == FAVOR
    assert votes_of("Syria denounced the suspension as illegal.")["exclusion_objection"] == FAVOR
    assert votes_of("Blinken thanked Jordan for hosting refugees.") == {"neutral_topic": NEUTRAL, "no_cue": NEUTRAL}
    assert votes_of("When is the summit?")["question"] == NEUTRAL


def test_majority_vote_and_dawid_skene_recover_a_clear_signal() -> None:
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 3, size=600)
    votes = np.full((600, 4), ABSTAIN)
    for j in range(4):
        mask = rng.random(600) < 0.7
        noisy = np.where(rng.random(600) < 0.85, truth, rng.integers(0, 3, size=600))
        votes[mask, j] = noisy[mask]
    mv = majority_vote(votes).argmax(axis=1)
    ds = fit_dawid_skene(votes).predict_proba(votes).argmax(axis=1)
    assert (mv == truth).mean() > 0.8
    assert (ds == truth).mean() > 0.8
    no_votes = majority_vote(np.full((1, 4), ABSTAIN))
    assert no_votes.argmax() == NEUTRAL and np.isclose(no_votes.sum(), 1.0)


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


def test_rule_classifier_is_a_sklearn_estimator() -> None:
    from sklearn.base import clone

    texts = ["Riyadh reopened its embassy.", "The US will not normalize ties.", "It rained in Amman."] * 5
    y = ["favor", "against", "neutral"] * 5
    clf = clone(RuleClassifier(lexicons=LEX.model_dump(), label_model="auto")).fit(texts, y)
    assert list(clf.classes_) == ["favor", "against", "neutral"]
    assert clf.predict(texts[:3]).tolist() == ["favor", "against", "neutral"]
    proba = clf.predict_proba(texts)
    assert np.allclose(proba.sum(axis=1), 1.0)


def write_gold(root: Path, name: str, rows: list[object]) -> Path:
    path = root / name
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_gold_errors_name_file_and_line(tmp_path: Path) -> None:
    reader = ReaderConfig()
    write_gold(
        tmp_path, "a.gold.jsonl", [{"text": "One.", "label": "favor"}, {"text": "Two.", "label": "pro"}, "{oops"]
    )
    with pytest.raises(StanceError) as err:
        read_gold(tmp_path, reader)
    assert any("unknown label 'pro'" in p and "a.gold.jsonl:2" in p for p in err.value.problems)
    assert any("malformed JSON" in p and "a.gold.jsonl:3" in p for p in err.value.problems)


def test_conflicting_gold_labels_are_listed(tmp_path: Path) -> None:
    write_gold(tmp_path, "a.gold.jsonl", [{"text": "One.", "label": "favor"}, {"text": "One.", "label": "against"}])
    rows = read_gold(tmp_path, ReaderConfig())
    with pytest.raises(
        StanceError, match=r"conflicting gold labels: .*a\.gold\.jsonl:1 says favor, .*a\.gold\.jsonl:2 says against"
    ):
        index_gold(rows)


def test_dawid_skene_on_distinct_patterns_equals_the_fit_on_every_row() -> None:
    from training.label_model import fit_dawid_skene

    rng = np.random.default_rng(3)
    truth = rng.integers(0, 3, 400)
    # Six functions that vote the true class, a wrong one, or abstain, at different rates.
    votes = np.where(
        rng.random((400, 6)) < 0.5,
        -1,
        np.where(rng.random((400, 6)) < 0.8, truth[:, None], rng.integers(0, 3, (400, 6))),
    )
    patterns, inverse, counts = np.unique(votes, axis=0, return_inverse=True, return_counts=True)
    assert len(patterns) < len(votes)
    rows = fit_dawid_skene(votes, 3, 50)
    weighted = fit_dawid_skene(patterns, 3, 50, weights=counts)
    np.testing.assert_allclose(weighted.priors, rows.priors, rtol=1e-9)
    np.testing.assert_allclose(
        weighted.predict_proba(patterns)[inverse.reshape(-1)], rows.predict_proba(votes), rtol=1e-9, atol=1e-12
    )
