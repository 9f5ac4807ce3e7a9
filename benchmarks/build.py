"""``stance build-dataset``: the seed corpus, then generated corpora on one core.

Throughput is sentences segmented per second of the whole command (process start to exit).
Memory is the command's peak RSS; what matters is how it grows from the small corpus to the
large one, set against how much the saved dataset itself grows between the two.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from benchmarks.context import Context
from benchmarks.corpus import write_seeds
from benchmarks.measure import ONE_THREAD, Row, dir_size, median, mib, one_core, ratio, repeat, run, stance_exe

MIN_RATE = 3000.0  # sentences per second, issue 3

# The dataset as a Python builder has to hold it: every column of every split as lists.
_ROWS_PROBE = """
import sys, datasets
d = datasets.load_from_disk(sys.argv[1])
cols = {s: d[s].to_dict() for s in d}
print(sum(len(c["text"]) for c in cols.values()))
"""


def _build(ctx: Context, seeds: Path, out: Path, pinned: bool) -> tuple[float, int, int]:
    """One build from scratch: (seconds, peak RSS bytes, sentences segmented)."""
    shutil.rmtree(out, ignore_errors=True)
    cmd = (
        (one_core() if pinned else [])
        + stance_exe()
        + [
            "build-dataset",
            "--config",
            str(ctx.root / "configs" / "dataset.yaml"),
            "--seeds",
            str(seeds),
            "--out",
            str(out),
        ]
    )
    r = run(cmd, env=ONE_THREAD if pinned else None, cwd=ctx.work)
    info = json.loads((out / "stance_dataset.json").read_text(encoding="utf-8"))
    return r.seconds, r.peak_rss, int(info["sentences_segmented"])


def rows(ctx: Context) -> list[Row]:
    """Seed build (information, and the dataset `stance train` is measured on), then the corpora."""
    small, large = ctx.sizes.build_sentences
    pin = " ".join([f"{k}={v}" for k, v in ONE_THREAD.items()] + ["taskset -c 0"] * bool(one_core()))
    seed = Row(
        "build.seed",
        "`stance build-dataset` on seeds/ (the real corpus)",
        unit="s",
        target="(information)",
        command="stance build-dataset --seeds seeds --out DIR",
    )
    rate_s = Row(
        "build.rate_small",
        f"build-dataset throughput, {small:,} generated sentences, one core",
        unit="sentences/s",
        target="(information)",
        command=f"{pin} stance build-dataset --seeds GENERATED_{small} --out DIR",
    )
    rate_l = Row(
        "build.rate_large",
        f"build-dataset throughput, {large:,} generated sentences, one core",
        unit="sentences/s",
        target=f">= {MIN_RATE:,.0f} sentences/s",
        command=f"{pin} stance build-dataset --seeds GENERATED_{large} --out DIR",
    )
    grow = Row(
        "build.memory_growth",
        f"build-dataset peak RSS growth, {small:,} -> {large:,} sentences",
        unit="MiB",
        reference_what="growth of the saved dataset (Arrow files)",
        target="ratio <= 1 (memory grows no more than the dataset)",
    )
    grow_py = Row(
        "build.memory_vs_rows",
        "the same RSS growth, against a process holding the dataset as Python rows",
        unit="MiB",
        reference_what="RSS growth of `load_from_disk(...).to_dict()` per split",
        target="(information)",
        command="python -c 'd = datasets.load_from_disk(DIR); {s: d[s].to_dict() for s in d}'",
    )
    out = [seed, rate_s, rate_l, grow, grow_py]

    try:
        target = ctx.work / "seed_dataset"
        runs = [_build(ctx, ctx.root / "seeds", target, pinned=False) for _ in range(ctx.sizes.build_repeats)]
        seed.value = median([r[0] for r in runs])
        seed.runs = len(runs)
        seed.note = (
            f"{runs[0][2]:,} sentences, {runs[0][2] / seed.value:,.0f} sentences/s on both cores, "
            f"peak RSS {mib(median([r[1] for r in runs])):.0f} MiB"
        )
        ctx.seed_dataset = target
    except Exception as exc:
        seed.failed(str(exc))

    try:
        corpora = {n: write_seeds(ctx.chain, n, ctx.work / f"corpus_{n}") for n in (small, large)}
        outs = {n: ctx.work / f"dataset_{n}" for n in (small, large)}
        got = repeat(
            ctx.sizes.build_repeats,
            *(lambda n=n: _build(ctx, corpora[n], outs[n], pinned=True) for n in (small, large)),
        )
        res = {}
        for n, runs in zip((small, large), got):
            sentences = runs[0][2]
            res[n] = {
                "seconds": median([r[0] for r in runs]),
                "rss": median([r[1] for r in runs]),
                "sentences": sentences,
                "dataset": dir_size(outs[n]),
                "corpus": dir_size(corpora[n]),
            }
        for row, n in ((rate_s, small), (rate_l, large)):
            r = res[n]
            row.value = r["sentences"] / r["seconds"]
            row.runs = ctx.sizes.build_repeats
            row.note = (
                f"{r['sentences']:,} sentences in {r['seconds']:.2f} s, peak RSS {mib(r['rss']):.0f} MiB, "
                f"corpus {mib(r['corpus']):.1f} MiB, dataset {mib(r['dataset']):.1f} MiB"
            )
            row.extra.update(r)
        rate_l.ok = rate_l.value is not None and rate_l.value >= MIN_RATE
        rss_growth = res[large]["rss"] - res[small]["rss"]
        grow.value = mib(rss_growth)
        grow.reference = mib(res[large]["dataset"] - res[small]["dataset"])
        grow.ratio = ratio(grow.value, grow.reference)
        grow.ok = grow.ratio is not None and grow.ratio <= 1.0
        grow.runs = ctx.sizes.build_repeats
        grow.note = (
            f"peak RSS {mib(res[small]['rss']):.0f} -> {mib(res[large]['rss']):.0f} MiB; "
            f"raw corpus grew {mib(res[large]['corpus'] - res[small]['corpus']):.1f} MiB; "
            f"{rss_growth / max(1, res[large]['sentences'] - res[small]['sentences']):,.0f} bytes per extra sentence"
        )

        probe = [sys.executable, "-c", _ROWS_PROBE]
        ref = repeat(
            ctx.sizes.build_repeats, *(lambda n=n: run([*probe, str(outs[n])], env=ONE_THREAD) for n in (small, large))
        )
        grow_py.value = grow.value
        grow_py.reference = mib(median([r.peak_rss for r in ref[1]]) - median([r.peak_rss for r in ref[0]]))
        grow_py.ratio = ratio(grow_py.value, grow_py.reference)
        grow_py.runs = ctx.sizes.build_repeats
    except Exception as exc:
        for row in (rate_s, rate_l, grow, grow_py):
            if row.value is None:
                row.failed(str(exc))
    return out
