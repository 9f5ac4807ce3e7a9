"""What the commands print: consoles, sizes, verdicts and the narrow leaderboard."""

from __future__ import annotations

import pytest
from rich.console import Console
from training.cli import render


@pytest.mark.parametrize(
    ("size", "text"),
    [(12_288, "12 KB"), (137_216, "134 KB"), (3_775_000, "3.6 MB"), (95_945_000, "91.5 MB"), (None, "-")],
)
def test_sizes_read_as_in_the_readme(size: float | None, text: str) -> None:
    assert render._size(size) == text


def test_a_missing_or_nan_value_is_a_dash() -> None:
    row = {"a": None, "b": float("nan"), "c": 1234.5}
    assert [render._num(row, k, ",.0f") for k in ("a", "b", "c", "d")] == ["-", "-", "1,234", "-"]


@pytest.mark.parametrize(
    ("row", "verdict"),
    [
        ({"is_best": True, "tied_with_best": True, "p_value": None}, "[bold green]best[/]"),
        ({"is_best": False, "tied_with_best": True, "p_value": 0.2}, "[green]tied[/] 0.200"),
        ({"is_best": False, "tied_with_best": False, "p_value": 0.0004}, "worse <0.001"),
        (
            {"is_best": False, "tied_with_best": True, "p_value": 0.3, "is_champion": True},
            "[bold green]champion[/] 0.300",
        ),
        ({"is_best": False, "tied_with_best": False, "p_value": float("nan")}, "worse -"),
    ],
)
def test_the_verdict_carries_the_p_value(row: dict[str, object], verdict: str) -> None:
    assert render._verdict(row) == verdict


def test_a_long_candidate_name_wraps_instead_of_being_cut() -> None:
    row = {
        "candidate": "a-very-long-candidate-name-with-many-features-and-options",
        "cv_episode_macro_f1_mean": 0.5,
        "cv_episode_macro_f1_std": 0.01,
        "predict_sentences_per_s": 1_234_567.0,
        "model_size_bytes": 2_000_000,
        "is_best": True,
        "tied_with_best": True,
    }
    out = Console(width=80, record=True, file=None)
    with out.capture() as captured:
        out.print(render.narrow_leaderboard_table([row], "t"))
    text = captured.get()
    assert "…" not in text and "1,234,567" in text and "1.9 MB" in text
    assert max(len(line) for line in text.splitlines()) <= 80


def test_pipes_get_full_width_unless_columns_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    assert render.console().width == render.FULL_WIDTH
    monkeypatch.setenv("COLUMNS", "100")
    assert render.console().width == 100
    assert render.console(full_width=True).width == render.FULL_WIDTH
