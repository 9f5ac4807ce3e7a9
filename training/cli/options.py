"""Option and argument types shared by the commands, and the default paths they point to.

Each type carries its flags and help text, so a command's signature lists names and defaults.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

DATASET_CONFIG = Path("configs/dataset.yaml")
TRAIN_CONFIG = Path("configs/train.yaml")
METRICS = Path("metrics/evaluate.json")
PLOTS = Path("metrics/plots")

ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="YAML config file.")]
ClusterOpt = Annotated[
    str | None,
    typer.Option(
        "--cluster",
        envvar="STANCE_CLUSTER",
        show_envvar=True,
        help="Dask scheduler, tcp://HOST:8786: its workers do the work, results identical to a local run.",
    ),
]
ModelOpt = Annotated[
    str,
    typer.Option(
        "--model",
        "-m",
        help="Export directory, .skops file or MLflow model URI (runs:/..., models:/stance-classifier@champion).",
    ),
]
TextColumnOpt = Annotated[str, typer.Option("--text-column", help="Field or column holding the text (jsonl, csv).")]
ExperimentOpt = Annotated[str, typer.Option("--experiment", "-e", help="MLflow experiment to read.")]
TrackingUriOpt = Annotated[
    str | None,
    typer.Option("--tracking-uri", help="MLflow store (default: $MLFLOW_TRACKING_URI, sqlite:///mlflow.db)."),
]
DatasetFolderOpt = Annotated[Path, typer.Option("--data", "-d", help="A dataset folder saved by build-dataset.")]

# build-dataset
SeedsOpt = Annotated[
    Path | None, typer.Option("--seeds", help="Folder of documents (default: seeds_dir from the config).")
]
DatasetOutOpt = Annotated[
    Path | None, typer.Option("--out", help="Where to save the dataset (default: out_dir from the config).")
]
HfOpt = Annotated[
    str | None,
    typer.Option("--hf", help="A Hugging Face dataset name, saved dataset folder or parquet file instead of --seeds."),
]
BuildTextColumnOpt = Annotated[
    str | None, typer.Option("--text-column", help="Column holding the text (csv, jsonl, --hf).")
]
SplitSeedOpt = Annotated[int | None, typer.Option("--seed", help="Seed for the split (default: the config's seed).")]
WeakLabelsOpt = Annotated[
    str,
    typer.Option(
        "--weak-labels",
        help="Weak labels from the labelling functions (rules), a trained model (model), "
        "or the model voting with them (both).",
    ),
]
WeakModelOpt = Annotated[
    str | None,
    typer.Option("--model", "-m", help="The model for --weak-labels model|both (default: models/stance-classifier)."),
]

# predict
SentencesArg = Annotated[
    list[str] | None,
    typer.Argument(help="Sentences to label (else --input or standard input).", show_default=False),
]
InputOpt = Annotated[
    Path | None,
    typer.Option(
        "--input", "-i", help="A .txt (one sentence a line), .jsonl or .csv file; .md/.html with --documents."
    ),
]
InputFormatOpt = Annotated[
    str | None,
    typer.Option("--input-format", help="txt, jsonl or csv (default: the file suffix; txt for standard input)."),
]
DocumentsOpt = Annotated[
    bool, typer.Option("--documents", help="Treat each input as a document and segment it like build-dataset.")
]
OutputOpt = Annotated[
    Path | None,
    typer.Option("--output", "-o", help="Write rows to this file (atomically) instead of standard output."),
]
PredictFormatOpt = Annotated[
    str | None,
    typer.Option(
        "--format",
        "-f",
        help="table, jsonl or csv (default: a table on a terminal, else jsonl; csv for a .csv --output).",
    ),
]
BatchSizeOpt = Annotated[
    int, typer.Option("--batch-size", help="Sentences per model call; memory follows this, not the input size.")
]
PredictJobsOpt = Annotated[
    int | None,
    typer.Option(
        "--jobs",
        "-j",
        help="Processes labelling batches in parallel, output in input order "
        "(default: the usable CPU cores; 1: no extra process).",
        show_default=False,
    ),
]
MinConfidenceOpt = Annotated[
    float | None,
    typer.Option(
        "--min-confidence",
        help="Label a sentence 'uncertain' when its top probability is below this, between 0 and 1 "
        "(default: min_confidence of the train config the model was trained with; none: label every sentence).",
        show_default=False,
    ),
]

# evaluate
LabelledDataOpt = Annotated[
    Path,
    typer.Option("--data", "-d", help="Labelled .jsonl/.csv file, or a dataset folder saved by build-dataset."),
]
SplitOpt = Annotated[str | None, typer.Option("--split", help="Split of a dataset folder (default: test).")]
EvalTextColumnOpt = Annotated[str, typer.Option("--text-column", help="Field or column holding the text.")]
LabelColumnOpt = Annotated[str, typer.Option("--label-column", help="Field or column holding the true label.")]
EvalLogOpt = Annotated[bool, typer.Option("--log", help="Record the evaluation as an MLflow run linked to the model.")]
TrainingConfigOpt = Annotated[
    Path, typer.Option("--config", "-c", help="Training config (its tracking section, for --log).")
]
MetricsOpt = Annotated[
    Path | None, typer.Option("--metrics", help="Also write the headline metrics as JSON here (for dvc metrics).")
]
PlotsOpt = Annotated[
    Path | None,
    typer.Option("--plots", help="Also write confusion and per-class CSVs into this folder (for dvc plots)."),
]
TargetAccuracyOpt = Annotated[
    float | None,
    typer.Option(
        "--target-accuracy",
        help="Also find the smallest top-probability threshold whose kept sentences reach this accuracy (0 to 1).",
        show_default=False,
    ),
]

# train
TrainDatasetOpt = Annotated[
    Path | None, typer.Option("--dataset", "-d", help="Built dataset folder (default: dataset in the config).")
]
TrainExperimentOpt = Annotated[
    str | None, typer.Option("--experiment", "-e", help="MLflow experiment (default: tracking.experiment).")
]
TrainTrackingUriOpt = Annotated[
    str | None,
    typer.Option(
        "--tracking-uri", help="MLflow store (default: tracking.uri, $MLFLOW_TRACKING_URI, sqlite:///mlflow.db)."
    ),
]
ExportDirOpt = Annotated[
    Path | None, typer.Option("--export-dir", help="Where the champion is exported (default: export_dir).")
]
TrainingDataOpt = Annotated[
    str | None, typer.Option("--training-data", help="gold, gold+weak or both (default: training_data).")
]
TrainSeedOpt = Annotated[
    int | None, typer.Option("--seed", help="Seed of CV splits and models (default: the config's seed).")
]
TrainJobsOpt = Annotated[int | None, typer.Option("--jobs", "-j", help="Worker processes (default: n_jobs).")]
ForceOpt = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Move the champion alias to the new model even when it is significantly worse than the current one.",
    ),
]


# compare
RunOpt = Annotated[
    str | None,
    typer.Option("--run", "-r", help="A `stance train` parent run id (default: the latest finished one)."),
]
LeaderboardJsonOpt = Annotated[bool, typer.Option("--json", help="Print the leaderboard as JSON.")]
WideOpt = Annotated[
    bool,
    typer.Option(
        "--wide", help="Show every leaderboard column, at full width (default: the README's, in 100 columns)."
    ),
]
ReportJsonOpt = Annotated[bool, typer.Option("--json", help="Print the report as JSON.")]

# pipeline
DatasetConfigOpt = Annotated[Path, typer.Option("--dataset-config", help="Config of build-dataset.")]
TrainConfigOpt = Annotated[Path, typer.Option("--train-config", help="Config of train.")]
PipelineMetricsOpt = Annotated[Path, typer.Option("--metrics", help="Where the test metrics JSON goes.")]
PipelinePlotsOpt = Annotated[Path, typer.Option("--plots", help="Where the confusion and per-class CSVs go.")]

# queue, annotate, import-labels, agreement, audit-labels
FolderArg = Annotated[Path, typer.Argument(help="Folder of unlabelled documents (any format build-dataset reads).")]
QueueOutOpt = Annotated[
    Path, typer.Option("--out", "-o", help="The queue file: .jsonl, .csv, or .json for Label Studio.")
]
ScoringModelOpt = Annotated[
    str, typer.Option("--model", "-m", help="Model that scores the sentences; 'rules' for the labelling functions.")
]
KOpt = Annotated[int, typer.Option("--k", help="How many sentences to choose.")]
ClusteringSeedOpt = Annotated[int, typer.Option("--seed", help="Seed of the clustering.")]
ByOpt = Annotated[str, typer.Option("--by", help="Uncertainty measure: margin or entropy.")]
QueuePerDocOpt = Annotated[int | None, typer.Option("--per-doc", help="At most this many sentences from one document.")]
QueueFormatOpt = Annotated[
    str | None, typer.Option("--format", "-f", help="jsonl, csv or labelstudio (default: from the --out suffix).")
]
QueueArg = Annotated[
    Path,
    typer.Argument(metavar="QUEUE", help="A queue written by `stance queue`, `agreement` or `audit-labels` (.jsonl)."),
]
AnnotatorOpt = Annotated[
    str, typer.Option("--annotator", "-a", help="Your name (letters, digits, . _ -); it goes on every label.")
]
GoldOutOpt = Annotated[
    Path | None, typer.Option("--out", "-o", help="Gold output (default: <queue>.<annotator>.gold.jsonl).")
]
LabelFilesArg = Annotated[
    list[Path], typer.Argument(help="Label Studio JSON exports, CSV or JSON-lines files with text and label.")
]
DocsOpt = Annotated[
    Path, typer.Option("--docs", help="The document folder whose <stem>.gold.jsonl files receive the labels.")
]
SkipBadOpt = Annotated[
    bool, typer.Option("--skip-bad", help="Write the good labels and list the bad ones as warnings.")
]
ReplaceOpt = Annotated[bool, typer.Option("--replace", help="Let imported labels overwrite different gold labels.")]
GoldFilesArg = Annotated[list[Path], typer.Argument(help="Gold files of two or more annotators (annotate's outputs).")]
AdjudicationOutOpt = Annotated[
    Path, typer.Option("--out", "-o", help="Adjudication queue of the disagreements (open it with annotate).")
]
NumbersJsonOpt = Annotated[bool, typer.Option("--json", help="Print the numbers as JSON.")]
ReviewOutOpt = Annotated[Path, typer.Option("--out", "-o", help="Review queue (open it with annotate).")]
FoldsOpt = Annotated[int, typer.Option("--folds", help="Folds of the grouped cross-validation.")]
LimitOpt = Annotated[int | None, typer.Option("--limit", help="Keep only this many of the likeliest errors.")]
AuditSeedOpt = Annotated[int, typer.Option("--seed", help="Seed of the folds and the model.")]

# learning-curve
OracleDataOpt = Annotated[
    Path, typer.Option("--data", "-d", help="A dataset folder saved by build-dataset (its gold is the oracle).")
]
StrategiesOpt = Annotated[
    str,
    typer.Option("--strategies", help="Comma-separated: random, margin, entropy, margin-diverse, entropy-diverse."),
]
SeedCountOpt = Annotated[int, typer.Option("--seeds", help="How many seeds (runs per strategy).")]
FirstSeedOpt = Annotated[int, typer.Option("--seed", help="The first seed; the others follow it.")]
StepOpt = Annotated[int, typer.Option("--step", help="Labels added per step.")]
InitialOpt = Annotated[int, typer.Option("--initial", help="Labels to start from.")]
MaxLabelsOpt = Annotated[
    int | None, typer.Option("--max-labels", help="Stop at this many labels (default: the whole pool).")
]
StepPerDocOpt = Annotated[
    int, typer.Option("--per-doc", help="Diverse strategies: at most this many sentences of one document per step.")
]
CurveOutOpt = Annotated[
    Path,
    typer.Option("--out", "-o", help="The Markdown report; the chart (.png) and raw curves (.json) go beside it."),
]
CurveLogOpt = Annotated[bool, typer.Option("--log/--no-log", help="Also record the run in MLflow.")]
CurveExperimentOpt = Annotated[str, typer.Option("--experiment", "-e", help="MLflow experiment.")]


def dataset_config(path: Path) -> Any:
    """The dataset config at ``path``; the built-in defaults when the default file is absent."""
    from training.config import DatasetConfig, load_config

    return load_config(path, DatasetConfig) if path.exists() or path != DATASET_CONFIG else DatasetConfig()


def train_config(path: Path) -> Any:
    """The training config at ``path``; the built-in defaults when the default file is absent."""
    from training.config import load_config
    from training.train_config import TrainConfig

    return load_config(path, TrainConfig) if path.exists() or path != TRAIN_CONFIG else TrainConfig()
