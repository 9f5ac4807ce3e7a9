"""``stance predict`` as users call it, against the bare pipeline loaded with skops.

- single sentence, cold process: the CLI against a process that imports scikit-learn and skops,
  loads the same ``model.skops`` and calls ``predict_proba`` on one sentence;
- batch: the CLI's sentences per second on a file (whole command, with its default ``--jobs``:
  one worker process per usable core) against the raw pipeline's ``predict_proba`` on the same
  sentences in one process (the call alone, which runs on one core);
- memory: the CLI's peak RSS on the large file against the small one. ``ru_maxrss`` of a process
  and the children it waited for is the largest of them, not their sum: with workers it is the
  peak of the biggest process, and the workers' own memory is not added to it.
"""

from __future__ import annotations

import json
import sys

from training.predict_pool import usable_cores

from benchmarks.context import Context, champion
from benchmarks.measure import Row, median, mib, ratio, repeat, run, stance_exe

SENTENCE = "Riyadh reopened its embassy in Damascus."
SINGLE_MAX, BATCH_MIN, MEMORY_MAX = 1.5, 0.8, 1.2  # issue 5

# The bare reference: nothing of ours but the classes skops finds named in the file.
_BARE = """
import json, sys, time
import sklearn
import skops.io as sio
path, mode, arg = sys.argv[1:4]
pipe = sio.load(path, trusted=sio.get_untrusted_types(file=path))
if mode == "one":
    proba = pipe.predict_proba([arg])[0]
    print(json.dumps({"label": str(pipe.classes_[proba.argmax()]), "proba": [float(p) for p in proba]}))
else:
    with open(arg, encoding="utf-8") as fh:
        texts = [line.rstrip("\\n") for line in fh if line.strip()]
    t0 = time.perf_counter()
    proba = pipe.predict_proba(texts)
    print(json.dumps({"n": len(texts), "seconds": time.perf_counter() - t0}))
"""


_GUARDED = "from training.persistence.skops_import import skops_io; skops_io()"


def _skops_import_row(ctx: Context) -> Row:
    """``skops.io`` imported through :mod:`training.persistence.skops_import` against a plain import."""
    row = Row(
        "predict.skops_import",
        "importing skops.io with torch kept out (training.persistence.skops_import)",
        unit="s",
        reference_what='`python -c "import skops.io"`, which imports torch through scikit-learn',
        target="(information: the gain that keeps this guard)",
        command=f'python -c "{_GUARDED}"',
    )
    ours_cmd, ref_cmd = [sys.executable, "-c", _GUARDED], [sys.executable, "-c", "import skops.io"]
    run(ours_cmd, cwd=ctx.root)  # warm the file cache
    run(ref_cmd, cwd=ctx.root)
    ours, ref = repeat(
        ctx.sizes.predict_repeats, lambda: run(ours_cmd, cwd=ctx.root), lambda: run(ref_cmd, cwd=ctx.root)
    )
    if any(r.returncode != 0 for r in ours + ref):
        return row.failed("an import failed")
    row.value, row.reference, row.runs = median([r.seconds for r in ours]), median([r.seconds for r in ref]), len(ours)
    row.ratio = ratio(row.value, row.reference)
    row.note = (
        f"peak RSS {mib(median([r.peak_rss for r in ours])):.0f} MiB vs {mib(median([r.peak_rss for r in ref])):.0f} MiB; "
        "every `stance predict` and model load pays this import"
    )
    return row


