from training.config import DatasetConfig, load_config
from training.labeling import ABSTAIN, AGAINST, FAVOR, LABELING_FUNCTIONS, NEUTRAL, apply_lfs

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
