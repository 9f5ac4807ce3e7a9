"""``stance --help``: cold start against a bare ``import typer``, and what it imports."""

from __future__ import annotations

import json
import sys

from benchmarks.context import Context
from benchmarks.measure import Row, median, ratio, repeat, run, stance_exe

HELP_LIMIT_S = 0.3
# Banned on the --help path by the project standards (the issue names the first three).
HEAVY = ("mlflow", "sklearn", "datasets")
ALSO_WATCHED = ("numpy", "skops", "matplotlib", "scipy", "pandas", "pyarrow")

# The console script does exactly this: import training.cli and call main().
_PROBE = """
import json, sys
sys.argv = ["stance", "--help"]
from training.cli import main
try:
    main()
except SystemExit:
    pass
names = {m.split(".")[0] for m in sys.modules}
sys.stderr.write("\\nIMPORTED " + json.dumps(sorted(names & set(%r))) + "\\n")
"""


def rows(ctx: Context) -> list[Row]:
    """Time ``stance --help`` and ``python -c "import typer"``, then list heavy imports of --help."""
    cold = Row(
        "help.cold_start",
        "`stance --help` cold start",
        unit="s",
        reference_what='`python -c "import typer"`',
        target=f"<= {HELP_LIMIT_S} s",
        command="stance --help",
    )
    heavy = Row(
        "help.heavy_imports",
        "mlflow / sklearn / datasets imported by `stance --help`",
        unit="modules",
        target="0 (none imported)",
        command="python: run training.cli.main with --help, then list sys.modules",
    )
    help_cmd = [*stance_exe(), "--help"]
    typer_cmd = [sys.executable, "-c", "import typer"]
    try:
        # One unmeasured run of each first: "cold" means a new process, not an empty page cache.
        run(help_cmd)
        run(typer_cmd)
        ours, ref = repeat(ctx.sizes.help_repeats, lambda: run(help_cmd), lambda: run(typer_cmd))
        cold.value = median([r.seconds for r in ours])
        cold.reference = median([r.seconds for r in ref])
        cold.ratio = ratio(cold.value, cold.reference)
        cold.ok = cold.value <= HELP_LIMIT_S
        cold.runs = len(ours)
        cold.note = f"peak RSS {median([r.peak_rss for r in ours]) / 2**20:.0f} MiB vs {median([r.peak_rss for r in ref]) / 2**20:.0f} MiB"
    except Exception as exc:  # one broken measurement must not hide the others
        cold.failed(str(exc))
    try:
        probe = run([sys.executable, "-c", _PROBE % (HEAVY + ALSO_WATCHED,)], cwd=ctx.root)
        line = next(ln for ln in probe.stderr.splitlines() if ln.startswith("IMPORTED "))
        found = json.loads(line.removeprefix("IMPORTED "))
        banned = [m for m in found if m in HEAVY]
        heavy.value = float(len(banned))
        heavy.ok = not banned
        heavy.runs = 1
        heavy.note = (
            ("imported: " + ", ".join(found)) if found else "none of " + ", ".join(HEAVY + ALSO_WATCHED) + " imported"
        )
        heavy.extra["imported"] = found
    except Exception as exc:
        heavy.failed(str(exc))
    return [cold, heavy]
