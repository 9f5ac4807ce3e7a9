"""Saving and loading models: the only code that writes ``models/``.

Models are stored with skops, never pickle, and a file is only loaded when every type it
names is on :data:`TRUSTED_TYPES`. The check reads the file's JSON schema before skops
builds anything, so a file naming a foreign function or class is refused with none of its
content turned into objects. An export directory holds::

    model.skops     the fitted estimator
    metadata.json   the caller's metadata plus sha256 of model.skops, labels, library versions
    README.md       the model card

and is replaced as a whole: it is built in a hidden sibling directory and swapped in, so the
previous export survives any failure.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import platform
import shutil
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

from training import jsonl
from training.atomic import atomic_file, claim_output_dir, new_scratch_dir, os_errors, swap_dir
from training.errors import StanceError

log = logging.getLogger(__name__)

MODEL_FILE = "model.skops"
METADATA_FILE = "metadata.json"
CARD_FILE = "README.md"
DEFAULT_EXPORT = Path("models/stance-classifier")

# Every type a model file may name, by full import path. skops trusts all scikit-learn
# estimators by default; this list is narrower on purpose: a file naming anything else is
# refused, even a scikit-learn class we never use. Private module paths follow the installed
# scikit-learn; a new release that moves a class shows up as a clear refusal at save time.
TRUSTED_TYPES: list[str] = [
    # containers and primitives the skops schema uses
    "builtins.dict",
    "builtins.list",
    "builtins.tuple",
    "builtins.str",
    "builtins.int",
    "builtins.float",
    "builtins.bool",
    "builtins.NoneType",
    "builtins.slice",
    # numpy arrays, scalar types and random generators (seeded estimators keep them)
    "numpy.ndarray",
    "numpy.dtype",
    "numpy.bool_",
    "numpy.int8",
    "numpy.int16",
    "numpy.int32",
    "numpy.int64",
    "numpy.uint8",
    "numpy.uint16",
    "numpy.uint32",
    "numpy.uint64",
    "numpy.float16",
    "numpy.float32",
    "numpy.float64",
    "numpy.str_",
    "numpy.random._generator.Generator",
    "numpy.random._pcg64.PCG64",
    "numpy.random._mt19937.MT19937",
    "numpy.random.bit_generator.SeedSequence",
    "numpy.random.mtrand.RandomState",
    "scipy.sparse._csr.csr_matrix",
    "scipy.sparse._csc.csc_matrix",
    # pipelines and text features
    "sklearn.pipeline.Pipeline",
    "sklearn.pipeline.FeatureUnion",
    "sklearn.feature_extraction.text.TfidfVectorizer",
    "sklearn.feature_extraction.text.TfidfTransformer",
    "sklearn.feature_extraction.text.CountVectorizer",
    "sklearn.decomposition._truncated_svd.TruncatedSVD",
    "sklearn.preprocessing._data.Normalizer",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.preprocessing._data.MaxAbsScaler",
    "sklearn.preprocessing._label.LabelEncoder",
    "sklearn.preprocessing._label.LabelBinarizer",
    # linear models
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.linear_model._stochastic_gradient.SGDClassifier",
    "sklearn.linear_model._sgd_fast.Hinge",
    "sklearn.linear_model._sgd_fast.ModifiedHuber",
    "sklearn.linear_model._sgd_fast.Log",
    "sklearn.linear_model._sgd_fast.SquaredHinge",
    "sklearn.linear_model._ridge.RidgeClassifier",
    "sklearn.svm._classes.LinearSVC",
    # calibration and its internals
    "sklearn.calibration.CalibratedClassifierCV",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.calibration._TemperatureScaling",
    "sklearn.isotonic.IsotonicRegression",
    # naive Bayes, neighbours, baselines
    "sklearn.naive_bayes.ComplementNB",
    "sklearn.naive_bayes.MultinomialNB",
    "sklearn.neighbors._classification.KNeighborsClassifier",
    "sklearn.dummy.DummyClassifier",
    # trees and ensembles
    "sklearn.tree._classes.DecisionTreeClassifier",
    "sklearn.tree._classes.ExtraTreeClassifier",
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._forest.RandomForestClassifier",
    "sklearn.ensemble._forest.ExtraTreesClassifier",
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.ensemble._voting.VotingClassifier",
    "sklearn.utils._bunch.Bunch",  # a dict with attribute access (the vote's named members)
    "sklearn._loss.loss.HalfBinomialLoss",
    "sklearn._loss.loss.HalfMultinomialLoss",
    "sklearn._loss._loss.CyHalfBinomialLoss",
    "sklearn._loss._loss.CyHalfMultinomialLoss",
    "sklearn._loss.link.Interval",
    "sklearn._loss.link.LogitLink",
    "sklearn._loss.link.MultinomialLogit",
    # our own transformers (added by the modules that define them)
    "training.classifiers.TextColumn",
    "training.classifiers.NegationScopeMarker",
    "training.classifiers.CompactTfidfVectorizer",
    "training.rules.RuleClassifier",
    "training.encoders.SentenceEmbedder",  # stores the encoder's name and weights sha256, not the weights
    "training.finetune.FineTunedEncoder",  # tuned layers and head as numpy arrays, the rest by reference
]

_TRUSTED = frozenset(TRUSTED_TYPES)


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks so large models need little memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _read_schema(zf: zipfile.ZipFile, where: str) -> tuple[Any, set[str]]:
    """Parse ``schema.json`` once, collecting every ``module.class`` it names on the way.

    The names are gathered by the JSON decoder's object hook, which sees every object in the
    document wherever it sits, so no type can hide under a key skops does not read.
    """
    found: set[str] = set()

    def note(obj: dict[str, Any]) -> dict[str, Any]:
        module = obj.get("__module__")
        if module is not None or "__class__" in obj:
            cls = obj.get("__class__")
            # a malformed pair is recorded in a form that is never on the trusted list
            found.add(f"{module}.{cls}" if isinstance(module, str) and isinstance(cls, str) else f"{module!r}.{cls!r}")
        return obj

    try:
        schema = json.loads(zf.read("schema.json"), object_hook=note)
    except (KeyError, json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise StanceError(f"not a skops model file: {where} (export the model again with `stance train`)") from None
    return schema, found


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


# A skops file holds numeric arrays and a JSON schema, which compress a few times over at most;
# a declared size far beyond that is a zip bomb, refused before a byte of it is unpacked.
MAX_UNPACKED_RATIO = 100
MIN_UNPACKED_LIMIT = 256 << 20


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


def untrusted_types(source: Path | bytes, where: str | None = None) -> list[str]:
    """Types named in a skops file (path or bytes) that are not on :data:`TRUSTED_TYPES`.

    This reads the schema as plain JSON and sees every type, including the ones skops would
    trust by default. Nothing from the file is imported or built.
    """
    where = where or (str(source) if isinstance(source, Path) else "<bytes>")
    with _open_zip(source, where) as zf:
        _, found = _read_schema(zf, where)
    return sorted(found - _TRUSTED)


def _refuse(bad: Sequence[str], where: str) -> StanceError:
    return StanceError(
        f"untrusted types in model file {where}: {', '.join(bad)} "
        "(refused without loading it; only use models exported by `stance train`, or review these "
        "types and add them to training.persistence.TRUSTED_TYPES)"
    )


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
    import skops.io as sio

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
            "(add them to TRUSTED_TYPES once reviewed as safe to load)"
        )
    return data


def save_model_file(estimator: Any, path: str | Path) -> Path:
    """Write ``estimator`` to ``path`` as a skops file, atomically."""
    path = Path(path)
    data = dump_bytes(estimator)
    with atomic_file(path, binary=True) as fh:
        fh.write(data)
    return path


def load_model_file(path: str | Path) -> Any:
    """Load a skops file whose types are all on :data:`TRUSTED_TYPES`; refuse anything else.

    Two checks run before any object is built: every type the schema names must be on our
    list, and skops' own audit (``get_untrusted_types`` minus the trusted list must be empty)
    must pass. The schema is parsed once and shared by both, which matters for large
    vocabularies where parsing is a good part of the load time.
    """
    path = Path(path)
    where = str(path)
    if not path.is_file():
        raise StanceError(f"model file not found: {path} (train a model with `stance train` or pass --model)")
    with _open_zip(path, where) as zf:
        schema, found = _read_schema(zf, where)
        bad = sorted(found - _TRUSTED)
        if bad:
            raise _refuse(bad, where)
        return _build(zf, schema, where)


def _build(zf: zipfile.ZipFile, schema: Any, where: str) -> Any:
    """Audit and construct a parsed skops schema with skops' own node classes.

    This is ``skops.io.load`` without its second parse of the schema: the tree is built with
    our trusted list, its unsafe set (what ``get_untrusted_types`` reports, minus our list)
    must be empty, and only then is anything constructed.
    """
    from skops.io._audit import get_tree
    from skops.io._protocol import PROTOCOL
    from skops.io._utils import LoadContext

    protocol = schema.get("protocol") if isinstance(schema, dict) else None
    # the same validation skops applies in read_schema: the protocol picks the node classes
    if isinstance(protocol, bool) or not isinstance(protocol, int) or not 0 <= protocol <= PROTOCOL:
        raise StanceError(f"unsupported skops protocol {protocol!r} in {where} (export the model again)")
    try:
        tree = get_tree(schema, LoadContext(src=zf, protocol=protocol), trusted=TRUSTED_TYPES)
        unsafe = sorted(tree.get_unsafe_set() - _TRUSTED)
    except Exception as exc:  # skops raises many types on a corrupt schema; one line for the user
        raise StanceError(
            f"corrupt skops model file: {where}: {type(exc).__name__}: {exc} (export the model again)"
        ) from None
    if unsafe:
        raise _refuse(unsafe, where)
    try:
        return tree.construct()
    except Exception as exc:  # a corrupt array or attribute; the type checks already passed
        raise StanceError(
            f"cannot load model file {where}: {type(exc).__name__}: {exc} (export the model again)"
        ) from None


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


EXPORT_LOCK_TIMEOUT = 120.0  # seconds; another train holds the lock only while it swaps its export in


@contextlib.contextmanager
def _export_lock(directory: Path, timeout: float | None = None) -> Iterator[None]:
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
    reserved = {MODEL_FILE, METADATA_FILE, CARD_FILE}
    for name in extra_files or {}:
        if name in reserved or Path(name).name != name or name.startswith("."):
            raise StanceError(f"invalid extra file name for the export: {name!r} (use a plain file name)")
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
    from training.encoders import referenced

    if refs := referenced(estimator):  # encoder weights are referenced by sha256, not copied (read_export checks)
        meta["encoders"] = refs
    with _export_lock(directory):
        check_export_dir(directory, inputs)  # again under the lock: another process may have written there
        tmp = new_scratch_dir(directory, "new")
        try:
            (tmp / MODEL_FILE).write_bytes(data)
            (tmp / METADATA_FILE).write_text(
                json.dumps(meta, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8"
            )
            (tmp / CARD_FILE).write_text(card_markdown, encoding="utf-8")
            for name, blob in (extra_files or {}).items():
                (tmp / name).write_bytes(blob)
            for f in tmp.iterdir():
                with open(f, "rb") as fh:
                    os.fsync(fh.fileno())
            with os_errors("write the export to", directory):
                swap_dir(tmp, directory)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if then is not None:
            then()
    return directory


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


def read_export(directory: str | Path) -> tuple[Any, dict[str, Any]]:
    """Load an export after checking that ``model.skops`` matches the sha256 in its metadata."""
    directory = Path(directory)
    meta = read_metadata(directory)
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
    estimator = load_model_file(model_path)
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
