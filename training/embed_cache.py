"""An on-disk cache of sentence vectors, shared by every process that encodes the same sentences.

One folder per encoder identity (name plus the first 16 hex digits of its weights' sha256),
holding shard files ``<time>-<pid>-<random>.npz``, each with two arrays: ``keys`` (the sha256 of
each sentence's UTF-8 bytes, 32 bytes each) and ``vectors`` (float32). A shard is written once
under a temporary name and renamed into place (:func:`training.atomic.atomic_file`), and never
changed afterwards, so any number of processes can read and add at the same time without a
lock: a reader sees whole shards only, two writers write two shards, and a sentence written
twice has the same vector in both. Shards are read with ``allow_pickle=False``: a cache file
cannot make the reader run code. When a folder holds more than :data:`MAX_SHARDS` shards, the
writer that notices merges them into one under a file lock.
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from training.atomic import atomic_file

log = logging.getLogger(__name__)

MAX_SHARDS = 32
KEY_BYTES = 32


class EmbeddingCache:
    """The shards of one encoder in ``root``; :meth:`get` and :meth:`put` by sentence key."""

    def __init__(self, root: str | Path, ident: str, dim: int) -> None:
        self.folder = Path(root) / ident
        self.dim = dim

    def shards(self) -> list[Path]:
        """Shard files present now, oldest first."""
        if not self.folder.is_dir():
            return []
        return sorted(p for p in self.folder.iterdir() if p.suffix == ".npz" and not p.name.startswith("."))

    def _read(self, path: Path) -> tuple[Any, Any] | None:
        import numpy as np

        try:
            with np.load(path, allow_pickle=False) as z:
                keys, vecs = z["keys"], z["vectors"]
        except FileNotFoundError:  # merged away meanwhile: its rows are encoded again at worst
            return None
        except Exception as exc:
            log.warning("skipping unreadable embedding cache file %s: %s", path, exc)
            return None
        if keys.dtype != np.dtype(f"S{KEY_BYTES}") or vecs.shape != (len(keys), self.dim):
            log.warning("skipping embedding cache file %s: unexpected shape", path)
            return None
        return keys, vecs

    def get(self, keys: Sequence[bytes]) -> dict[bytes, Any]:
        """Vectors of those ``keys`` that some shard holds."""
        wanted = set(keys)
        found: dict[bytes, Any] = {}
        for path in self.shards():
            got = self._read(path)
            if got is None:
                continue
            for k, v in zip(got[0].tolist(), got[1]):
                if k in wanted and k not in found:
                    found[k] = v
            if len(found) == len(wanted):
                break
        return found

    def put(self, keys: Sequence[bytes], vectors: Any) -> Path | None:
        """Add one shard with ``keys`` and their ``vectors``; merge shards when there are many.

        A cache that cannot be written (read-only folder, full disk) costs speed, not
        correctness: the failure is logged and the vectors are still returned to the caller.
        """
        import numpy as np

        if not len(keys):
            return None
        name = f"{os.getpid()}-{uuid.uuid4().hex[:12]}.npz"
        path = self.folder / f"{_stamp()}-{name}"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            _write(path, np.array(list(keys), dtype=f"S{KEY_BYTES}"), np.asarray(vectors, dtype=np.float32))
            if len(self.shards()) > MAX_SHARDS:
                self.merge()
        except OSError as exc:
            log.warning("could not write the embedding cache %s: %s", self.folder, exc)
            return None
        return path

    def merge(self) -> None:
        """Replace every shard by one holding all their rows (one merger at a time)."""
        import numpy as np
        from filelock import FileLock, Timeout

        try:
            with FileLock(str(self.folder / ".merge.lock"), timeout=0):
                old = self.shards()
                rows: dict[bytes, Any] = {}
                for path in old:
                    got = self._read(path)
                    if got is not None:
                        rows.update(zip(got[0].tolist(), got[1]))
                if not rows:
                    return
                merged = self.folder / f"{_stamp()}-{os.getpid()}-merged-{uuid.uuid4().hex[:8]}.npz"
                _write(merged, np.array(list(rows), dtype=f"S{KEY_BYTES}"), np.stack(list(rows.values())))
                for path in old:
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()
        except Timeout:  # another process is merging
            return


def _stamp() -> str:
    import time

    return f"{time.time_ns():020d}"


def _write(path: Path, keys: Any, vectors: Any) -> None:
    import numpy as np

    with atomic_file(path, binary=True) as fh:
        np.savez(fh, keys=keys, vectors=vectors)
