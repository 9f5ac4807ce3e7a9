from pathlib import Path

import pytest
from training.cli import app
from training.errors import StanceError
from training.learning_curve import CurveOptions, area, labels_to_reach, simulate, summarize
from typer.testing import CliRunner

from trainkit import make_dataset, save_dataset

runner = CliRunner()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dsd, info = make_dataset(n_docs=16)
    return save_dataset(tmp_path_factory.mktemp("curve") / "dataset", dsd, info)


def test_area_is_the_mean_height_and_reach_the_first_count_at_target() -> None:
    assert area([(10, 0.2), (20, 0.4), (30, 0.4)]) == pytest.approx((0.3 * 10 + 0.4 * 10) / 20)
    assert labels_to_reach([(10, 0.2), (20, 0.41), (30, 0.5)], 0.4) == 20
    assert labels_to_reach([(10, 0.2)], 0.4) is None


def test_summary_pairs_each_seed_with_random() -> None:
    curves = {
        "random": {1: [(10, 0.2), (20, 0.4)], 2: [(10, 0.3), (20, 0.5)]},
        "margin": {1: [(10, 0.2), (20, 0.6)], 2: [(10, 0.3), (20, 0.5)]},
    }
    summary = summarize(curves, full=0.6, tolerance=0.01)
    margin = summary["strategies"]["margin"]
    assert margin["gap_mean"] == pytest.approx(0.05) and margin["wins"] == 1 and margin["reach_per_seed"] == [20, None]
    assert margin["mean_curve"] == [(10, pytest.approx(0.25)), (20, pytest.approx(0.55))]
    assert summary["best"] == "margin" and summary["target"] == pytest.approx(0.59)


def test_every_strategy_runs_on_a_tiny_dataset(dataset: Path) -> None:
    opts = CurveOptions(dataset, seeds=(0, 1), step=12, initial=12, per_doc=3)
    result = simulate(opts)
    assert result["pool"] == 84 and result["test"] == 12
    for strategy, by_seed in result["curves"].items():
        for curve in by_seed.values():
            assert [n for n, _ in curve] == [12, 24, 36, 48, 60, 72, 84], strategy
            assert curve[-1][1] == pytest.approx(result["full_score"])  # the whole pool is the full-data model
    assert set(result["summary"]["strategies"]) == {"random", "margin", "entropy", "margin-diverse", "entropy-diverse"}


def test_the_command_writes_the_report_chart_and_mlflow_run(dataset: Path, tmp_path: Path) -> None:
    import mlflow

    out = tmp_path / "docs" / "curve.md"
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    result = runner.invoke(
        app,
        [
            "learning-curve",
            "--data",
            str(dataset),
            "--strategies",
            "random,margin-diverse",
            "--seeds",
            "2",
            "--step",
            "20",
            "--initial",
            "12",
            "--out",
            str(out),
            "--tracking-uri",
            uri,
        ],
    )
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "| margin-diverse |" in text and "![learning curves](curve.png)" in text
    assert "- Area above random beyond the seeds' spread: **" in text
    assert out.with_suffix(".png").read_bytes()[:4] == b"\x89PNG" and out.with_suffix(".json").exists()
    client = mlflow.MlflowClient(uri)
    run = client.search_runs([client.get_experiment_by_name("stance-learning-curve").experiment_id])[0]
    history = client.get_metric_history(run.info.run_id, "curve_macro_f1.margin_diverse")
    assert [m.step for m in history] == [12, 32, 52, 72, 84]
    assert {a.path for a in client.list_artifacts(run.info.run_id)} == {"curve.md", "curve.png", "curve.json"}


def test_unknown_strategies_and_a_missing_baseline_are_refused(dataset: Path) -> None:
    with pytest.raises(StanceError) as err:
        simulate(CurveOptions(dataset, strategies=("margin", "bald"), step=0))
    assert [p.split(" (")[0] for p in err.value.problems] == [
        "unknown strategy 'bald'",
        "the strategies must include random",
        "invalid --step 0 or --initial 100",
    ]
