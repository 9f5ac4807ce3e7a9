"""The table on the terminal, docs/benchmarks.md and the raw JSON, from the same rows."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from benchmarks.measure import Row


def fmt(value: float | None, unit: str) -> str:
    """A figure with its unit, at a precision that suits it."""
    if value is None:
        return "-"
    if unit == "s":
        return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"
    if unit == "sentences/s":
        return f"{value:,.0f}/s"
    if unit == "MiB":
        return f"{value:,.0f} MiB" if abs(value) >= 10 else f"{value:.2f} MiB"
    if unit == "%":
        return f"{value:.1f} %"
    if unit == "modules":
        return f"{value:.0f}"
    if unit == "macro-F1":
        return f"{value:.3f}"
    return f"{value:.3g} {unit}".strip()


def verdict(row: Row) -> str:
    """pass, FAIL, info (no target) or n/a (not measured)."""
    if row.note.startswith("not measured"):
        return "n/a"
    if row.ok is None:
        return "info"
    return "pass" if row.ok else "FAIL"


def _ratio(row: Row) -> str:
    return "-" if row.ratio is None else f"{row.ratio:.2f}"


def _ref(row: Row) -> str:
    unit = row.extra.get("reference_unit", row.unit)
    return "-" if row.reference is None else f"{fmt(row.reference, unit)} ({row.reference_what})"


def print_table(rows: Sequence[Row]) -> None:
    """A plain-text table on stdout (no colour codes, so it reads the same in a log)."""
    heads = ("figure", "value", "reference", "ratio", "target", "result")
    table = [(r.what, fmt(r.value, r.unit), _ref(r), _ratio(r), r.target, verdict(r)) for r in rows]
    widths = [min(70, max(len(h), *(len(t[i]) for t in table))) for i, h in enumerate(heads)]
    line = "  ".join(h.ljust(w) for h, w in zip(heads, widths))
    print(line)
    print("-" * len(line))
    for t, r in zip(table, rows):
        print("  ".join(c[:w].ljust(w) for c, w in zip(t, widths)))
        if r.note:
            print(" " * 4 + r.note)


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def write_json(path: Path, rows: Sequence[Row], meta: dict[str, Any]) -> None:
    """Every row with all its fields, plus the machine and the command."""
    data = {**meta, "rows": [{**asdict(r), "result": verdict(r)} for r in rows]}
    _atomic_write(path, json.dumps(data, indent=2, default=str) + "\n")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def write_markdown(path: Path, rows: Sequence[Row], meta: dict[str, Any], preface: str, reading: str = "") -> None:
    """docs/benchmarks.md: how it was run, on what, the table, the notes of each row.

    ``reading`` is a hand-written interpretation block from an earlier report, kept verbatim
    (it says which run it was written for, so a stale one is visible as such).
    """
    m = meta["machine"]
    libs = ", ".join(f"{k} {v}" for k, v in m["libraries"].items())
    lines = [
        "# Benchmarks",
        "",
        preface.strip(),
        "",
        "## This run",
        "",
        f"- Command: `{meta['command']}` (from the project root; `make bench` runs `python -m benchmarks`)",
        f"- Date: {meta['date']}; whole suite took {meta['seconds']:.0f} s",
        f"- CPU: {m['cpu']}, {m['cores']} cores ({m['usable_cores']} usable), {m['memory_gib']} GiB memory; {m['platform']}",
        f"- Python: {m['python']}",
        f"- Libraries: {libs}",
    ]
    if m.get("load_average"):
        la = m["load_average"]
        lines.append(
            f"- Load average (1, 5, 15 min) before the run {la['before']}, after {la['after']} "
            f"(other processes on the machine slow absolute figures; ratios less so)"
        )
    if m.get("blas_env"):
        lines.append("- Environment: " + ", ".join(f"{k}={v}" for k, v in m["blas_env"].items()))
    lines += [
        "",
        "## Figures",
        "",
        "| figure | value | reference | ratio | target | result | runs |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {_cell(r.what)} | {fmt(r.value, r.unit)} | {_cell(_ref(r))} | {_ratio(r)} | "
            f"{_cell(r.target)} | {verdict(r)} | {r.runs} |"
        )
    missed = [r for r in rows if verdict(r) == "FAIL"]
    unmeasured = [r for r in rows if verdict(r) == "n/a"]
    lines += [
        "",
        "Targets not met in this run: "
        + (
            "; ".join(
                f"{_cell(r.what)} ({fmt(r.value, r.unit)}, ratio {_ratio(r)}, target {_cell(r.target)})" for r in missed
            )
            or "none"
        )
        + ".",
    ]
    if unmeasured:
        lines += [
            "",
            "Not measured in this run: " + "; ".join(f"{_cell(r.what)} ({_cell(r.note)})" for r in unmeasured) + ".",
        ]
    if reading:
        lines += ["", "## Reading of the figures", "", reading]
    lines += ["", "## Notes per figure", ""]
    for r in rows:
        parts = [p for p in (r.note, f"command: `{r.command}`" if r.command else "") if p]
        if parts:
            lines.append(f"- **{_cell(r.what)}**: " + "; ".join(_cell(p) for p in parts))
    if meta.get("notes"):
        lines += ["", "## Run notes", ""] + [f"- {n}" for n in meta["notes"]]
    _atomic_write(path, "\n".join(lines) + "\n")
