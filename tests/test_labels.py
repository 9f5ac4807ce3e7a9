"""The label names: one tuple, defined once in training.labels."""

from __future__ import annotations

from training import config, labels


def test_the_labels_are_the_three_stances_in_a_fixed_order() -> None:
    assert labels.LABELS == ("favor", "against", "neutral")


def test_the_config_module_does_not_keep_a_second_name_for_them() -> None:
    assert not hasattr(config, "LABELS")
