"""``python -m benchmarks``: run every section, print the table, write the report.

Sections run in order because later ones use what earlier ones made: ``build`` makes the
seed dataset ``train`` trains on, ``train`` makes an export that ``predict`` and ``reference``
fall back on when there is no ``models/stance-classifier``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import build, cluster, encoder, machine, predict, reference, report, segment, startup, train
from benchmarks.context import FULL, QUICK, Context
from benchmarks.measure import Row

SECTIONS = {
    "help": startup.rows,
    "build": build.rows,
    "segment": segment.rows,
    "train": train.rows,
    "predict": predict.rows,
    "reference": reference.rows,
    "encoder": encoder.rows,
    "cluster": cluster.rows,
}
ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
KEEP_START, KEEP_END = "<!-- reading:start -->", "<!-- reading:end -->"

PREFACE = """
Speed and memory of each `stance` command, measured next to a reference in the same run so that
the ratios hold on any machine. Each figure is the median over several runs of a fresh process,
with the project's and the reference's runs interleaved; a first, unmeasured run of each command
warms the file cache, so "cold start" means a new process, not an empty cache. Peak memory is the
process's maximum resident set size as reported by the kernel when it exits (`os.wait4`).

Corpora and input files for the speed and memory figures are generated from a fixed seed by
recombining the words of `seeds/` (a word-bigram chain): they have the vocabulary and sentence
lengths of the real text and no meaning. They are never used for a quality figure; macro-F1 is only
ever computed on the gold test split of the seed dataset.
"""


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    p.add_argument(
        "--quick",
        action="store_true",
        help="tiny sizes and one run each (keeps the suite working; figures mean nothing)",
    )
    p.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated sections ({', '.join(SECTIONS)})")
    p.add_argument(
        "--model",
        type=Path,
        default=None,
        help="export to measure predict and the reference on (default: models/stance-classifier if "
        "present and trained on the seed dataset, else the export this run's train makes)",
    )
    p.add_argument(
        "--output",
        type=Path,
        default=None,
        help=f"markdown report (default: {DOC.relative_to(ROOT)} for a full run, none for --quick or --only)",
    )
    p.add_argument("--json", type=Path, default=None, help="also write every row as JSON here")
    p.add_argument("--workdir", type=Path, default=None, help="scratch folder (default: a temporary one, removed)")
    return p.parse_args(argv)


def _keep_reading(path: Path) -> str:
    """The hand-written reading of the figures in an earlier report, kept across regenerations."""
    if not path.exists():
        return ""
    text = path.read_text(encoding="utf-8")
    if KEEP_START in text and KEEP_END in text:
        return text[text.index(KEEP_START) : text.index(KEEP_END) + len(KEEP_END)]
    return ""


def main(argv: list[str] | None = None) -> int:
    """Run the chosen sections; exit 0 when every figure was measured, 1 otherwise."""
    args = _parse(argv)
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown:
        print(f"error: unknown section(s) {', '.join(unknown)} (choose from {', '.join(SECTIONS)})", file=sys.stderr)
        return 2
    work = args.workdir or Path(tempfile.mkdtemp(prefix="stance-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    ctx = Context(
        root=ROOT,
        work=work.resolve(),
        sizes=QUICK if args.quick else FULL,
        model=args.model.resolve() if args.model else None,
    )
    command = "python -m benchmarks " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    started = time.perf_counter()
    load_before = machine.describe()["load_average"]
    rows: list[Row] = []
    try:
        for name in chosen:
            t0 = time.perf_counter()
            print(f"[{name}] running...", file=sys.stderr, flush=True)
            rows += SECTIONS[name](ctx)
            print(f"[{name}] done in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    described = machine.describe()
    # Other work on the machine slows both sides of a ratio alike, but not the absolute figures.
    described["load_average"] = {"before": load_before, "after": described["load_average"]}
    meta = {
        "command": command.strip(),
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "seconds": time.perf_counter() - started,
        "machine": described,
        "quick": args.quick,
        "notes": ctx.notes,
    }
    report.print_table(rows)
    for note in ctx.notes:
        print(f"note: {note}")
    output = args.output or (None if args.quick or args.only else DOC)  # a partial run never replaces the report
    if output:
        reading = _keep_reading(output)
        report.write_markdown(output, rows, meta, PREFACE, reading)
        print(f"wrote {output}")
    if args.json:
        report.write_json(args.json, rows, meta)
    return 0 if all(not r.note.startswith("not measured") for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
