"""``stance pipeline``: build the dataset, train and compare, evaluate the champion on test.

The same three steps, with the same paths, as the stages of ``dvc.yaml``; running either one
gives the same dataset fingerprint and the same metrics.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from training.config import DatasetConfig
from training.errors import StanceError
from training.train_config import TrainConfig


@dataclass(frozen=True)
class PipelineResult:
    """Everything the three steps produced."""

    fingerprint: str
    dataset: Path
    train: Any  # training.train.TrainResult
    report: dict[str, Any]
    written: list[Path]


def run_pipeline(
    dataset_cfg: DatasetConfig,
    train_cfg: TrainConfig,
    metrics: Path,
    plots: Path,
    say: Callable[[str], None] | None = None,
) -> PipelineResult:
    """Run build-dataset, train and evaluate in order; stop at the first problem."""
    from training.dataset import build_dataset, load_built
    from training.evaluate import evaluate_model
    from training.reports import write_reports
    from training.train import train

    say = say or (lambda _line: None)
    if Path(train_cfg.dataset) != Path(dataset_cfg.out_dir):
        raise StanceError(
            f"configs disagree: train dataset is {train_cfg.dataset} but build-dataset writes {dataset_cfg.out_dir} "
            "(make 'dataset' in the train config equal 'out_dir' in the dataset config)"
        )
    say(f"1/3 building the dataset from {dataset_cfg.seeds_dir}")
    built = build_dataset(dataset_cfg)
    say(f"    {sum(built.info['splits'].values())} sentences, fingerprint {built.fingerprint[:16]}")
    say("2/3 training and comparing candidates")
    trained = train(train_cfg, progress=say, dataset=load_built(built.out))
    say(f"3/3 evaluating {trained.export_dir} on the test split")
    report = evaluate_model(Path(built.out), str(trained.export_dir), split="test")
    written = write_reports(report, metrics=metrics, plots=plots)
    return PipelineResult(built.fingerprint, Path(built.out), trained, report, written)
