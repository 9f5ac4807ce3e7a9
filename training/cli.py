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


def main() -> None:
    """Entry point of the ``stance`` console script."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
