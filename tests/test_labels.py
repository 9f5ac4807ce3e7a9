"""The label names: one tuple, the same seen from the config and from prediction."""

from __future__ import annotations

from training import config, labels


def test_the_config_exports_the_same_labels() -> None:
    assert config.LABELS is labels.LABELS == ("favor", "against", "neutral")
