from pathlib import Path
from typing import Any

from training.curve_report import READING, markdown, verdict, write_report
from training.learning_curve import summarize


def _result(margin_end: float) -> dict[str, Any]:
    curves = {
        "random": {1: [(2, 0.4), (4, 0.5)], 2: [(2, 0.42), (4, 0.5)]},
        "margin": {1: [(2, 0.45), (4, margin_end)], 2: [(2, 0.47), (4, margin_end)]},
    }
    return {
        "pool": 4,
        "test": 2,
        "full_score": 0.5,
        "curves": curves,
        "summary": summarize(curves, 0.5, 0.01),
        "options": {"model": "m", "initial": 2, "step": 2, "seeds": [1, 2], "per_doc": 5, "tolerance": 0.01},
    }


def test_the_verdict_follows_the_numbers() -> None:
    ahead = verdict(_result(0.5))
    assert ahead[0] == "- Area above random beyond the seeds' spread: **yes** for margin (gap +0.0250, spread 0.0000)."
    assert ahead[1].startswith(
        "- Within 0.01 of the full-data score with at most half the labels: **no** (margin: 4 (100%)"
    )
    text = markdown(_result(0.5), "stance learning-curve", "c.png")
    assert "| margin | 0.4800 ± 0.0071 | +0.0250 ± 0.0000 (2/2 seeds ahead) | 4 (100%) | 4, 4 |" in text


def test_a_new_report_keeps_the_reading_below_the_marker(tmp_path: Path) -> None:
    out = tmp_path / "curve.md"
    write_report(_result(0.5), out, "stance learning-curve")
    out.write_text(out.read_text(encoding="utf-8") + "Our reading.\n", encoding="utf-8")
    written = write_report(_result(0.49), out, "stance learning-curve --seeds 1")
    text = out.read_text(encoding="utf-8")
    assert "--seeds 1" in text and text.endswith(f"{READING}\n\nOur reading.\n")
    assert [p.name for p in written] == ["curve.md", "curve.png", "curve.json"]
