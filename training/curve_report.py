"""The learning-curve simulation written out: a Markdown report, its chart and the raw curves."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from training.atomic import atomic_file


def chart_png(result: dict[str, Any]) -> bytes:
    """Mean macro-F1 against labels per strategy, the seeds' range shaded, the full-data score dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
    for strategy, by_seed in result["curves"].items():
        curves = list(by_seed.values())
        if len({len(c) for c in curves}) != 1:
            continue
        x = np.array([n for n, _ in curves[0]])
        y = np.array([[s for _, s in c] for c in curves])
        line = ax.plot(
            x,
            y.mean(axis=0),
            label=strategy,
            lw=2.2 if strategy == result["summary"]["best"] else 1.3,
            ls="--" if strategy == "random" else "-",
        )[0]
        ax.fill_between(x, y.min(axis=0), y.max(axis=0), color=line.get_color(), alpha=0.12, lw=0)
    ax.axhline(result["full_score"], color="black", ls=":", lw=1, label=f"all {result['pool']} labels")
    ax.axhline(result["summary"]["target"], color="grey", ls=":", lw=0.8, label="within 0.01 of that")
    ax.set_xlabel("gold labels used")
    ax.set_ylabel(f"macro-F1 on {result['test']} test sentences")
    ax.set_title("Simulated labelling loop: mean of seeds, range shaded")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def _reach(value: int | None, pool: int) -> str:
    return "not within the run" if value is None else f"{value:,} ({value / pool:.0%})"


def markdown(result: dict[str, Any], command: str, chart_name: str, machine: str = "") -> str:
    """The report: settings, the table of areas and gaps, labels to reach the target, and a reading."""
    summary, opts = result["summary"], result["options"]
    rows = []
    for name, s in summary["strategies"].items():
        gap = (
            ""
            if name == "random"
            else f"{s['gap_mean']:+.4f} ± {s['gap_std']:.4f} ({s['wins']}/{s['seeds']} seeds ahead)"
        )
        spread = list(s["reach_per_seed"])
        rows.append(
            f"| {name} | {s['auc_mean']:.4f} ± {s['auc_std']:.4f} | {gap} | "
            f"{_reach(s['reach_mean_curve'], result['pool'])} | "
            + ", ".join("-" if v is None else f"{v:,}" for v in spread)
            + " |"
        )
    lines = [
        "# Learning curve: the labelling loop simulated on the seed corpus",
        "",
        f"Command: `{command}`" + (f" ({machine})" if machine else ""),
        "",
        f"Pool: the {result['pool']:,} gold sentences of train + validation; "
        f"test: the {result['test']:,} gold sentences of the",
        "test split (whole documents, as `build-dataset` split them), the same for every run. Model:",
        f"{opts['model']}. Start: {opts['initial']} labels, then {opts['step']} a step; "
        f"seeds {', '.join(map(str, opts['seeds']))};",
        f"at most {opts['per_doc']} sentences from one document per step for the diverse strategies.",
        "",
        f"Full-data score (all {result['pool']:,} labels): macro-F1 **{result['full_score']:.4f}**; target: "
        f"{summary['target']:.4f} (within {opts['tolerance']}).",
        "",
        f"![learning curves]({chart_name})",
        "",
        "Area under the curve is the mean macro-F1 over the label counts measured (trapezoids, divided by the",
        "width); the gap is each seed's area minus random's area for the same seed, mean ± standard deviation.",
        "",
        "| strategy | area (mean ± sd over seeds) | gap to random | labels to reach target (mean curve) | per seed |",
        "|---|---|---|---|---|",
        *rows,
        "",
        f"Best area among the learners: **{summary['best']}**.",
        "",
        *verdict(result),
    ]
    return "\n".join(lines)


def verdict(result: dict[str, Any]) -> list[str]:
    """What the numbers say about the targets, one line each, worked out from the numbers alone."""
    summary, pool = result["summary"], result["pool"]
    best = summary["strategies"][summary["best"]]
    ahead = best["gap_mean"] > 0 and best["gap_mean"] > best["gap_std"]
    reach = best["reach_mean_curve"]
    return [
        f"- Area above random beyond the seeds' spread: **{'yes' if ahead else 'no'}** for {summary['best']} "
        f"(gap {best['gap_mean']:+.4f}, spread {best['gap_std']:.4f}).",
        f"- Within {result['options']['tolerance']} of the full-data score with at most half the labels: "
        f"**{'yes' if reach is not None and reach <= pool / 2 else 'no'}** "
        f"({summary['best']}: {_reach(reach, pool)}; "
        f"random: {_reach(summary['strategies']['random']['reach_mean_curve'], pool)}).",
        "",
    ]


READING = "<!-- reading: kept when the report is written again -->"


def kept_reading(out: Path) -> str:
    """What an earlier report holds below the :data:`READING` marker (the written reading of the numbers)."""
    try:
        text = out.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""
    return text.split(READING, 1)[1].strip() if READING in text else ""


def write_report(result: dict[str, Any], out: Path, command: str, reading: str = "", machine: str = "") -> list[Path]:
    """``out`` (Markdown), ``<out stem>.png`` and ``<out stem>.json`` beside it; returns the three paths.

    Anything below the :data:`READING` marker of an earlier ``out`` is kept (unless ``reading``
    replaces it), so a written interpretation survives a new run next to the new numbers.
    """
    reading = reading or kept_reading(out)
    png = out.with_suffix(".png")
    raw = out.with_suffix(".json")
    with atomic_file(png, binary=True) as fh:
        fh.write(chart_png(result))
    with atomic_file(raw) as fh:
        fh.write(
            json.dumps(
                {k: v for k, v in result.items() if k != "curves"}
                | {"curves": {s: {str(seed): c for seed, c in by.items()} for s, by in result["curves"].items()}},
                indent=1,
                default=str,
            )
            + "\n"
        )
    with atomic_file(out) as fh:
        fh.write(
            markdown(result, command, png.name, machine)
            + f"\n{READING}\n\n"
            + (reading.strip() + "\n" if reading else "")
        )
    return [out, png, raw]
