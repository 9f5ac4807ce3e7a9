"""Commands that compare and choose models: ``train``, ``compare`` and the whole ``pipeline``."""

from __future__ import annotations

import json
import sys
from typing import Any

from . import options as o
from .base import user_errors
from .render import console, eval_report, leaderboard_table, narrow_leaderboard_table, say_on_stderr


def _trained_table(result: Any) -> Any:
    """The leaderboard of a finished ``train``, best CV score first."""
    rows = sorted(result.rows, key=lambda r: -r[f"cv_{result.metric}_mean"])
    title = f"leaderboard ({result.method}, alpha {result.alpha}; CV on train+validation, test used once)"
    return leaderboard_table(rows, result.metric, title)


@user_errors
def train(
    config: o.ConfigOpt = o.TRAIN_CONFIG,
    dataset: o.TrainDatasetOpt = None,
    experiment: o.TrainExperimentOpt = None,
    tracking_uri: o.TrainTrackingUriOpt = None,
    export_dir: o.ExportDirOpt = None,
    training_data: o.TrainingDataOpt = None,
    seed: o.TrainSeedOpt = None,
    jobs: o.TrainJobsOpt = None,
    force: o.ForceOpt = False,
    cluster: o.ClusterOpt = None,
) -> None:
    """Compare the configured classifiers with repeated grouped CV, log to MLflow, register and export the best."""
    from training.train import train as run
    from training.train_config import with_overrides

    cfg = with_overrides(
        o.train_config(config),
        {
            "dataset": dataset and str(dataset),
            "export_dir": export_dir and str(export_dir),
            "training_data": training_data,
            "seed": seed,
            "n_jobs": jobs,
            "cluster": cluster,
        },
        {"experiment": experiment, "uri": tracking_uri},
    )
    result = run(cfg, progress=say_on_stderr(), force=force)
    stdout = console()
    stdout.print(_trained_table(result))
    where = f"exported to {result.export_dir}" if result.exported else f"{result.export_dir} left as it was"
    stdout.print(f"best: {result.best} -> {result.registered}; {where}")
    stdout.print(f"MLflow: {result.tracking_uri}, experiment '{result.experiment}', run {result.parent_run_id}")
    total = max(result.seconds_total, 1e-9)
    stdout.print(
        f"time: {result.seconds_total:.1f} s; MLflow: {result.seconds_tracking_exclusive:.1f} s not overlapped "
        f"by training ({100 * result.seconds_tracking_exclusive / total:.1f}%), "
        f"{result.seconds_tracking:.1f} s in all ({100 * result.seconds_tracking / total:.1f}%)"
    )


@user_errors
def compare(
    experiment: o.ExperimentOpt = "stance",
    run_id: o.RunOpt = None,
    tracking_uri: o.TrackingUriOpt = None,
    as_json: o.LeaderboardJsonOpt = False,
    wide: o.WideOpt = False,
) -> None:
    """Print the leaderboard of a `stance train` run, read back from MLflow."""
    from training.tracking import read_leaderboard

    board = read_leaderboard(tracking_uri, experiment, run_id)
    if as_json:
        sys.stdout.write(json.dumps(_numeric_alpha(board), indent=2, default=str) + "\n")
        return
    title = f"run {board['run_id']} ({board['run_name']}), {board['method']} alpha {board['alpha']}"
    stdout = console(full_width=wide)
    if wide:
        stdout.print(leaderboard_table(board["rows"], board["metric"], title))
    else:
        stdout.print(narrow_leaderboard_table(board["rows"], title))
    stdout.print(
        f"best: {board['best']}; registered {board['registered'] or '-'}; "
        f"dataset {board['dataset_fingerprint'][:16] or '-'}"
    )


def _numeric_alpha(board: dict[str, Any]) -> dict[str, Any]:
    """The board with ``alpha`` as a number: MLflow hands run parameters back as strings."""
    alpha = board.get("alpha")
    return {**board, "alpha": float(alpha)} if isinstance(alpha, str) and alpha else board


@user_errors
def pipeline(
    dataset_config: o.DatasetConfigOpt = o.DATASET_CONFIG,
    train_config: o.TrainConfigOpt = o.TRAIN_CONFIG,
    metrics: o.PipelineMetricsOpt = o.METRICS,
    plots: o.PipelinePlotsOpt = o.PLOTS,
) -> None:
    """Run the whole job: build the dataset, train and compare, evaluate the champion on test."""
    from training.config import DatasetConfig, load_config
    from training.pipeline import run_pipeline
    from training.train_config import TrainConfig

    dcfg = load_config(dataset_config, DatasetConfig)
    tcfg = load_config(train_config, TrainConfig)
    result = run_pipeline(dcfg, tcfg, metrics, plots, say=say_on_stderr())
    stdout = console()
    trained = result.train
    stdout.print(_trained_table(trained))
    stdout.print(eval_report(result.report))
    stdout.print(
        f"dataset {result.dataset} (fingerprint {result.fingerprint[:16]}); champion {trained.best} "
        f"-> {trained.registered}, exported to {trained.export_dir}"
    )
    stdout.print(f"MLflow: {trained.tracking_uri}, experiment '{trained.experiment}', run {trained.parent_run_id}")
    stdout.print("metrics: " + ", ".join(str(p) for p in result.written))