def rows(ctx: Context) -> list[Row]:
    """Cold single sentence, batch throughput and streaming memory of ``stance predict``."""
    batch_n, big_n = ctx.sizes.batch_lines, ctx.sizes.memory_lines
    single = Row(
        "predict.single_cold",
        "`stance predict` one sentence, cold process, local export",
        unit="s",
        reference_what="bare python: import sklearn+skops, skops.io.load, predict_proba",
        target=f"ratio <= {SINGLE_MAX}",
        command=f'stance predict --model EXPORT "{SENTENCE}" > out.jsonl',
    )
    batch = Row(
        "predict.batch",
        f"`stance predict --input` {batch_n:,} generated sentences",
        unit="sentences/s",
        reference_what="raw pipeline.predict_proba, one process",
        target=f"ratio >= {BATCH_MIN}",
        command=f"stance predict --model EXPORT --input GENERATED_{batch_n}.txt --output out.jsonl",
    )
    batch_proc = Row(
        "predict.batch_process",
        f"the same {batch_n:,} sentences, against the reference's whole process",
        unit="sentences/s",
        reference_what="python: import, skops load, read, predict_proba",
        target=f"ratio >= {BATCH_MIN} (if the issue means the whole process)",
        command=f"python -c BARE_REFERENCE model.skops batch GENERATED_{batch_n}.txt",
    )
    memory = Row(
        "predict.memory",
        f"`stance predict` peak RSS, {big_n:,} lines",
        unit="MiB",
        reference_what=f"same on {batch_n:,} lines",
        target=f"ratio <= {MEMORY_MAX}",
        command=f"stance predict --model EXPORT --input GENERATED_{big_n}.txt --output out.jsonl",
    )
    try:
        guard = _skops_import_row(ctx)
    except Exception as exc:  # one failing measurement must not hide the others
        guard = Row("predict.skops_import", "skops.io import").failed(str(exc))
    out = [single, batch, batch_proc, memory]
    model, _dataset, how = champion(ctx)
    if model is None:
        return [r.failed(how) for r in out] + [guard]
    out.append(guard)
    ctx.notes.append(f"predict and reference measured on {how}")
    skops_file = model / "model.skops"
    stance = stance_exe()

    try:
        ours_cmd = [*stance, "predict", "--model", str(model), SENTENCE]
        ref_cmd = [sys.executable, "-c", _BARE, str(skops_file), "one", SENTENCE]
        first = run(ours_cmd, cwd=ctx.work)  # warm the file cache; also checks the output
        label = json.loads(first.stdout.strip().splitlines()[-1])
        bare_label = json.loads(run(ref_cmd, cwd=ctx.work).stdout.strip().splitlines()[-1])["label"]
        ours, ref = repeat(
            ctx.sizes.predict_repeats, lambda: run(ours_cmd, cwd=ctx.work), lambda: run(ref_cmd, cwd=ctx.work)
        )
        single.value = median([r.seconds for r in ours])
        single.reference = median([r.seconds for r in ref])
        single.ratio = ratio(single.value, single.reference)
        single.ok = single.ratio is not None and single.ratio <= SINGLE_MAX
        single.runs = len(ours)
        single.note = (
            f"stance says {label.get('label')!r}, the bare pipeline {bare_label!r}; peak RSS "
            f"{mib(median([r.peak_rss for r in ours])):.0f} MiB vs {mib(median([r.peak_rss for r in ref])):.0f} MiB"
        )
    except Exception as exc:
        single.failed(str(exc))

    try:
        small, big = ctx.lines(batch_n), ctx.lines(big_n)
        result = ctx.work / "predicted.jsonl"

        def cli(path: object) -> object:
            return run(
                [*stance, "predict", "--model", str(model), "--input", str(path), "--output", str(result)],
                cwd=ctx.work,
                timeout=7200,
            )

        def bare() -> object:
            return run([sys.executable, "-c", _BARE, str(skops_file), "batch", str(small)], cwd=ctx.work)

        ours, ref = repeat(ctx.sizes.memory_repeats, lambda: cli(small), bare)
        written = sum(1 for _ in result.open(encoding="utf-8"))
        if written != batch_n:
            raise RuntimeError(f"stance predict wrote {written} rows for {batch_n} input lines")
        seconds = median([r.seconds for r in ours])
        timed = [json.loads(r.stdout.strip().splitlines()[-1]) for r in ref]
        batch.value = batch_n / seconds
        batch.reference = median([t["n"] / t["seconds"] for t in timed])
        batch.ratio = ratio(batch.value, batch.reference)
        batch.ok = batch.ratio is not None and batch.ratio >= BATCH_MIN
        batch.runs = len(ours)
        pairs = sorted(t["seconds"] / r.seconds for t, r in zip(timed, ours))  # run i of each side, interleaved
        batch.note = (
            f"whole command {seconds:.2f} s (start, load, read, predict, write) with the default --jobs "
            f"({usable_cores()} usable cores); the reference times the predict_proba call alone, in one "
            f"process ({median([t['seconds'] for t in timed]):.2f} s); ratio of each interleaved pair "
            f"from {pairs[0]:.2f} to {pairs[-1]:.2f}"
        )
        batch_proc.value = batch.value
        batch_proc.reference = batch_n / median([r.seconds for r in ref])
        batch_proc.ratio = ratio(batch_proc.value, batch_proc.reference)
        batch_proc.ok = batch_proc.ratio is not None and batch_proc.ratio >= BATCH_MIN
        batch_proc.runs = len(ref)
        batch_proc.note = (
            f"reference process {median([r.seconds for r in ref]):.2f} s, writing nothing; "
            f"peak RSS {mib(median([r.peak_rss for r in ref])):.0f} MiB against {mib(median([r.peak_rss for r in ours])):.0f} MiB"
        )

        big_runs = [cli(big) for _ in range(ctx.sizes.big_repeats)]
        memory.value = mib(median([r.peak_rss for r in big_runs]))
        memory.reference = mib(median([r.peak_rss for r in ours]))
        memory.ratio = ratio(memory.value, memory.reference)
        memory.ok = memory.ratio is not None and memory.ratio <= MEMORY_MAX
        memory.runs = len(big_runs)
        big_s = median([r.seconds for r in big_runs])
        memory.note = (
            f"{big_n:,} lines in {big_s:.1f} s ({big_n / big_s:,.0f} sentences/s); the peak of the largest "
            f"process: the memory of the {usable_cores()} worker processes is not added to it"
        )
    except Exception as exc:
        for row in (batch, batch_proc, memory):
            if row.value is None:
                row.failed(str(exc))
    return out
