"""Reading models: the type check before anything is built, sha256-checked exports, metadata.

A skops file is only loaded when every type it names is trusted (:mod:`training.persistence.trust`).
The check reads the file's JSON schema before skops builds anything, so a file naming a foreign
function or class is refused with none of its content turned into objects.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import zipfile
from collections.abc import Mapping, Sequence
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

from training import jsonl
from training.errors import StanceError
from training.persistence.trust import untrusted

log = logging.getLogger(__name__)

MODEL_FILE = "model.skops"
METADATA_FILE = "metadata.json"
CARD_FILE = "README.md"
DEFAULT_EXPORT = Path("models/stance-classifier")

# A skops file holds numeric arrays and a JSON schema, which compress a few times over at most;
# a declared size far beyond that is a zip bomb, refused before a byte of it is unpacked.
MAX_UNPACKED_RATIO = 100
MIN_UNPACKED_LIMIT = 256 << 20


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks so large models need little memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _schema_types(zf: zipfile.ZipFile, where: str) -> set[str]:
    """Every ``module.class`` that ``schema.json`` names.

    The names are gathered by the JSON decoder's object hook, which sees every object in the
    document wherever it sits, so no type can hide under a key skops does not read.
    """
    found: set[str] = set()

    def note(obj: dict[str, Any]) -> dict[str, Any]:
        module = obj.get("__module__")
        if module is not None or "__class__" in obj:
            cls = obj.get("__class__")
            # a malformed pair is recorded in a form that is never trusted
            found.add(f"{module}.{cls}" if isinstance(module, str) and isinstance(cls, str) else f"{module!r}.{cls!r}")
        return obj

    try:
        json.loads(zf.read("schema.json"), object_hook=note)
    except (KeyError, json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise StanceError(f"not a skops model file: {where} (export the model again with `stance train`)") from None
    return found


def _open_zip(source: Path | bytes, where: str) -> zipfile.ZipFile:
    try:
        zf = zipfile.ZipFile(source if isinstance(source, Path) else io.BytesIO(source))
        _check_unpacked_size(zf, source.stat().st_size if isinstance(source, Path) else len(source), where)
        return zf
    except FileNotFoundError:
        raise StanceError(
            f"model file not found: {where} (train a model with `stance train` or pass --model)"
        ) from None
    except zipfile.BadZipFile:
        raise StanceError(f"not a skops model file: {where} (export the model again with `stance train`)") from None
    except OSError as exc:
        raise StanceError(f"cannot read model file {where}: {exc.strerror}") from None


def _check_unpacked_size(zf: zipfile.ZipFile, packed: int, where: str) -> None:
    """Refuse an archive whose declared unpacked size is out of proportion to its size on disk."""
    declared = sum(info.file_size for info in zf.infolist())
    limit = max(MIN_UNPACKED_LIMIT, MAX_UNPACKED_RATIO * packed)
    if declared > limit:
        zf.close()
        raise StanceError(
            f"model file too large when unpacked: {where} declares {declared:,} bytes from {packed:,} "
            f"(over the limit of {limit:,}; refused without unpacking it)"
        )


def _types_in(source: Path | bytes, where: str) -> set[str]:
    with _open_zip(source, where) as zf:
        return _schema_types(zf, where)


def untrusted_types(source: Path | bytes, where: str | None = None) -> list[str]:
    """Types named in a skops file (path or bytes) that are not trusted.

    This reads the schema as plain JSON and sees every type, including the ones skops would
    trust by default. Nothing from the file is imported or built.
    """
    where = where or (str(source) if isinstance(source, Path) else "<bytes>")
    return untrusted(_types_in(source, where))


def refusal(bad: Sequence[str], where: str) -> StanceError:
    """The one-line error for a model file naming untrusted types."""
    return StanceError(
        f"untrusted types in model file {where}: {', '.join(bad)} "
        "(refused without loading it; only use models exported by `stance train`, or review these "
        "types and trust their classes in training.persistence.trust)"
    )


def load_model_file(path: str | Path) -> Any:
    """Load a skops file whose types are all trusted; refuse anything else.

    Two checks run before any object is built: every type the schema names must be trusted, and
    skops' own audit must pass with those names as its trusted list.
    """
    from training.persistence.skops_import import skops_io

    sio = skops_io()  # before any other skops name: see skops_import
    from skops.io.exceptions import UntrustedTypesFoundException

    path = Path(path)
    where = str(path)
    if not path.is_file():
        raise StanceError(f"model file not found: {path} (train a model with `stance train` or pass --model)")
    try:
        data = path.read_bytes()  # checked and loaded from the same bytes, whatever happens to the file
    except OSError as exc:
        raise StanceError(f"cannot read model file {where}: {exc.strerror}") from None
    found = _types_in(data, where)
    bad = untrusted(found)
    if bad:
        raise refusal(bad, where)
    try:
        return sio.load(io.BytesIO(data), trusted=sorted(found))
    except UntrustedTypesFoundException:  # a type skops names in a form our reading does not see
        raise refusal(sorted(set(sio.get_untrusted_types(data=data)) - found), where) from None
    except Exception as exc:  # skops raises many types on a corrupt file; one line for the user
        raise StanceError(
            f"cannot load model file {where}: {type(exc).__name__}: {exc} (export the model again)"
        ) from None


def read_metadata(directory: str | Path) -> dict[str, Any]:
    """Read an export's ``metadata.json`` (no model loading)."""
    directory = Path(directory)
    if not directory.exists():
        raise StanceError(f"model not found: {directory} (train one with `stance train` or pass --model PATH|URI)")
    if not directory.is_dir():
        raise StanceError(
            f"not a model export directory: {directory} (pass the folder holding {MODEL_FILE} and {METADATA_FILE})"
        )
    meta_path = directory / METADATA_FILE
    try:
        meta = jsonl.strict_loads(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StanceError(
            f"incomplete model export: {meta_path} is missing (export the model again with `stance train`)"
        ) from None
    except (OSError, ValueError) as exc:  # UnicodeDecodeError, JSONDecodeError and NaN/Infinity are ValueErrors
        raise StanceError(f"unreadable model metadata: {meta_path}: {exc} (export the model again)") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("sha256"), str):
        raise StanceError(f"invalid model metadata: {meta_path} has no sha256 (export the model again)")
    return meta


