from collections import Counter
from typing import Any

from training.card import render_card


def _counts() -> dict[str, dict[str, Counter[Any]]]:
    return {
        "train": {
            "label": Counter({0: 2, 2: 1}),
            "label_source": Counter({"gold": 1, "weak": 2}),
            "episode": Counter({"gcc": 3}),
            "register": Counter({"": 3}),
        },
        "test": {
            "label": Counter({1: 1}),
            "label_source": Counter({"weak": 1}),
            "episode": Counter({"gcc": 1}),
            "register": Counter({"op-ed": 1}),
        },
    }


def _info(**extra: Any) -> dict[str, Any]:
    return {
        "sources": ["seeds"],
        "fingerprint": "f" * 64,
        "config_hash": "c0ffee",
        "seed": 7,
        "documents": 2,
        "sentences_segmented": 5,
        "duplicates_dropped": 1,
        "duplicate_label_conflicts": 0,
        "episodes": 1,
        "label_model": "majority",
        "leakage": {"documents_in_several_splits": 0, "near_duplicates_across_splits": 0},
        **extra,
    }


LF_ROW = {
    "function": "favor_cue",
    "coverage": 0.5,
    "overlap": 0.25,
    "conflict": 0.0,
    "gold_votes": 1,
    "accuracy": 1.0,
    "precision_favor": 1.0,
    "precision_against": None,
    "precision_neutral": None,
}


def test_the_card_counts_labels_per_split_and_lists_the_functions() -> None:
    card = render_card(_counts(), _info(), [LF_ROW])
    assert card.startswith("---\ntask_categories: [text-classification]\n")
    assert "sentences kept: 4" in card
    assert "| favor | 2 | 0 | 2 | 50.0% |" in card
    assert "| train | 1 | 2 |" in card
    assert "| (none) | 3 | 0 | 3 |" in card  # the empty register sorts last
    assert "| favor_cue | 0.500 | 0.250 | 0.000 | 1 | 1.000 | 1.000 |  |  |" in card
    assert "No second labelling pass was recorded for these sources." in card
    assert card.endswith("in favour of this row, as `doc_id:index`).\n")


def test_the_card_reports_agreement_and_hard_cases() -> None:
    confusion = {a: {b: int(a == b) for b in ("favor", "against", "neutral")} for a in ("favor", "against", "neutral")}
    agreement = {
        "sentences": 3,
        "documents": 1,
        "kappa": 1.0,
        "observed_agreement": 1.0,
        "disagreements": 0,
        "confusion": confusion,
    }
    hard = {"polar": 4, "hard": 1, "by_kind": {"irony": 1}}
    card = render_card(_counts(), _info(agreement=agreement, hard_cases=hard), [LF_ROW])
    assert "Cohen's kappa **1.000**, observed agreement 100.0%, 0 disagreements adjudicated." in card
    assert "| favor | 1 | 0 | 0 |" in card
    assert "- Hard cases among gold favor/against sentences: 1 of 4 (25%; irony 1)" in card
