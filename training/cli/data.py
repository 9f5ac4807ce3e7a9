"""Commands that read documents: ``segment`` and ``build-dataset``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from . import options as o
from .base import user_errors
from .render import console, dataset_lines, lf_table, progress


@user_errors
def segment(
    path: Annotated[Path, typer.Argument(help="A document file (.txt, .md, .html, .jsonl, .csv).")],
    config: o.ConfigOpt = o.DATASET_CONFIG,
) -> None:
    """Print the sentences the builder cuts from one file, as JSON lines (an annotation template)."""
    from training.corpus import segment_file

    for row in segment_file(path, o.dataset_config(config)):
        sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")


@user_errors
def build_dataset(
    config: o.ConfigOpt = o.DATASET_CONFIG,
    seeds: o.SeedsOpt = None,
    out: o.DatasetOutOpt = None,
    hf: o.HfOpt = None,
    text_column: o.BuildTextColumnOpt = None,
    seed: o.SplitSeedOpt = None,
    weak_labels: o.WeakLabelsOpt = "rules",
    model: o.WeakModelOpt = None,
) -> None:
    """Turn documents into a labelled, split, fingerprinted Hugging Face dataset."""

    from training.config import DatasetConfig, load_config
    from training.dataset import build_dataset as build

    cfg = load_config(config, DatasetConfig)
    if seed is not None:
        cfg = cfg.model_copy(update={"seed": seed})
    with progress("reading documents") as bar:
        task = bar.add_task("read", total=None)
        result = build(
            cfg,
            seeds=seeds,
            out=out,
            hf=hf,
            text_column=text_column,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
            weak_labels=weak_labels,
            model=model,
        )
    stdout = console()
    stdout.print(lf_table(result.lf_table))
    for line in dataset_lines(result.info):
        stdout.print(line)
    stdout.print(f"saved {result.out} (fingerprint {result.fingerprint[:16]})")
