"""Negation and modality scopes marked in the text."""

from __future__ import annotations

from training import classifiers as reg


def test_mark_scopes_marks_negation_and_modality_until_punctuation_or_contrast() -> None:
    assert reg.mark_scopes("The US will not normalize relations with Syria, but it might reconsider.") == (
        "the us will not neg_normalize neg_relations neg_with neg_syria , but it might mod_reconsider ."
    )
    assert reg.mark_scopes("They don’t support ties.") == "they don't neg_support neg_ties ."
    assert reg.mark_scopes("Ties were restored.") == "ties were restored ."
    assert reg.mark_scopes("No deal, however talks go on", negators=("no",)) == "no neg_deal , however talks go on"
