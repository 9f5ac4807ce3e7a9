"""Running sentence encoders: loading them offline and encoding with sentence-transformers.

:mod:`training.encoders` decides what to encode (registry, identity, caches); this module does
the encoding. Models are loaded once per process from their package folder with the Hugging
Face libraries told to stay offline, and run on the CPU with a controlled number of threads.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import sys
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from training.errors import StanceError

_MODELS: dict[str, Any] = {}
_THREADS: dict[str, int | None] = {"block": None, "default": None}


@contextlib.contextmanager
def threads(n: int | None) -> Iterator[None]:
    """CPU threads torch may use for encoding inside the block (``None``: the process default)."""
    saved = _THREADS["block"]
    _THREADS["block"] = n
    try:
        yield
    finally:
        _THREADS["block"] = saved


def set_default_threads(n: int) -> None:
    """Threads torch uses outside :func:`threads` blocks in this process (a worker sharing the cores)."""
    _THREADS["default"] = n


def apply_threads() -> None:
    """Give torch the thread count in force (a :func:`threads` block, else this process's default)."""
    import torch

    if _THREADS["default"] is None:
        _THREADS["default"] = torch.get_num_threads()
    torch.set_num_threads(_THREADS["block"] or _THREADS["default"] or 1)


def offline() -> None:
    """Tell the Hugging Face libraries never to reach the network."""
    for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        os.environ[key] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def quiet_hf() -> None:
    """Keep the Hugging Face libraries' own logging and progress bars off standard error."""
    import logging

    with contextlib.suppress(ImportError, AttributeError):
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # its "Loading weights" bar; ours shows the encoding
    # after that import: its first import sets the transformers logger's level itself
    for noisy in ("sentence_transformers", "transformers"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


def load(name: str, folder: Path) -> Any:
    """The sentence-transformers model ``name`` in ``folder``, loaded once per process, offline."""
    if name not in _MODELS:
        offline()
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise StanceError(
                f"encoder '{name}' needs sentence-transformers (pip install sentence-transformers torch)"
            ) from None
        quiet_hf()
        try:
            _MODELS[name] = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
        except (OSError, ValueError) as exc:  # a folder without the model's files
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            raise StanceError(
                f"encoder '{name}' cannot be loaded from {folder} ({first}; reinstall its package)"
            ) from None
    return _MODELS[name]


_WORD = re.compile(r"\w+")


def hashing(texts: Sequence[str], dim: int) -> Any:
    """Signed hashing of lower-cased words and word pairs, L2-normalised (deterministic across processes)."""
    import numpy as np

    out = np.zeros((len(texts), dim), dtype=np.float32)
    for i, text in enumerate(texts):
        words = _WORD.findall(text.lower())
        for tok in words + [f"{a} {b}" for a, b in itertools.pairwise(words)]:
            h = zlib.crc32(tok.encode())
            out[i, h % dim] += 1.0 if (h >> 16) & 1 else -1.0
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms > 0, norms, 1.0)


def neural(name: str, folder: Path, texts: Sequence[str], dim: int, batch_size: int) -> Any:
    """Encode ``texts`` with the encoder in ``folder``, shortest first, with a progress bar on a terminal."""
    import numpy as np

    model = load(name, folder)
    import torch

    apply_threads()
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = np.zeros((len(texts), dim), dtype=np.float32)
    quiet = len(texts) <= batch_size or not sys.stderr.isatty()
    from tqdm import tqdm

    with tqdm(total=len(texts), desc=f"encoding ({name})", unit=" sentences", file=sys.stderr, disable=quiet) as bar:
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            with torch.inference_mode():
                vecs = model.encode(
                    [texts[i] for i in rows],
                    batch_size=batch_size,
                    convert_to_numpy=True,
                    normalize_embeddings=True,
                    show_progress_bar=False,
                )
            out[rows] = vecs
            bar.update(len(rows))
    return out


# ---------------------------------------------------------------- ONNX Runtime

ONNX_ENV = "STANCE_ONNX_DIR"
_SESSIONS: dict[str, Any] = {}


def onnx_folder() -> Path:
    """Where ONNX exports of the installed encoders are kept (``$STANCE_ONNX_DIR``, else ~/.cache/stance/onnx)."""
    return Path(os.environ.get(ONNX_ENV) or Path.home() / ".cache" / "stance" / "onnx")


def export_onnx(folder: Path, path: Path) -> Path:
    """Export the transformer in ``folder`` to ONNX at ``path`` (token states out), written atomically.

    Needs torch, transformers and the ``onnx`` package once; afterwards ONNX Runtime alone runs it.
    """
    import tempfile

    offline()
    quiet_hf()
    try:
        import torch
        from transformers import AutoModel, AutoTokenizer
    except ImportError:
        raise StanceError(
            "exporting an encoder to ONNX needs torch and transformers (pip install torch transformers)"
        ) from None

    tok = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    model = AutoModel.from_pretrained(str(folder), local_files_only=True).eval()

    class Hidden(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, ids: Any, mask: Any, types: Any) -> Any:
            return self.inner(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state

    enc = tok(["a first example", "and a second, longer example sentence"], padding=True, return_tensors="pt")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        import warnings

        with warnings.catch_warnings():  # the tracer's notes on shapes, not problems of ours
            warnings.simplefilter("ignore")
            torch.onnx.export(
                Hidden(model),
                (enc["input_ids"], enc["attention_mask"], enc["token_type_ids"]),
                tmp,
                input_names=["ids", "mask", "types"],
                output_names=["hidden"],
                opset_version=17,
                dynamic_axes={n: {0: "batch", 1: "tokens"} for n in ("ids", "mask", "types", "hidden")},
                dynamo=False,
            )
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def _session(name: str, folder: Path, ident: str) -> tuple[Any, Any, int]:
    """Tokenizer, ONNX Runtime session and maximum length of encoder ``ident``, made once per process."""
    if ident not in _SESSIONS:
        import json

        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError:
            raise StanceError(
                f"encoder '{name}' with backend onnx needs onnxruntime (pip install onnxruntime onnx)"
            ) from None
        path = onnx_folder() / f"{ident}.onnx"
        if not path.is_file():
            export_onnx(folder, path)
        config = folder / "sentence_bert_config.json"
        limit = int(json.loads(config.read_text()).get("max_seq_length", 256)) if config.is_file() else 256
        tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tok.enable_truncation(limit)
        tok.enable_padding()
        opts = ort.SessionOptions()
        opts.inter_op_num_threads = 1
        opts.intra_op_num_threads = int(_THREADS["block"] or _THREADS["default"] or _cores())
        _SESSIONS[ident] = (tok, ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"]), limit)
    return _SESSIONS[ident]


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def onnx(name: str, folder: Path, ident: str, texts: Sequence[str], dim: int, batch_size: int) -> Any:
    """Encode ``texts`` like :func:`neural` (mean of token states, L2-normalised), with ONNX Runtime."""
    import numpy as np

    tok, sess, _ = _session(name, folder, ident)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = np.zeros((len(texts), dim), dtype=np.float32)
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        enc = tok.encode_batch([texts[i] for i in rows])
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        hidden = sess.run(None, {"ids": ids, "mask": mask, "types": np.zeros_like(ids)})[0]
        vec = (hidden * mask[..., None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1)
        out[rows] = vec / np.maximum(np.linalg.norm(vec, axis=1, keepdims=True), 1e-12)
    return out
