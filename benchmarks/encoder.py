"""Encoder models: backend speed (sentence-transformers, ONNX Runtime fp32 and int8), `stance predict`
with an encoder champion, and the cost of the fine-tuned encoder.

The jobs run in fresh processes (:mod:`benchmarks.encoder_job`); the backends are timed in
interleaved rounds on the same generated sentences, two threads each, so their ratios hold on a
busy machine. Quality figures are macro-F1 on the gold test split of the seed dataset.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

from benchmarks.context import Context, champion, stand_in
from benchmarks.measure import Row, Run, median, mib, ratio, repeat, run, stance_exe
from benchmarks.predict import SENTENCE

PREDICT_MIN = 1000.0  # sentences/s of `stance predict --input` for an encoder champion (issue target)
COLD_MAX = 3.0  # one sentence, cold process: at most this many times the TF-IDF champion's time
MEMORY_MAX = 1.2  # peak RSS on ten times the lines, against the smaller file
MEMORY_BATCH = 256  # --batch-size of the memory rows: many batches even in the smaller file


def _job(ctx: Context, *args: str, env: dict[str, str] | None = None, timeout: float = 3600) -> dict[str, Any]:
    r = run([sys.executable, "-m", "benchmarks.encoder_job", *args], cwd=ctx.root, env=env, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"encoder job {args[0]} failed: {r.stderr.strip().splitlines()[-1:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def _onnx_env(ctx: Context) -> dict[str, str]:
    """One ONNX export per run, in the scratch folder, shared by every job (made by the first)."""
    return {"STANCE_ONNX_DIR": str(ctx.work / "onnx")}


def _backend_rows(ctx: Context, dataset: str, lines: str, pool: int) -> list[Row]:
    st = Row(
        "encoder.st",
        "all-MiniLM-L6-v2 through sentence-transformers (torch), 2 threads",
        unit="sentences/s",
        target="(reference of the two rows below)",
        command="python -m benchmarks.encoder_job backends ...",
    )
    rows = [st]
    missing = [m for m in ("onnxruntime", "onnx") if importlib.util.find_spec(m) is None]
    if missing:
        for key in ("onnx_fp32", "onnx_int8"):
            rows.append(Row(f"encoder.{key}", f"all-MiniLM-L6-v2 through ONNX Runtime ({key[5:]})", unit="sentences/s"))
        return [r.failed(f"{' and '.join(missing)} not installed (pip install onnxruntime onnx)") for r in rows]
    res = _job(
        ctx,
        "backends",
        dataset,
        lines,
        str(ctx.work),
        "1" if ctx.sizes.train_quick else "3",
        str(pool),
        env=_onnx_env(ctx),
    )
    st.value, st.runs = res["speed"]["st"], res["rounds"]
    st.note = f"{res['n']:,} generated sentences; logreg on its vectors: test macro-F1 {res['macro_f1']['st']:.3f}"
    for key, what in (("onnx_fp32", "ONNX Runtime, fp32"), ("onnx_int8", "ONNX Runtime, int8 dynamic quantisation")):
        row = Row(
            f"encoder.{key}",
            f"all-MiniLM-L6-v2 through {what}, 2 threads",
            unit="sentences/s",
            reference=st.value,
            reference_what="sentence-transformers, same sentences, same run",
            target="ratio > 1 to be worth serving",
            runs=res["rounds"],
            command="python -m benchmarks.encoder_job backends ...",
        )
        row.value = res["speed"][key]
        row.ratio = ratio(row.value, st.value)
        row.ok = bool(row.ratio and row.ratio > 1.0)
        change = res["macro_f1"][key] - res["macro_f1"]["st"]
        row.note = (
            f"logreg on its vectors: test macro-F1 {res['macro_f1'][key]:.3f} ({change:+.3f} against "
            f"sentence-transformers; trained on {res['train_sentences']} gold sentences)"
        )
        rows.append(row)
    return rows


def _why(failed: Run) -> str:
    """The last line a failed run wrote to stderr: what the row says instead of a figure."""
    lines = failed.stderr.strip().splitlines()
    return lines[-1] if lines else "a run failed"


def _backends() -> list[str]:
    """The encoder backends this machine can run ``stance predict`` with."""
    return ["torch"] + (["onnx"] if importlib.util.find_spec("onnxruntime") else [])


def _predict_rows(ctx: Context, dataset: str, lines: str, pool: int, n: int) -> list[Row]:
    """`stance predict` with a logreg-minilm export, encoder run by torch and by ONNX Runtime, against plain ST."""
    env = _onnx_env(ctx)
    backends = _backends()
    out, cmds, made = [], [], {}
    for backend in backends:
        key = "encoder.predict" + ("" if backend == "torch" else f"_{backend}")
        out.append(
            Row(
                key,
                f"`stance predict --input` {n:,} generated sentences, logreg-minilm export, encoder on {backend}",
                unit="sentences/s",
                reference_what="one python process: sentence-transformers encode + the same classifier",
                target=f">= {PREDICT_MIN:,.0f} sentences/s",
                command=f"stance predict --model EXPORT_{backend.upper()} --input GENERATED.txt",
            )
        )
        folder = ctx.work / f"encoder-export-{backend}"
        made[backend] = _job(
            ctx, "export", dataset, str(folder), str(pool), backend, env=env
        )  # makes the ONNX file once
        cli = [
            *stance_exe(),
            "predict",
            "--model",
            str(folder),
            "--input",
            lines,
            "--output",
            str(ctx.work / "out.jsonl"),
        ]
        cmds.append(lambda cli=cli: run(cli, cwd=ctx.work, env=env, timeout=3600))
    plain = [sys.executable, "-m", "benchmarks.encoder_job", "plain", str(ctx.work / "encoder-export-torch"), lines]
    runs = repeat(1 if ctx.sizes.train_quick else 3, *cmds, lambda: run(plain, cwd=ctx.root, timeout=3600))
    reference = n / median([r.seconds for r in runs[-1]])
    for row, backend, side in zip(out, backends, runs):
        bad = [r for r in side + runs[-1] if r.returncode != 0]
        if bad:
            row.failed(_why(bad[0]))
            continue
        row.value, row.reference = n / median([r.seconds for r in side]), reference
        row.ratio = ratio(row.value, row.reference)
        row.ok = row.value >= PREDICT_MIN
        row.runs = len(side)
        row.note = (
            f"whole processes on both sides (start, load, read, encode, write); the export's test macro-F1 "
            f"{made[backend]['test_macro_f1']:.3f}"
        )
    if "onnx" not in backends:
        out.append(
            Row("encoder.predict_onnx", f"`stance predict --input` {n:,} generated sentences, encoder on onnx").failed(
                "onnxruntime and onnx not installed (pip install onnxruntime onnx)"
            )
        )
    return out


def _cold_rows(ctx: Context, dataset: Path, backends: list[str]) -> list[Row]:
    """One sentence in a new process: each encoder export against the TF-IDF champion, interleaved."""
    tfidf, _ds, how = champion(ctx)
    if tfidf is None:  # no champion at hand (a fresh clone): the TF-IDF candidate, fitted on the same dataset
        tfidf, how = stand_in(ctx, dataset), f"a logreg-word_char export fitted on {dataset.name} by the benchmark"
    out = [
        Row(
            "encoder.single_cold" + ("" if b == "torch" else f"_{b}"),
            f"`stance predict` one sentence, cold process, logreg-minilm export, encoder on {b}",
            unit="s",
            reference_what="the same command with the TF-IDF champion",
            target=f"ratio <= {COLD_MAX}",
            command=f'stance predict --model EXPORT_{b.upper()} "{SENTENCE}"',
        )
        for b in backends
    ]
    env = _onnx_env(ctx)
    cmds = [[*stance_exe(), "predict", "--model", str(m), SENTENCE] for m in _folders(ctx, backends)]
    cmds.append([*stance_exe(), "predict", "--model", str(tfidf), SENTENCE])
    for cmd in cmds:
        run(cmd, cwd=ctx.work, env=env)  # warm the file cache: "cold" is a new process
    runs = repeat(ctx.sizes.predict_repeats, *[lambda c=c: run(c, cwd=ctx.work, env=env) for c in cmds])
    reference = median([r.seconds for r in runs[-1]])
    for row, side in zip(out, runs):
        bad = [r for r in side + runs[-1] if r.returncode != 0]
        if bad:
            row.failed(_why(bad[0]))
            continue
        row.value, row.reference, row.runs = median([r.seconds for r in side]), reference, len(side)
        row.ratio = ratio(row.value, reference)
        row.ok = row.ratio is not None and row.ratio <= COLD_MAX
        row.note = (
            f"peak RSS {mib(median([r.peak_rss for r in side])):.0f} MiB vs "
            f"{mib(median([r.peak_rss for r in runs[-1]])):.0f} MiB; TF-IDF side: {how}"
        )
    if "onnx" not in backends:
        out.append(
            Row("encoder.single_cold_onnx", "`stance predict` one sentence, cold process, encoder on onnx").failed(
                "onnxruntime and onnx not installed (pip install onnxruntime onnx)"
            )
        )
    return out


def _folders(ctx: Context, backends: list[str]) -> list[Path]:
    """The exports :func:`_predict_rows` wrote, one per backend."""
    return [ctx.work / f"encoder-export-{b}" for b in backends]


def _memory_row(ctx: Context, backend: str, n: int) -> Row:
    """Peak RSS of `stance predict` on ten times the lines: flat if the command streams."""
    row = Row(
        "encoder.memory",
        f"`stance predict` peak RSS, {10 * n:,} lines, logreg-minilm export, encoder on {backend}",
        unit="MiB",
        reference_what=f"same on {n:,} lines",
        target=f"ratio <= {MEMORY_MAX}",
        command=f"stance predict --model EXPORT --input LINES --batch-size {MEMORY_BATCH} --output out.jsonl",
    )
    (folder,) = _folders(ctx, [backend])
    sides = []
    for count in (n, 10 * n):
        cmd = [*stance_exe(), "predict", "--model", str(folder), "--input", str(ctx.lines(count))]
        cmd += ["--batch-size", str(MEMORY_BATCH), "--output", str(ctx.work / "out.jsonl")]
        r = run(cmd, cwd=ctx.work, env=_onnx_env(ctx), timeout=7200)
        if r.returncode != 0:
            return row.failed(_why(r))
        sides.append(r)
    row.value, row.reference, row.runs = mib(sides[1].peak_rss), mib(sides[0].peak_rss), 1
    row.ratio = ratio(row.value, row.reference)
    row.ok = row.ratio is not None and row.ratio <= MEMORY_MAX
    row.note = (
        f"{10 * n:,} lines take {sides[1].seconds / 60:.0f} min here; the issue's 1,000,000 would take about "
        f"{1_000_000 / (10 * n / sides[1].seconds) / 3600:.1f} h, so the flatness is measured at this scale"
    )
    return row


def _ceiling_row(ctx: Context, lines: str) -> Row:
    row = Row(
        "encoder.ceiling",
        "most sentences/s MiniLM could encode here: FLOPs per sentence against a dense fp32 product's speed",
        unit="sentences/s",
        reference_what="the predict target for an encoder champion",
        target="(information: an upper bound for every backend in fp32)",
        command="python -m benchmarks.encoder_job ceiling LINES",
    )
    res = _job(ctx, "ceiling", lines)
    row.value, row.reference = res["ceiling"], PREDICT_MIN
    row.ratio = ratio(row.value, row.reference)
    row.runs = 7
    row.note = (
        f"{res['tokens']:.1f} tokens a sentence, {res['gflop_per_sentence']:.3f} GFLOP each; "
        f"a {int(64 * res['tokens'])}x384 by 384x1536 product runs at {res['gflops']:.0f} GFLOP/s on two threads"
    )
    return row


def _finetune_row(ctx: Context, dataset: str, pool: int) -> Row:
    row = Row(
        "encoder.finetune_fit",
        "one fit of the fine-tuned encoder (top layer + head) on the seed pool",
        unit="s",
        reference_what="logreg on MiniLM vectors, encoding included",
        target="(information)",
        command="python -m benchmarks.encoder_job finetune DATASET POOL EPOCHS",
    )
    epochs = 1 if ctx.sizes.train_quick else 3
    res = _job(ctx, "finetune", dataset, str(pool), str(epochs))
    row.value, row.reference = res["finetune_fit_seconds"], res["logreg_minilm_fit_seconds"]
    row.ratio = ratio(row.value, row.reference)
    row.runs = 1
    # A comparison fits a candidate 31 times (search aside): 2 groupings x 3 repeats x 5 folds, plus the final fit.
    row.note = (
        f"{res['train_sentences']} sentences, {epochs} epoch(s); test macro-F1 {res['finetune_test_macro_f1']:.3f} "
        f"(logreg on MiniLM vectors {res['logreg_minilm_test_macro_f1']:.3f}); 31 fits of a comparison "
        f"take about {31 * row.value / 60:.0f} min of one core"
    )
    return row


def rows(ctx: Context) -> list[Row]:
    """Backends, prediction with an encoder champion, fine-tuning cost."""
    dataset = ctx.seed_dataset or (ctx.root / "data" / "dataset")
    if not (dataset / "stance_dataset.json").is_file():
        return [Row("encoder.st", "encoder section").failed(f"no seed dataset at {dataset} (run the build section)")]
    pool = 200 if ctx.sizes.train_quick else 0  # 0: every gold sentence of the pool
    n = 200 if ctx.sizes.train_quick else 5_000
    lines = str(ctx.lines(n))
    out: list[Row] = []
    for make in (
        lambda: _backend_rows(ctx, str(dataset), lines, pool),
        lambda: _predict_rows(ctx, str(dataset), lines, pool, n),
        lambda: _cold_rows(ctx, dataset, _backends()),
        lambda: [_memory_row(ctx, "torch", 100 if ctx.sizes.train_quick else 2_000)],
        lambda: [_ceiling_row(ctx, lines)],
        lambda: [_finetune_row(ctx, str(dataset), pool)],
    ):
        try:
            out += make()
        except Exception as exc:  # one failing measurement must not hide the others
            out.append(Row("encoder.error", "encoder section").failed(str(exc)))
    return out
