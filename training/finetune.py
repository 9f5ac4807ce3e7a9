"""A sentence encoder fine-tuned end to end with a classification head, as a scikit-learn classifier.

:class:`FineTunedEncoder` reads sentences, mean-pools the encoder's token vectors and applies a
linear head; ``fit`` trains the head and the top ``train_layers`` transformer layers with
AdamW on class-balanced cross-entropy (plain PyTorch), the lower layers staying as shipped.
Everything is seeded: the same data and seed give the same model on the same machine.

What a model file keeps is plain data: the head and the tuned layers as numpy arrays, the
encoder's name and the sha256 of its weights. Loading builds the network from the installed
encoder package (checked against that sha256) and puts the tuned arrays back, so no torch
object is ever deserialized. The frozen lower layers give the same output for a sentence every
time, so that output is computed once per sentence and process and reused by every fit (every
CV fold) and by prediction.

This module imports scikit-learn at the top, so nothing imports it at start-up: the registry's
builder and the model loaders import it when they build or load a model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sklearn.base import BaseEstimator, ClassifierMixin

from training import encoders

_NETS: dict[str, Any] = {}  # encoder name -> (tokenizer, base model), loaded once per process
_LOWER: dict[tuple[str, int, int, bytes], Any] = {}  # (encoder, frozen layers, max length, text key) -> states


def _base(name: str) -> tuple[Any, Any]:
    """The tokenizer and the plain transformer of ``name``, loaded offline from its package."""
    if name not in _NETS:
        encoders.require(name)
        from training import encoder_runtime

        encoder_runtime.offline()
        encoder_runtime.quiet_hf()
        from transformers import AutoModel, AutoTokenizer

        folder = str(encoders.model_dir(name))
        _NETS[name] = (
            AutoTokenizer.from_pretrained(folder, local_files_only=True),
            AutoModel.from_pretrained(folder, local_files_only=True).eval(),
        )
    return _NETS[name]


def _layers(model: Any) -> Any:
    return model.encoder.layer


def _lower_states(name: str, texts: Sequence[str], frozen: int, max_length: int, keep: bool) -> list[Any]:
    """Token states of each sentence after the ``frozen`` lower layers.

    With ``keep`` new states are cached for later fits (training sentences); prediction only
    reads the cache, so labelling a large file does not fill memory.
    """
    import torch

    tok, model = _base(name)
    keys = [(name, frozen, max_length, encoders.text_key(t)) for t in texts]
    todo = [i for i, k in enumerate(keys) if k not in _LOWER]
    fresh: dict[int, Any] = {}
    with torch.inference_mode():
        for start in range(0, len(todo), 64):
            rows = todo[start : start + 64]
            enc = tok(
                [texts[i] for i in rows], padding=True, truncation=True, max_length=max_length, return_tensors="pt"
            )
            out = model(**enc, output_hidden_states=True)
            states = out.hidden_states[frozen]
            for j, i in enumerate(rows):
                n = int(enc["attention_mask"][j].sum())
                fresh[i] = states[j, :n].clone()
                if keep:
                    _LOWER[keys[i]] = fresh[i]
    return [fresh[i] if i in fresh else _LOWER[k] for i, k in enumerate(keys)]


def _batch(states: list[Any]) -> tuple[Any, Any]:
    """Pad per-sentence states into one ``(batch, length, dim)`` tensor and its mask."""
    import torch

    width = max(s.shape[0] for s in states)
    x = torch.zeros(len(states), width, states[0].shape[1])
    mask = torch.zeros(len(states), width, dtype=torch.long)
    for i, s in enumerate(states):
        x[i, : s.shape[0]] = s
        mask[i, : s.shape[0]] = 1
    return x, mask


def _upper(model: Any, x: Any, mask: Any, frozen: int) -> Any:
    """Run the layers above ``frozen`` and mean-pool over real tokens."""
    ext = (1.0 - mask[:, None, None, :].to(x.dtype)) * -1e9  # additive attention mask
    for layer in list(_layers(model))[frozen:]:
        out = layer(x, attention_mask=ext)
        x = out[0] if isinstance(out, tuple) else out
    m = mask.unsqueeze(-1).to(x.dtype)
    return (x * m).sum(1) / m.sum(1).clamp(min=1.0)


class FineTunedEncoder(ClassifierMixin, BaseEstimator):
    """Fine-tunes the top ``train_layers`` layers of an encoder and a linear head on labelled sentences."""

    def __init__(
        self,
        encoder: str = encoders.DEFAULT_ENCODER,
        epochs: int = 3,
        learning_rate: float = 1e-4,
        batch_size: int = 32,
        max_length: int = 64,
        train_layers: int = 1,
        seed: int = 0,
    ) -> None:
        self.encoder = encoder
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_length = max_length
        self.train_layers = train_layers
        self.seed = seed

    def _frozen(self) -> int:
        return len(_layers(_base(self.encoder)[1])) - self.train_layers

    def _network(self) -> tuple[Any, Any]:
        """A private copy of the top layers with the tuned weights, and the head."""
        import copy

        import torch

        net = getattr(self, "_net", None)
        if net is None:
            _, model = _base(self.encoder)
            upper = copy.deepcopy(model)
            if hasattr(self, "tuned_"):
                upper.load_state_dict({k: torch.from_numpy(v) for k, v in self.tuned_.items()}, strict=False)
            head = torch.nn.Linear(model.config.hidden_size, len(getattr(self, "classes_", [0, 0, 0])))
            if hasattr(self, "head_weight_"):
                head.weight.data = torch.from_numpy(self.head_weight_.copy())
                head.bias.data = torch.from_numpy(self.head_bias_.copy())
            net = self._net = (upper, head)
        return net

    def fit(self, X: Sequence[str], y: Sequence[Any], sample_weight: Any = None) -> Any:
        """Train the head and the top layers (``sample_weight`` scales each sentence's loss)."""
        import numpy as np
        import torch

        from training.encoder_runtime import apply_threads

        apply_threads()  # the thread count in force for this task: the same sums, so the same model

        texts, labels = list(X), np.asarray(y)
        self.classes_ = np.unique(labels)
        self.weights_sha256_ = encoders.weights_sha256(self.encoder)
        target = torch.from_numpy(np.searchsorted(self.classes_, labels)).long()
        weight = (
            torch.ones(len(texts)) if sample_weight is None else torch.as_tensor(sample_weight, dtype=torch.float32)
        )
        counts = np.bincount(target.numpy(), minlength=len(self.classes_))
        balance = torch.as_tensor(len(texts) / (len(self.classes_) * np.maximum(counts, 1)), dtype=torch.float32)
        torch.manual_seed(self.seed)
        for attr in ("_net", "tuned_", "head_weight_", "head_bias_"):
            self.__dict__.pop(attr, None)
        frozen = self._frozen()
        states = _lower_states(self.encoder, texts, frozen, self.max_length, keep=True)
        upper, head = self._network()
        params = [p for layer in list(_layers(upper))[frozen:] for p in layer.parameters()] + list(head.parameters())
        opt = torch.optim.AdamW(params, lr=self.learning_rate)
        rng = np.random.default_rng(self.seed)
        upper.train()
        for _epoch in range(self.epochs):
            order = rng.permutation(len(texts))
            for start in range(0, len(order), self.batch_size):
                rows = order[start : start + self.batch_size]
                x, mask = _batch([states[i] for i in rows])
                logits = head(_upper(upper, x, mask, frozen))
                loss = torch.nn.functional.cross_entropy(logits, target[rows], weight=balance, reduction="none")
                loss = (loss * weight[rows]).sum() / weight[rows].sum().clamp(min=1e-9)
                opt.zero_grad()
                loss.backward()
                opt.step()
        upper.eval()
        prefix = tuple(f"encoder.layer.{i}." for i in range(frozen, len(_layers(upper))))
        self.tuned_ = {k: v.detach().numpy().copy() for k, v in upper.state_dict().items() if k.startswith(prefix)}
        self.head_weight_ = head.weight.detach().numpy().copy()
        self.head_bias_ = head.bias.detach().numpy().copy()
        return self

    def predict_proba(self, X: Sequence[str]) -> Any:
        """Class probabilities, columns in the order of ``classes_``."""
        import numpy as np
        import torch

        from training.encoder_runtime import apply_threads

        apply_threads()  # the thread count in force for this task: the same sums, so the same model

        encoders.check_weights(self.encoder, self.weights_sha256_)
        texts = list(X)
        if not texts:
            return np.zeros((0, len(self.classes_)))
        frozen = self._frozen()
        upper, head = self._network()
        out = []
        with torch.inference_mode():
            states = _lower_states(self.encoder, texts, frozen, self.max_length, keep=False)
            for start in range(0, len(texts), 64):
                x, mask = _batch(states[start : start + 64])
                out.append(torch.softmax(head(_upper(upper, x, mask, frozen)), dim=1).numpy())
        return np.concatenate(out).astype(np.float64)

    def predict(self, X: Sequence[str]) -> Any:
        """The most probable class of each sentence."""
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def __getstate__(self) -> dict[str, Any]:
        # The torch network is rebuilt from the package and the tuned arrays; never stored.
        state = super().__getstate__()  # scikit-learn's, which records its version  # type: ignore[misc]
        return {k: v for k, v in state.items() if k != "_net"}
