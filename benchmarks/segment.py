"""``stance segment`` on one very long line against the same text with line breaks.

A document that arrives as one line (a scraped page, a JSON field flattened to text) must cost
what the same text costs with its sentences on separate lines: the ratio of the two rates is the
figure, and the two runs must give the same sentences.
"""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.context import Context
from benchmarks.measure import Row, median, ratio, repeat, run, stance_exe

MIN_RATIO = 0.8  # one-line rate over line-broken rate; 1.0 is the same speed, noise allowed


def _sentences(ctx: Context, megabytes: float) -> list[str]:
    """Gold sentences of seeds/, numbered so that no line repeats, up to ``megabytes`` of text."""
    gold = [
        json.loads(line)["text"]
        for p in sorted((ctx.root / "seeds").glob("*.gold.jsonl"))
        for line in p.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    gold = [g for g in gold if g.rstrip().endswith((".", "!", "?"))]  # headlines have no full stop
    out, size, i = ["Benchmark corpus number one."], 0, 0
    while size < megabytes * 1_000_000:
        s = f"{gold[i % len(gold)]} Item {i} ends here."
        out.append(s)
        size += len(s) + 1
        i += 1
    return out


def _segment(path: Path, ctx: Context) -> tuple[float, int]:
    r = run([*stance_exe(), "segment", "--config", str(ctx.root / "configs" / "dataset.yaml"), str(path)], cwd=ctx.work)
    return r.seconds, r.stdout.count("\n")


def rows(ctx: Context) -> list[Row]:
    """The one-line document's rate, its line-broken twin's as the reference, and their ratio."""
    mb = ctx.sizes.segment_mb
    row = Row(
        "segment.one_line",
        f"`stance segment` on a {mb:g} MB document written as one line",
        unit="sentences/s",
        reference_what="the same text with one sentence a line",
        target=f"ratio >= {MIN_RATIO} (linear in the line's length)",
        command="stance segment ONE_LINE.txt  vs  stance segment LINE_BROKEN.txt",
    )
    try:
        sentences = _sentences(ctx, mb)
        one, broken = ctx.work / "one_line.txt", ctx.work / "line_broken.txt"
        one.write_text(" ".join(sentences) + "\n", encoding="utf-8")
        broken.write_text("\n".join(sentences) + "\n", encoding="utf-8")
        runs = repeat(ctx.sizes.build_repeats, lambda: _segment(one, ctx), lambda: _segment(broken, ctx))
        counts = {r[1] for rs in runs for r in rs}
        if len(counts) != 1:
            raise RuntimeError(f"the two files gave different sentence counts: {sorted(counts)}")
        n = counts.pop()
        row.value = n / median([r[0] for r in runs[0]])
        row.reference = n / median([r[0] for r in runs[1]])
        row.ratio = ratio(row.value, row.reference)
        row.ok = row.ratio is not None and row.ratio >= MIN_RATIO
        row.runs = ctx.sizes.build_repeats
        row.note = f"{n:,} sentences from {one.stat().st_size / 1e6:.1f} MB, the same count from both files"
    except Exception as exc:
        row.failed(str(exc))
    return [row]
