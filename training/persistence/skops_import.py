"""``skops.io``, imported without importing PyTorch.

At import time skops lists scikit-learn's estimator types with ``sklearn.utils.all_estimators``.
That function walks every scikit-learn package, and walking imports each one, including
``sklearn.externals.array_api_compat.torch``, which imports torch when it is installed (the
encoder candidates install it). For a process that only loads a TF-IDF model, or an encoder
model run by ONNX Runtime, torch costs about 2 s and 185 MiB before the first sentence.

While skops is imported, this module reports torch as missing to the importing thread.
``pkgutil.walk_packages`` skips a package that raises ImportError, so scikit-learn leaves that
one compatibility package out, as it would on a machine without torch. No estimator type is
lost. A later ``import torch`` (the sentence-transformers backend) works as usual.

The gain is the benchmark row ``predict.skops_import``. ``tests/test_persistence_skops_import.py``
fails when a plain ``import skops.io`` stops importing torch; the guard can then go.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

DEFERRED = "torch"


class _Deferred:
    """A meta-path finder that reports ``torch`` missing to one thread."""

    def __init__(self) -> None:
        self.thread = threading.get_ident()

    def find_spec(self, name: str, path: Sequence[str] | None = None, target: Any = None) -> ModuleSpec | None:
        if threading.get_ident() == self.thread and name.partition(".")[0] == DEFERRED:
            raise ModuleNotFoundError(f"{DEFERRED} is not imported while skops.io loads", name=name)
        return None  # every other import: the next finder decides


def skops_io() -> ModuleType:
    """Import and return ``skops.io``; torch stays unimported unless something else imported it."""
    if "skops.io" in sys.modules or DEFERRED in sys.modules:
        import skops.io

        return skops.io
    finder = _Deferred()
    sys.meta_path.insert(0, finder)
    try:
        import skops.io
    finally:
        sys.meta_path.remove(finder)
    return skops.io
