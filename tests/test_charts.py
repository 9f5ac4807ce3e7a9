import csv
import io
import json
from pathlib import Path

from training.charts import LEADERBOARD_COLUMNS, bar_chart, confusion_png, leaderboard_csv

PNG = b"\x89PNG\r\n\x1a\n"


def _row(name: str, mean: float, best: bool = False, tied: bool = False) -> dict:
    return {
        "candidate": name,
        "cv_macro_f1_mean": mean,
        "cv_macro_f1_std": 0.02,
        "test_macro_f1": mean - 0.01,
        "is_best": best,
        "tied_with_best": tied,
        "params": {"C": 0.5, "alpha": [1, 2]},
    }


def test_leaderboard_csv_keeps_the_column_order_and_params_as_json() -> None:
    text = leaderboard_csv([_row("a", 0.7, best=True), _row("b", 0.6)])
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == list(LEADERBOARD_COLUMNS)
    assert [r["candidate"] for r in rows] == ["a", "b"] and rows[0]["is_best"] == "True"
    assert json.loads(rows[1]["params"]) == {"C": 0.5, "alpha": [1, 2]}


def test_charts_render_png(tmp_path: Path) -> None:
    assert confusion_png([[5, 1, 0], [2, 4, 1], [0, 0, 7]], "lr-word", 0.71).startswith(PNG)
    bar_chart(
        [_row("a", 0.7, best=True), _row("b", 0.68, tied=True), _row("c", 0.4)], "macro_f1", tmp_path / "board.png"
    )
    assert (tmp_path / "board.png").read_bytes().startswith(PNG)
