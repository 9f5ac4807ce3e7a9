"""Running sentence encoders: the only module that imports torch and sentence-transformers.

:mod:`training.encoders` decides what to encode (registry, identity, caches); this module does
the encoding. Models are loaded once per process from their package folder with the Hugging
Face libraries told to stay offline, and run on the CPU with a controlled number of threads.
"""

from __future__ import annotations

import contextlib
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


def offline() -> None:
    """Tell the Hugging Face libraries never to reach the network."""
    for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        os.environ[key] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def quiet_hf() -> None:
    """Keep the Hugging Face libraries' own logging and progress bars off standard error."""
    import logging

    for noisy in ("sentence_transformers", "transformers"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    with contextlib.suppress(ImportError, AttributeError):
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # its "Loading weights" bar; ours shows the encoding


def load(name: str, folder: Path) -> Any:
    """The sentence-transformers model ``name`` in ``folder``, loaded once per process, offline."""
    if name not in _MODELS:
        offline()
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise StanceError(f"encoder '{name}' needs sentence-transformers (pip install sentence-transformers torch)") from None
        quiet_hf()
        _MODELS[name] = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    return _MODELS[name]


_WORD = re.compile(r"\w+")


def hashing(texts: Sequence[str], dim: int) -> Any:
    """Signed hashing of lower-cased words and word pairs, L2-normalised (deterministic across processes)."""
    import numpy as np

    out = np.zeros((len(texts), dim), dtype=np.float32)
    for i, text in enumerate(texts):
        words = _WORD.findall(text.lower())
        for tok in words + [f"{a} {b}" for a, b in zip(words, words[1:])]:
            h = zlib.crc32(tok.encode())
            out[i, h % dim] += 1.0 if (h >> 16) & 1 else -1.0
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms > 0, norms, 1.0)


def neural(name: str, folder: Path, texts: Sequence[str], dim: int, batch_size: int) -> Any:
    """Encode ``texts`` with the encoder in ``folder``, shortest first, with a progress bar on a terminal."""
    import numpy as np

    model = load(name, folder)
    import torch

    if _THREADS["default"] is None:
        _THREADS["default"] = torch.get_num_threads()
    torch.set_num_threads(int(_THREADS["block"] or _THREADS["default"]))
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = np.zeros((len(texts), dim), dtype=np.float32)
    quiet = len(texts) <= batch_size or not sys.stderr.isatty()
    from tqdm import tqdm

    with tqdm(total=len(texts), desc=f"encoding ({name})", unit=" sentences", file=sys.stderr, disable=quiet) as bar:
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            with torch.inference_mode():
                vecs = model.encode([texts[i] for i in rows], batch_size=batch_size, convert_to_numpy=True,
                                    normalize_embeddings=True, show_progress_bar=False)
            out[rows] = vecs
            bar.update(len(rows))
    return out
