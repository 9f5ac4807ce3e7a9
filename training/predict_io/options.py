"""What ``stance predict`` was asked to do, the counts it reports, and the checks of its options."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from training.atomic import check_output_path
from training.errors import StanceError
from training.selective import check_min_confidence

INPUT_FORMATS = ("txt", "jsonl", "csv")
OUTPUT_FORMATS = ("table", "jsonl", "csv")
SUFFIX_FORMAT = {".txt": "txt", ".text": "txt", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}
DOCUMENT_SUFFIXES = (".md", ".html", ".htm")
# Fields the prediction writes; an input field of the same name is replaced (with one warning).
OUTPUT_FIELDS = ("label", "probabilities")


@dataclass(frozen=True)
class PredictOptions:
    """What ``stance predict`` was asked to do (paths unresolved, nothing opened yet)."""

    texts: tuple[str, ...] = ()
    input: Path | None = None
    input_format: str | None = None
    text_column: str = "text"
    documents: bool = False
    model: str = "models/stance-classifier"
    output: Path | None = None
    format: str | None = None
    batch_size: int = 4096  # larger calls cost less per sentence (a call has ~10 ms of fixed cost)
    id_column: str = "id"
    jobs: int = 1
    min_confidence: float | None = None  # label "uncertain" below this top probability (None: the model's default)
    cluster: str | None = None  # a Dask scheduler whose workers label the batches instead of local processes


@dataclass
class PredictStats:
    """Counts for the summary line on standard error."""

    sentences: int = 0
    empty: int = 0
    documents: int = 0
    labels: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    format: str = "jsonl"
    output: Path | None = None
    replaced_fields: set[str] = field(default_factory=set)
    jobs: int = 1  # worker processes that labelled the input (1: none were started)
    abstained: int = 0  # sentences labelled "uncertain"
    min_confidence: float | None = None
    cluster: str = ""  # the Dask scheduler whose workers labelled it, if any


def input_format(opts: PredictOptions) -> str:
    """The input format: ``--input-format``, else the file suffix, else plain lines."""
    if opts.input_format:
        if opts.input_format not in INPUT_FORMATS:
            raise StanceError(f"unknown input format '{opts.input_format}' (use one of {', '.join(INPUT_FORMATS)})")
        return opts.input_format
    if opts.input is not None:
        suffix = opts.input.suffix.lower()
        if suffix in DOCUMENT_SUFFIXES or (opts.documents and opts.input.is_dir()):
            return "document"
        return SUFFIX_FORMAT.get(suffix, "txt")
    return "txt"


def output_format(opts: PredictOptions, stdout_is_terminal: bool) -> str:
    """``--format``, else the output file's suffix, else a table on a terminal and JSONL elsewhere."""
    if opts.format:
        if opts.format not in OUTPUT_FORMATS:
            raise StanceError(f"unknown output format '{opts.format}' (use one of {', '.join(OUTPUT_FORMATS)})")
        return opts.format
    if opts.output is not None:
        return "csv" if opts.output.suffix.lower() == ".csv" else "jsonl"
    return "table" if stdout_is_terminal else "jsonl"


def validate(opts: PredictOptions, stdin_is_terminal: bool) -> None:
    """Option checks that need no file contents."""
    if opts.texts and opts.input is not None:
        raise StanceError("both sentences and --input given (pass one or the other)")
    if not opts.texts and opts.input is None and stdin_is_terminal:
        raise StanceError("no input (pass sentences as arguments, --input FILE, or pipe text on standard input)")
    check_min_confidence(opts.min_confidence)
    if opts.batch_size < 1:
        raise StanceError(f"invalid --batch-size {opts.batch_size} (use a positive number)")
    if opts.jobs < 1:
        raise StanceError(
            f"invalid --jobs {opts.jobs} (use a positive number, or leave it out to use every usable core)"
        )
    if opts.cluster:
        from training.cluster import normalize_address

        normalize_address(opts.cluster)
    if input_format(opts) == "document" and not opts.documents:
        raise StanceError(f"{opts.input} is a whole document (add --documents to segment it into sentences)")
    _check_output(opts)


def _check_output(opts: PredictOptions) -> None:
    """The output must not overwrite the input, nor land inside an input folder."""
    if opts.output is None:
        return
    if opts.input is not None and os.path.realpath(opts.output) == os.path.realpath(opts.input):
        raise StanceError(f"--output {opts.output} is the input file (choose another output path)")
    if (
        opts.input is not None
        and opts.input.is_dir()
        and Path(os.path.realpath(opts.output)).is_relative_to(os.path.realpath(opts.input))
    ):
        raise StanceError(f"--output {opts.output} is inside the input folder (choose a path outside it)")
    check_output_path(opts.output)