def _checked_model_path(directory: Path, meta: Mapping[str, Any]) -> Path:
    """The export's model file, refused if it lies outside the folder or differs from the recorded sha256."""
    name = meta.get("model_file", MODEL_FILE)
    if not isinstance(name, str) or Path(name).name != name or name in ("", ".", ".."):
        raise StanceError(
            f"invalid model metadata: {directory / METADATA_FILE} names model_file {name!r} outside "
            "the export folder (refused; export the model again with `stance train`)"
        )
    model_path = directory / name
    if not model_path.is_file():
        raise StanceError(
            f"incomplete model export: {model_path} is missing (export the model again with `stance train`)"
        )
    actual = sha256_file(model_path)
    if actual != meta["sha256"]:
        raise StanceError(
            f"model file was modified: {model_path} has sha256 {actual[:12]}..., metadata.json records "
            f"{meta['sha256'][:12]}... (refused; export the model again with `stance train`)"
        )
    return model_path


def read_export(directory: str | Path) -> tuple[Any, dict[str, Any]]:
    """Load an export after checking that ``model.skops`` matches the sha256 in its metadata."""
    directory = Path(directory)
    meta = read_metadata(directory)
    estimator = load_model_file(_checked_model_path(directory, meta))
    from training.encoders import verify_export

    verify_export(estimator, meta, str(directory))  # referenced encoder weights: sha256 as recorded
    _warn_versions(meta, directory)
    return estimator, meta


def _warn_versions(meta: Mapping[str, Any], directory: Path) -> None:
    saved = meta.get("libraries") or {}
    if not isinstance(saved, dict):
        return
    for dist in ("scikit-learn", "skops"):
        want = saved.get(dist)
        try:
            have = importlib_metadata.version(dist)
        except importlib_metadata.PackageNotFoundError:
            continue
        if want and want != have:
            # Not fatal: minor releases usually read older models, but results may shift.
            log.warning("model %s was saved with %s %s; %s is installed", directory, dist, want, have)
