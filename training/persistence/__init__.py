"""Saving and loading models: the only code that writes ``models/``.

Models are stored with skops, never pickle, and a file is only loaded when every type it
names is trusted. The package is split by direction:

- :mod:`~training.persistence.trust`: the trusted types, derived from the classes themselves;
- :mod:`~training.persistence.loading`: reading model files and exports (type and sha256 checks);
- :mod:`~training.persistence.exports`: writing model files and export folders.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from training.persistence.exports import (
    EXPORT_LOCK_TIMEOUT,
    check_export_dir,
    dump_bytes,
    export_lock,
    is_export,
    labels_of,
    library_versions,
    save_model_file,
    write_export,
)
from training.persistence.loading import (
    CARD_FILE,
    DEFAULT_EXPORT,
    MAX_UNPACKED_RATIO,
    METADATA_FILE,
    MIN_UNPACKED_LIMIT,
    MODEL_FILE,
    load_model_file,
    read_export,
    read_metadata,
    sha256_file,
    untrusted_types,
)

if TYPE_CHECKING:
    TRUSTED_TYPES: list[str]

__all__ = [
    "CARD_FILE",
    "DEFAULT_EXPORT",
    "EXPORT_LOCK_TIMEOUT",
    "MAX_UNPACKED_RATIO",
    "METADATA_FILE",
    "MIN_UNPACKED_LIMIT",
    "MODEL_FILE",
    "TRUSTED_TYPES",
    "check_export_dir",
    "dump_bytes",
    "export_lock",
    "is_export",
    "labels_of",
    "library_versions",
    "load_model_file",
    "read_export",
    "read_metadata",
    "save_model_file",
    "sha256_file",
    "untrusted_types",
    "write_export",
]


def __getattr__(name: str) -> Any:
    """``TRUSTED_TYPES``: every type a model file may name, worked out on first use (it imports scikit-learn)."""
    if name == "TRUSTED_TYPES":
        from training.persistence.trust import trusted_types

        return trusted_types()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
