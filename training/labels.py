"""The three stance labels, in the order every model, metric and file uses.

Defined apart from :mod:`training.config` so that labelling new text does not import
pydantic (about a fifth of a second) just for these three names.
"""

from __future__ import annotations

LABELS: tuple[str, str, str] = ("favor", "against", "neutral")
