"""stance: sentence stance toward normalization of relations between states.

Importing the package is cheap; heavy libraries load inside the functions that need them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["__version__", "load_model"]

if TYPE_CHECKING:
    from training.stance_model import StanceModel


def load_model(uri: str = "models/stance-classifier") -> StanceModel:
    """Load a local export directory or any MLflow model URI into a :class:`StanceModel`."""
    from training.predict import load_model as _load

    return _load(uri)


def __getattr__(name: str) -> Any:  # pragma: no cover - guards typos with a clear message
    raise AttributeError(f"module 'training' has no attribute {name!r}")
