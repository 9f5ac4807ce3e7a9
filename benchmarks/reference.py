"""fastText supervised next to our champion, on the champion's own train/test split.

Quality here is measured on the gold test sentences of the seed dataset, never on generated
text; the generated lines only time prediction.
"""

from __future__ import annotations

import json
import sys

from benchmarks.context import Context, champion
from benchmarks.measure import Row, ratio, run


def rows(ctx: Context) -> list[Row]:
    """macro-F1, fit time and prediction throughput of fastText, each against the champion."""
    cmd = "python -m benchmarks.textref --model EXPORT --dataset DATASET --lines GENERATED"
    f1 = Row(
        "reference.macro_f1",
        "fastText macro-F1 on the gold test split",
        unit="macro-F1",
        reference_what="champion",
        target="(information)",
        command=cmd,
    )
    fit = Row(
        "reference.fit",
        "fastText fit time on the champion's training rows",
        unit="s",
        reference_what="champion refit",
        target="(information)",
        command=cmd,
    )
    speed = Row(
        "reference.predict",
        f"fastText prediction, {ctx.sizes.reference_lines:,} generated sentences",
        unit="sentences/s",
        reference_what="champion predict_proba",
        target="(information)",
        command=cmd,
    )
    out = [f1, fit, speed]
    model, dataset, how = champion(ctx)
    dataset = dataset or ctx.seed_dataset
    if dataset is None:
        return [row.failed("no seed dataset (the build section did not run or failed)") for row in out]
    cmd_line = [
        sys.executable,
        "-m",
        "benchmarks.textref",
        "--dataset",
        str(dataset),
        "--lines",
        str(ctx.lines(ctx.sizes.reference_lines)),
        "--fits",
        str(ctx.sizes.reference_fits),
    ]
    try:
        r = run(cmd_line + (["--model", str(model)] if model else []), cwd=ctx.root, timeout=3600)
        res = json.loads(r.stdout.strip().splitlines()[-1])
    except Exception as exc:
        return [row.failed(str(exc)) for row in out]
    ft = res["fasttext"]
    if "error" in ft:
        return [row.failed(ft["error"]) for row in out]
    f1.value, fit.value, speed.value = ft["macro_f1"], ft["fit_seconds"], ft["predict_per_second"]
    f1.note = (
        f"{res['mode']} labels, {res['train_rows']:,} training rows, {res['test_rows']:,} gold test sentences; "
        f"fastText F_avg {ft['f_avg']:.3f} ({ft['version']}, fixed settings, no search: {ft['params']})"
    )
    fit.note = "median of fits in one process; the champion's pipeline is cloned unfitted and fitted on the same rows"
    speed.note = "in one process, after loading; fastText's time includes its tokenisation, the champion's its own"
    for row in out:
        row.runs = 1 if row is f1 else ctx.sizes.reference_fits
    champ = res.get("champion")
    if champ is None:
        for row in out:
            row.note = f"no champion to compare with ({how}); " + row.note
        return out
    f1.reference, fit.reference, speed.reference = champ["macro_f1"], champ["fit_seconds"], champ["predict_per_second"]
    for row in out:
        row.ratio = ratio(row.value, row.reference)
    recorded = res["recorded_test_macro_f1"]
    f1.note = (
        f"champion {res['candidate']} ({how}): F_avg {champ['f_avg']:.3f}, test macro-F1 recorded at "
        f"training {'?' if recorded is None else f'{recorded:.3f}'}, refitted here "
        f"{champ['refit_macro_f1']:.3f}; " + f1.note
    )
    if not res["fingerprint_match"]:
        f1.note += "; WARNING: the dataset's fingerprint differs from the one in the champion's metadata"
    return out
