"""The ``stance`` command line: parse options, load config, call one library function, print.

This is the only module that imports typer. Heavy libraries are imported inside commands so
that ``stance --help`` stays fast.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Optional, TypeVar

import typer

from training.errors import StanceError

app = typer.Typer(
    name="stance",
    help="Build a stance-toward-normalization dataset, compare classifiers in MLflow, label new text.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

F = TypeVar("F", bound=Callable[..., Any])

DATASET_CONFIG = Path("configs/dataset.yaml")
TRAIN_CONFIG = Path("configs/train.yaml")


def _err(line: str) -> None:
    from rich.console import Console

    Console(stderr=True, highlight=False, soft_wrap=True).print(f"[bold red]error:[/] {line}", markup=True)


def user_errors(func: F) -> F:
    """Turn a :class:`StanceError` into one line per problem on stderr and exit code 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except StanceError as exc:
            for line in exc.problems:
                _err(line)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            _err("interrupted; earlier datasets, models and runs were left as they were")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", help="Show the version and exit.")] = False,
) -> None:
    """Build a stance-toward-normalization dataset, compare classifiers in MLflow, label new text."""
    if version:
        from training import __version__

        typer.echo(__version__)
        raise typer.Exit()


ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="YAML config file.")]


@app.command()
@user_errors
def segment(
    path: Annotated[Path, typer.Argument(help="A document file (.txt, .md, .html, .jsonl, .csv).")],
    config: ConfigOpt = DATASET_CONFIG,
) -> None:
    """Print the sentences the builder cuts from one file, as JSON lines (an annotation template)."""
    from training.config import DatasetConfig, load_config
    from training.corpus import segment_file

    cfg = load_config(config, DatasetConfig) if config.exists() or config != DATASET_CONFIG else DatasetConfig()
    for row in segment_file(path, cfg):
        sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")


def _progress(description: str) -> Any:
    """A rich progress bar on stderr, silent when stderr is not a terminal."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    return Progress(TextColumn(description), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=True, disable=not console.is_terminal)


@app.command("build-dataset")
@user_errors
def build_dataset(
    config: ConfigOpt = DATASET_CONFIG,
    seeds: Annotated[Optional[Path], typer.Option("--seeds", help="Folder of documents (default: seeds_dir from the config).")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Where to save the dataset (default: out_dir from the config).")] = None,
    hf: Annotated[Optional[str], typer.Option("--hf", help="A Hugging Face dataset name, saved dataset folder or parquet file instead of --seeds.")] = None,
    text_column: Annotated[Optional[str], typer.Option("--text-column", help="Column holding the text (csv, jsonl, --hf).")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", help="Seed for the split (default: the config's seed).")] = None,
) -> None:
    """Turn documents into a labelled, split, fingerprinted Hugging Face dataset."""
    from rich.console import Console

    from training.config import DatasetConfig, load_config
    from training.dataset import build_dataset as build

    cfg = load_config(config, DatasetConfig)
    if seed is not None:
        cfg = cfg.model_copy(update={"seed": seed})
    with _progress("reading documents") as bar:
        task = bar.add_task("read", total=None)
        result = build(cfg, seeds=seeds, out=out, hf=hf, text_column=text_column,
                       progress=lambda done, total: bar.update(task, completed=done, total=total))
    console = _console()
    info = result.info
    console.print(_lf_table(result.lf_table))
    console.print(f"label model: {info['label_model']} (macro-F1 on gold: "
                  + ", ".join(f"{k} {v:.3f}" for k, v in info["label_model_gold_macro_f1"].items() if v == v) + ")")
    console.print("splits: " + ", ".join(f"{k} {v}" for k, v in info["splits"].items())
                  + f"; duplicates dropped: {info['duplicates_dropped']}")
    leak = info["leakage"]
    console.print(f"leakage: {leak['documents_in_several_splits']} documents and "
                  f"{leak['near_duplicates_across_splits']} near-duplicate pairs across splits")
    if info.get("agreement"):
        console.print(f"agreement: Cohen's kappa {info['agreement']['kappa']:.3f} on {info['agreement']['sentences']} sentences")
    console.print(f"saved {result.out} (fingerprint {result.fingerprint[:16]})")


def _console() -> Any:
    """Standard output; wide enough for tables when it is a file or a pipe."""
    from rich.console import Console

    console = Console(highlight=False)
    return console if console.is_terminal else Console(highlight=False, width=200)


def _lf_table(rows: list[dict[str, Any]]) -> Any:
    from rich.table import Table

    from training.config import LABELS

    table = Table(title="labelling functions against gold")
    cols = ["function", "coverage", "overlap", "conflict", "gold_votes", "accuracy"] + [f"precision_{l}" for l in LABELS]
    heads = ["function", "cover", "overlap", "conflict", "gold n", "acc"] + [f"P {l}" for l in LABELS]
    for c, head in zip(cols, heads):
        table.add_column(head, justify="left" if c == "function" else "right", no_wrap=True)
    for row in rows:
        table.add_row(*("" if row[c] is None else f"{row[c]:.3f}" if isinstance(row[c], float) else str(row[c]) for c in cols))
    return table


def main() -> None:
    """Entry point of the ``stance`` console script."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
