"""The on-disk sentence-vector cache: reuse across processes, concurrent writers, merging, bad files."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from training import embed_cache, encoders


def _keys(n: int, start: int = 0) -> list[bytes]:
    return [encoders.text_key(f"sentence {i}") for i in range(start, start + n)]


def _vecs(n: int, start: int = 0) -> object:
    import numpy as np

    return np.arange(start * 4, (start + n) * 4, dtype=np.float32).reshape(n, 4)


def test_put_then_get_returns_the_same_vectors_and_nothing_unknown(tmp_path: Path) -> None:
    import numpy as np

    cache = embed_cache.EmbeddingCache(tmp_path, "enc-1", 4)
    assert cache.get(_keys(3)) == {}
    cache.put(_keys(3), _vecs(3))
    got = cache.get(_keys(4))
    assert set(got) == set(_keys(3))
    assert np.array_equal(got[_keys(1, 2)[0]], np.array([8, 9, 10, 11], dtype=np.float32))
    assert [p.suffix for p in (tmp_path / "enc-1").iterdir()] == [".npz"]  # no temporary file left


def _writer(root: str, start: int) -> None:
    cache = embed_cache.EmbeddingCache(root, "enc", 4)
    for i in range(0, 40, 4):  # many small shards, overlapping with the other writer
        cache.put(_keys(4, start + i), _vecs(4, start + i))


def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np

    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), s)) for s in (0, 20)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    got = embed_cache.EmbeddingCache(tmp_path, "enc", 4).get(_keys(60))
    assert len(got) == 60
    assert all(np.array_equal(got[k], _vecs(1, i)[0]) for i, k in enumerate(_keys(60)))


def test_many_shards_are_merged_into_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embed_cache, "MAX_SHARDS", 3)
    cache = embed_cache.EmbeddingCache(tmp_path, "enc", 4)
    for i in range(4):
        cache.put(_keys(2, 2 * i), _vecs(2, 2 * i))
    assert len(cache.shards()) == 1
    assert len(cache.get(_keys(8))) == 8


def test_foreign_and_damaged_files_are_skipped_never_unpickled(tmp_path: Path) -> None:
    import numpy as np

    folder = tmp_path / "enc"
    folder.mkdir()
    (folder / "0-damaged.npz").write_bytes(b"not a zip file")
    with open(folder / "1-objects.npz", "wb") as fh:  # object arrays need pickle to load
        np.savez(fh, keys=np.array([object()], dtype=object), vectors=np.zeros((1, 4)))
    with open(folder / "2-shape.npz", "wb") as fh:
        np.savez(fh, keys=np.array(_keys(1), dtype="S32"), vectors=np.zeros((1, 5), dtype=np.float32))
    cache = embed_cache.EmbeddingCache(tmp_path, "enc", 4)
    assert cache.get(_keys(1)) == {}
    cache.put(_keys(1), _vecs(1))
    assert len(cache.get(_keys(1))) == 1


def test_embed_encodes_each_sentence_once_across_processes_through_the_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import numpy as np

    calls: list[int] = []
    real = encoders._raw

    def counting(name: str, texts: list[str], batch_size: int, backend: str = "torch") -> object:
        calls.append(len(texts))
        return real(name, texts, batch_size, backend)

    monkeypatch.setattr(encoders, "_raw", counting)
    monkeypatch.setitem(encoders._STATE, "memory", {})
    encoders.use_cache(tmp_path)
    try:
        first = encoders.embed("hashing", ["a b", "c d", "a b"])
        assert calls == [2]  # the repeated sentence is encoded once
        monkeypatch.setitem(encoders._STATE, "memory", {})  # as a new process would start
        again = encoders.embed("hashing", ["c d", "a b", "e f"])
        assert calls == [2, 1]
        assert np.array_equal(again[:2], first[[1, 0]])
        with encoders.uncached():  # for speed measurements: no cache at all
            encoders.embed("hashing", ["a b"])
        assert calls == [2, 1, 1]
        folders = [p.name for p in tmp_path.iterdir()]
        assert folders == [f"hashing-{encoders.weights_sha256('hashing')[:16]}"]
    finally:
        encoders.use_cache(None)


def test_an_unwritable_cache_costs_speed_not_results(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    cache = embed_cache.EmbeddingCache(blocker, "enc", 4)  # a folder under a file cannot be made
    assert cache.put(_keys(1), _vecs(1)) is None
    assert cache.get(_keys(1)) == {}
