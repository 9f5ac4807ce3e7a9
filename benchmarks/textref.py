"""Child process of the reference section: fastText and the champion on the champion's split.

Run as ``python -m benchmarks.textref --model DIR --dataset DIR --lines FILE --fits N``; prints
one JSON object. It lives in its own process so that a crash of the fastText extension, or
its memory, never touches the parent that times everything else.

The split is the one ``stance train`` scores on (``training.train.prepare``): train +
validation to fit, the gold rows of test to score. fastText gets the same training rows as
the champion (gold only, or gold plus weak when the champion was trained that way; fastText
takes no sample weights, so weak rows count fully there).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# Fixed settings, no search: a well-known starting point for short-text classification
# (word bigrams, a high learning rate); the bucket count is cut from 2M to keep the model small.
FASTTEXT_PARAMS = {
    "lr": 0.5,
    "epoch": 25,
    "wordNgrams": 2,
    "dim": 50,
    "minCount": 1,
    "bucket": 200_000,
    "loss": "softmax",
    "thread": 1,
    "seed": 42,
    "verbose": 0,
}
_TOKEN = re.compile(r"\w+(?:['’]\w+)*|[^\w\s]")


def tokens(text: str) -> str:
    """Lower-cased words and punctuation separated by spaces: fastText splits on whitespace only."""
    return " ".join(_TOKEN.findall(text.lower()))


def _median_time(fn: Any, times: int) -> tuple[float, Any]:
    out, seconds = None, []
    for _ in range(times):
        t0 = time.perf_counter()
        out = fn()
        seconds.append(time.perf_counter() - t0)
    return statistics.median(seconds), out


def main(argv: list[str] | None = None) -> int:
    """Fit and score both models, time fits and predictions, print JSON."""
    p = argparse.ArgumentParser()
    p.add_argument("--model", type=Path, default=None, help="champion export (omit: fastText alone, gold labels)")
    p.add_argument("--dataset", type=Path, required=True)
    p.add_argument("--lines", type=Path, required=True)
    p.add_argument("--fits", type=int, default=1)
    a = p.parse_args(argv)

    import numpy as np
    from sklearn.base import clone
    from training import classifiers as reg
    from training import metrics
    from training.dataset import load_built
    from training.persistence import read_export
    from training.train import prepare

    out: dict[str, Any] = {}
    champion, meta = read_export(a.model) if a.model else (None, {})
    dsd, info = load_built(a.dataset)
    data = prepare(dsd, info, str(a.dataset))
    mode = str(meta.get("training_data", "gold"))
    rows = np.nonzero(data.gold)[0] if mode == "gold" else np.arange(len(data.texts))
    weights = None if mode == "gold" else data.weight[rows]
    x_train = [data.texts[i] for i in rows]
    y_train = data.labels[rows].tolist()
    gold = data.test_labels.tolist()
    lines = [ln.rstrip("\n") for ln in a.lines.open(encoding="utf-8") if ln.strip()]
    out.update(
        {
            "candidate": meta.get("candidate"),
            "mode": mode,
            "train_rows": len(rows),
            "test_rows": len(gold),
            "lines": len(lines),
            "fingerprint_match": meta.get("dataset_fingerprint") == info.get("fingerprint") if meta else None,
            "recorded_test_macro_f1": (meta.get("metrics") or {}).get("test_macro_f1"),
        }
    )

    if champion is not None:
        pred = [str(p) for p in champion.predict(data.test_texts)]
        out["champion"] = {"macro_f1": metrics.macro_f1(gold, pred), "f_avg": metrics.f_avg(gold, pred)}
        # Fit time: the same pipeline, unfitted, on the same rows, as `stance train` fits its final model.
        fit_s, refit = _median_time(lambda: _fit(reg, clone(champion), x_train, y_train, weights), a.fits)
        out["champion"]["fit_seconds"] = fit_s
        out["champion"]["refit_macro_f1"] = metrics.macro_f1(gold, [str(p) for p in refit.predict(data.test_texts)])
        pred_s, _ = _median_time(lambda: champion.predict_proba(lines), a.fits)
        out["champion"]["predict_per_second"] = len(lines) / pred_s

    try:
        import fasttext
    except ImportError as exc:
        out["fasttext"] = {
            "error": f"fasttext is not installed ({exc}); install the bench extra: pip install -e '.[bench]'"
        }
        print(json.dumps(out))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        train_file = Path(tmp) / "train.txt"
        train_file.write_text(
            "".join(f"__label__{y} {tokens(x)}\n" for x, y in zip(x_train, y_train)), encoding="utf-8"
        )
        fit_s, model = _median_time(lambda: fasttext.train_supervised(str(train_file), **FASTTEXT_PARAMS), a.fits)

    def predict(texts: list[str]) -> list[str]:
        # The list form of predict; the single-string form breaks under numpy 2 in fasttext 0.9.
        labels, _probs = model.predict([tokens(t) for t in texts], k=3)
        return [ls[0].removeprefix("__label__") for ls in labels]

    ft_pred = predict(data.test_texts)
    pred_s, _ = _median_time(lambda: predict(lines), a.fits)
    out["fasttext"] = {
        "macro_f1": metrics.macro_f1(gold, ft_pred),
        "f_avg": metrics.f_avg(gold, ft_pred),
        "fit_seconds": fit_s,
        "predict_per_second": len(lines) / pred_s,
        "params": FASTTEXT_PARAMS,
        "version": _version(),
    }
    print(json.dumps(out))
    return 0


def _fit(reg: Any, model: Any, x: list[str], y: list[str], w: Any) -> Any:
    reg.fit(model, x, y, w)
    return model


def _version() -> str:
    from importlib import metadata

    for dist in ("fasttext-wheel", "fasttext", "fasttext-numpy2"):
        try:
            return f"{dist} {metadata.version(dist)}"
        except metadata.PackageNotFoundError:
            continue
    return "unknown"


if __name__ == "__main__":
    sys.exit(main())
