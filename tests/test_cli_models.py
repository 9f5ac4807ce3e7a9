"""`stance compare` on a leaderboard read back from MLflow: the README's columns in 100 columns."""

from __future__ import annotations

import json
from typing import Any

import pytest
from training.cli import app
from typer.testing import CliRunner

# (candidate, episode CV mean, std, document CV, test, CV ECE, sentences/s, bytes, verdict, p)
README = [
    ("vote-word_char+minilm", 0.684, 0.025, 0.698, 0.667, 0.040, 30, 95_945_000, "best", None),
    ("logreg-word_char", 0.657, 0.021, 0.662, 0.651, 0.053, 806, 3_775_000, "worse", 0.012),
    ("ridge-word", 0.647, 0.020, 0.654, 0.643, 0.055, 6_802, 2_411_000, "tied", 0.21),
    ("logreg-minilm", 0.648, 0.022, 0.654, 0.662, 0.030, 11, 90_906_000, "worse", 0.0004),
    ("rules", 0.484, 0.015, 0.485, 0.461, 0.485, 4_932, 137_216, "worse", 0.0001),
    ("dummy", 0.177, 0.005, 0.177, 0.179, 0.000, 1_138_634, 12_288, "worse", 0.0),
]


def _row(name: str, ep: float, std: float, doc: float, test: float, ece: float, speed: float, size: int,
         verdict: str, p: float | None) -> dict[str, Any]:  # fmt: skip
    return {
        "candidate": name,
        "training_data": "gold",
        "cv_macro_f1_mean": ep,
        "cv_macro_f1_std": std,
        "cv_f_avg_mean": ep - 0.03,
        "cv_f_avg_std": std,
        "cv_accuracy_mean": ep + 0.01,
        "cv_episode_macro_f1_mean": ep,
        "cv_episode_macro_f1_std": std,
        "cv_document_macro_f1_mean": doc,
        "test_macro_f1": test,
        "test_f_avg": test - 0.03,
        "cv_ece": ece,
        "test_ece": ece + 0.01,
        "test_brier": 0.405,
        "fit_seconds": 12.5,
        "predict_sentences_per_s": speed,
        "model_size_bytes": size,
        "p_value": p,
        "is_best": verdict == "best",
        "tied_with_best": verdict in ("best", "tied"),
    }


BOARD = {
    "tracking_uri": "sqlite:///mlflow.db",
    "run_id": "0123456789abcdef0123456789abcdef",
    "run_name": "sleepy-owl-42",
    "best": "vote-word_char+minilm",
    "metric": "macro_f1",
    "method": "ttest",
    "alpha": "0.05",  # MLflow returns run parameters as strings
    "registered": "stance-classifier v3",
    "dataset_fingerprint": "fedcba9876543210fedcba",
    "rows": [_row(*r) for r in README],
}


@pytest.fixture
def compare(monkeypatch: pytest.MonkeyPatch) -> Any:
    """``stance compare`` in a 100-column terminal, on the README's leaderboard."""
    import training.tracking

    monkeypatch.setattr(training.tracking, "read_leaderboard", lambda uri, experiment, run_id: BOARD)
    return lambda *args: CliRunner().invoke(app, ["compare", *args], env={"COLUMNS": "100"})


def test_the_default_table_has_the_readme_columns_in_100_columns(compare: Any) -> None:
    result = compare()
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 100
    assert "…" not in result.output  # no cell cut short
    assert "episode CV" in result.output and "document CV" in result.output and "test ECE" not in result.output
    vote = next(line for line in lines if line.startswith("vote-word_char+minilm"))
    assert vote.split() == ["vote-word_char+minilm", "0.684", "±", "0.025", "0.698", "0.667", "0.040", "30",
                            "91.5", "MB", "best"]  # fmt: skip
    dummy = next(line for line in lines if line.startswith("dummy"))
    assert dummy.split()[-5:] == ["1,138,634", "12", "KB", "worse", "<0.001"]
    assert next(line for line in lines if line.startswith("ridge-word")).split()[-2:] == ["tied", "0.210"]
    assert "best: vote-word_char+minilm; registered stance-classifier v3; dataset fedcba9876543210" in result.output


def test_wide_shows_every_column(compare: Any) -> None:
    result = compare("--wide")
    assert result.exit_code == 0, result.output
    for head in ("labels", "CV F_avg", "test ECE", "test Brier", "fit s", "size KB"):
        assert head in result.output, head
    assert "…" not in result.output  # at full width, wider than the terminal


def test_json_gives_alpha_as_a_number(compare: Any) -> None:
    result = compare("--json")
    assert result.exit_code == 0, result.output
    board = json.loads(result.output)
    assert board["alpha"] == 0.05 and isinstance(board["alpha"], float)
    assert board["rows"][0]["candidate"] == "vote-word_char+minilm"
