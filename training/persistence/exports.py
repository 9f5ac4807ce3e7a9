"""Writing models: skops files with trusted types only, and export folders swapped in whole.

An export directory holds::

    model.skops     the fitted estimator
    metadata.json   the caller's metadata plus sha256 of model.skops, labels, library versions
    README.md       the model card

and is replaced as a whole: it is built in a hidden sibling directory and swapped in, so the
previous export survives any failure.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

from training.atomic import atomic_file, claim_output_dir, new_scratch_dir, os_errors, swap_dir
from training.errors import StanceError
from training.persistence.loading import CARD_FILE, METADATA_FILE, MODEL_FILE, untrusted_types

EXPORT_LOCK_TIMEOUT = 120.0  # seconds; another train holds the lock only while it swaps its export in


def _compact_vocabularies(estimator: Any) -> None:
    """Turn numpy-integer values of fitted ``vocabulary_`` dicts into Python ints, in place.

    skops writes every numpy scalar as its own array file inside the archive, so a 60,000-term
    TF-IDF vocabulary becomes 60,000 small files and dominates load time (about 4x slower on
    the seed corpus's word+char model). Plain ints are stored inline; the numbers, and so every
    prediction, stay the same.
    """
    import numpy as np

    seen: set[int] = set()
    stack: list[Any] = [estimator]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, (str, bytes, int, float, np.ndarray)) or obj is None:
            continue
        seen.add(id(obj))
        if isinstance(obj, dict):
            stack.extend(obj.values())
        elif isinstance(obj, (list, tuple)):
            stack.extend(obj)
        elif hasattr(obj, "__dict__") and hasattr(obj, "get_params"):  # an estimator: look inside
            vocab = getattr(obj, "vocabulary_", None)
            if isinstance(vocab, dict) and any(isinstance(v, np.integer) for v in vocab.values()):
                obj.vocabulary_ = {k: int(v) for k, v in vocab.items()}
            stack.extend(vars(obj).values())


def dump_bytes(estimator: Any) -> bytes:
    """Serialize ``estimator`` with skops, refusing types a later load would refuse.

    Fitted vocabularies are compacted first (see :func:`_compact_vocabularies`).
    """
    from training.persistence.skops_import import skops_io

    sio = skops_io()

    _compact_vocabularies(estimator)
    try:
        data = sio.dumps(estimator)
    except Exception as exc:  # skops cannot store lambdas, local classes, open files...
        raise StanceError(f"cannot serialize {type(estimator).__name__} with skops: {exc}") from None
    bad = untrusted_types(data, "<new model>")
    if bad:
        # Failing here, not at load time, keeps a model nobody can load from being exported.
        raise StanceError(
            f"model holds types outside training.persistence.TRUSTED_TYPES: {', '.join(bad)} "
            "(trust their classes in training.persistence.trust once reviewed as safe to load)"
        )
    return data


def save_model_file(estimator: Any, path: str | Path) -> Path:
    """Write ``estimator`` to ``path`` as a skops file, atomically."""
    path = Path(path)
    data = dump_bytes(estimator)
    with atomic_file(path, binary=True) as fh:
        fh.write(data)
    return path


def labels_of(estimator: Any) -> list[str]:
    """Label names in the column order of ``estimator.predict_proba``.

    Integer classes are ClassLabel ids and map to :data:`training.labels.LABELS`.
    """
    from training.labels import LABELS

    classes = getattr(estimator, "classes_", None)
    if classes is None:
        raise StanceError(f"the estimator {type(estimator).__name__} is not fitted (fit it before saving)")
    out: list[str] = []
    for c in list(classes):
        if isinstance(c, str):
            out.append(str(c))  # numpy's str_ subclasses str, but YAML and JSON writers want a plain str
        elif hasattr(c, "item") and isinstance(c.item(), str):
            out.append(c.item())
        else:
            idx = int(c)
            if not 0 <= idx < len(LABELS):
                raise StanceError(f"class id {idx} has no label name (expected ids 0..{len(LABELS) - 1})")
            out.append(LABELS[idx])
    return out


def library_versions() -> dict[str, str]:
    """Versions of the libraries a model depends on, recorded next to it."""
    out = {"python": platform.python_version()}
    for dist in ("scikit-learn", "skops", "numpy", "scipy", "stance"):
        try:
            out[dist] = importlib_metadata.version(dist)
        except importlib_metadata.PackageNotFoundError:
            continue
    return out


@contextlib.contextmanager
def export_lock(directory: Path, timeout: float | None = None) -> Iterator[None]:
    """Hold the lock that serializes exports to ``directory`` (a file next to it)."""
    from filelock import FileLock, Timeout

    timeout = EXPORT_LOCK_TIMEOUT if timeout is None else timeout
    lock = directory.parent / f".{directory.name}.lock"
    try:
        with os_errors("lock", lock), FileLock(str(lock), timeout=timeout):
            yield
    except Timeout:
        raise StanceError(
            f"could not lock {lock} within {timeout:.0f} s (another `stance train` may be exporting; "
            "if none runs, check that the folder is writable)"
        ) from None


def is_export(folder: Path) -> bool:
    """Whether ``folder`` holds an export written by :func:`write_export` (its metadata file)."""
    meta = folder / METADATA_FILE
    if not meta.is_file():
        return False
    try:
        data = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and {"model_file", "sha256", "labels"} <= data.keys()


def check_export_dir(directory: Path, inputs: Sequence[Path] = ()) -> None:
    """Refuse an export folder that is not ours to replace, before any training starts."""
    claim_output_dir(Path(directory), "--export-dir", is_export, inputs)


def _export_metadata(estimator: Any, metadata: Mapping[str, Any], data: bytes) -> dict[str, Any]:
    """The caller's metadata plus what every export records about its model."""
    from training.encoders import referenced

    meta = dict(metadata)
    meta.update(
        {
            "model_file": MODEL_FILE,
            "sha256": hashlib.sha256(data).hexdigest(),
            "labels": labels_of(estimator),
            "estimator": type(estimator).__name__,
            "has_predict_proba": hasattr(estimator, "predict_proba"),
            "libraries": library_versions(),
        }
    )
    if refs := referenced(estimator):  # encoder weights are referenced by sha256, not copied (read_export checks)
        meta["encoders"] = refs
    return meta


def _write_files(folder: Path, files: Mapping[str, bytes]) -> None:
    """Write ``files`` into ``folder`` and flush each to disk before the folder is swapped in."""
    for name, blob in files.items():
        (folder / name).write_bytes(blob)
    for f in folder.iterdir():
        with open(f, "rb") as fh:
            os.fsync(fh.fileno())


def write_export(
    estimator: Any,
    directory: str | Path,
    metadata: Mapping[str, Any],
    card_markdown: str,
    extra_files: Mapping[str, bytes] | None = None,
    model_bytes: bytes | None = None,
    inputs: Sequence[Path] = (),
    then: Callable[[], Any] | None = None,
) -> Path:
    """Write a complete export (model, metadata, card) to ``directory`` and return it.

    The export is built in a temporary sibling and swapped in; on any failure the earlier
    export is left as it was. ``extra_files`` maps plain file names to their bytes (plots,
    reports) stored next to the model. ``model_bytes`` is ``dump_bytes(estimator)`` when the
    caller already has it (``stance train`` serialized every candidate once, in its worker).
    ``inputs`` are paths the export must neither hold nor lie in (the training data).
    ``then`` runs once the new export is in place, still under the lock (``stance train`` moves
    the registry alias there, so that concurrent trains cannot leave it on another export).
    """
    directory = Path(directory)
    check_export_dir(directory, inputs)
    with os_errors("create", directory.parent):
        directory.parent.mkdir(parents=True, exist_ok=True)
    data = model_bytes if model_bytes is not None else dump_bytes(estimator)
    for name in extra_files or {}:
        if name in (MODEL_FILE, METADATA_FILE, CARD_FILE) or Path(name).name != name or name.startswith("."):
            raise StanceError(f"invalid extra file name for the export: {name!r} (use a plain file name)")
    meta = _export_metadata(estimator, metadata, data)
    files = {
        MODEL_FILE: data,
        METADATA_FILE: (json.dumps(meta, indent=2, sort_keys=True, default=str) + "\n").encode("utf-8"),
        CARD_FILE: card_markdown.encode("utf-8"),
        **(extra_files or {}),
    }
    with export_lock(directory):
        check_export_dir(directory, inputs)  # again under the lock: another process may have written there
        tmp = new_scratch_dir(directory, "new")
        try:
            _write_files(tmp, files)
            with os_errors("write the export to", directory):
                swap_dir(tmp, directory)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if then is not None:
            then()
    return directory
