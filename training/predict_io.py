"""Streaming ``stance predict``: read sentences, label them in batches, write rows as they come.

Inputs are read line by line from bytes and decoded strictly as UTF-8, so a 1,000,000-line
file needs the memory of one batch, and a bad byte is reported with its line number. Files
are checked completely (encoding, JSON, columns) before the model is loaded, so a broken line
near the end fails in seconds instead of after an hour of labelling. Standard input cannot be
rewound and is checked as it streams.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import dataclasses
import json
import logging
import os
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path
from typing import IO, Any, BinaryIO, TextIO

from training.atomic import atomic_file, check_output_path
from training.errors import StanceError
from training.selective import UNCERTAIN, abstain, check_min_confidence

log = logging.getLogger(__name__)

INPUT_FORMATS = ("txt", "jsonl", "csv")
OUTPUT_FORMATS = ("table", "jsonl", "csv")
_SUFFIX_FORMAT = {".txt": "txt", ".text": "txt", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}
_DOCUMENT_SUFFIXES = (".md", ".html", ".htm")
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


# ---------------------------------------------------------------- reading


def _without_bom(start: bytes, where: str) -> bytes:
    """The first bytes of a file without a UTF-8 byte-order mark; UTF-16 is refused."""
    if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise StanceError(f"not UTF-8: {where} is UTF-16 (convert it to UTF-8, e.g. `iconv -f utf-16 -t utf-8`)")
    return start[len(codecs.BOM_UTF8) :] if start.startswith(codecs.BOM_UTF8) else start


def _bad_byte(where: str, line: int, column: int) -> StanceError:
    return StanceError(
        f"not UTF-8: {where}:{line} has an invalid byte at column {column} "
        "(convert the file to UTF-8, e.g. `iconv -f cp1252 -t utf-8`)"
    )


def decoded_lines(fh: BinaryIO, where: str) -> Iterator[tuple[int, str]]:
    """Yield ``(line number, text with its line ending)``; refuse bytes that are not UTF-8."""
    for n, raw in enumerate(fh, 1):
        if n == 1:
            raw = _without_bom(raw, where)
        try:
            yield n, raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _bad_byte(where, n, exc.start + 1) from None


def input_format(opts: PredictOptions) -> str:
    """The input format: ``--input-format``, else the file suffix, else plain lines."""
    if opts.input_format:
        if opts.input_format not in INPUT_FORMATS:
            raise StanceError(f"unknown input format '{opts.input_format}' (use one of {', '.join(INPUT_FORMATS)})")
        return opts.input_format
    if opts.input is not None:
        suffix = opts.input.suffix.lower()
        if suffix in _DOCUMENT_SUFFIXES or (opts.documents and opts.input.is_dir()):
            return "document"
        return _SUFFIX_FORMAT.get(suffix, "txt")
    return "txt"


@dataclass(slots=True)
class _Row:
    """One input unit before segmentation: its text, the fields to pass through, a doc id."""

    text: str
    fields: dict[str, Any]
    doc_id: str


def _rows(opts: PredictOptions, fmt: str, fh: BinaryIO | None, where: str, doc_base: str) -> Iterator[_Row]:
    """Input units in order: sentences, or documents with ``--documents``."""
    col = opts.text_column
    if opts.texts:
        for i, text in enumerate(opts.texts, 1):
            yield _Row(text, {"index": i, "text": text}, f"arg{i}")
        return
    assert fh is not None
    lines = decoded_lines(fh, where)
    if fmt == "txt" and opts.documents:  # a whole text file (or stdin) is one document
        yield _Row("".join(line for _, line in lines), {}, doc_base)
    elif fmt == "txt":  # one sentence a line; a doc id is only read with --documents, handled above
        for n, line in lines:
            text = line.rstrip("\r\n")
            yield _Row(text, {"line": n, "text": text}, "")
    elif fmt == "jsonl":
        from training import jsonl

        for n, row in jsonl.parse_lines(lines, where):
            if row is None:
                yield _Row("", {}, "")
                continue
            if not isinstance(row, dict):
                raise StanceError(f"not a JSON object: {where}:{n} (each line must be an object with a '{col}' field)")
            text = row.get(col)
            if not isinstance(text, str):
                what = "has no" if text is None else "has a non-string"
                raise StanceError(f"missing text: {where}:{n} {what} field '{col}' (set --text-column)")
            yield _Row(text, row, f"{doc_base}/{row.get(opts.id_column, n)}")
    elif fmt == "csv":
        reader = csv.reader(line for _, line in lines)
        header = next(reader, None)
        if header is None:
            return
        if col not in header:
            raise StanceError(
                f"missing column: {where}:1 has no column '{col}' (columns: {', '.join(header)}; use --text-column)"
            )
        at = header.index(col)
        width = len(header)
        n = 0  # data rows, blank lines not counted: the builder numbers rows the same way
        for values in reader:
            if len(values) != width:
                if not values or values == [""]:
                    continue  # a blank line between rows
                raise StanceError(
                    f"malformed CSV: {where}:{reader.line_num} has {len(values)} fields, the header {width}"
                )
            n += 1
            row = dict(zip(header, values))
            yield _Row(values[at], row, f"{doc_base}/{row.get(opts.id_column) or n}")
    else:  # pragma: no cover - guarded by input_format
        raise StanceError(f"unknown input format '{fmt}'")


def check_file(opts: PredictOptions) -> None:
    """Read the whole input file once, cheaply, so bad input fails before the model loads."""
    if opts.input is None:
        return
    fmt = input_format(opts)
    if fmt == "document":
        return  # read whole by the corpus reader, which reports its own problems
    with _open_input(opts.input) as fh:
        if fmt == "txt":  # only the encoding can be wrong in plain lines
            check_utf8(fh, str(opts.input))
            return
        for _ in _rows(opts, fmt, fh, str(opts.input), opts.input.stem):
            pass


def check_utf8(fh: BinaryIO, where: str, chunk_size: int = 1 << 16) -> None:
    """Refuse what :func:`decoded_lines` would refuse, with the same message, reading by chunks.

    Decoding 64 KiB at a time instead of line by line makes the check of a large text
    file several times cheaper; a bad byte is then placed by counting the line ends before it.
    """
    line, carry, first = 1, b"", True
    while True:
        chunk = fh.read(max(chunk_size, len(codecs.BOM_UTF8)) if first else chunk_size)  # a BOM comes whole
        data = carry + chunk
        if first:
            first = False
            data = _without_bom(data, where)
        # whole lines only, so that no character is cut in two; the rest waits for the next chunk
        end = data.rfind(b"\n") + 1 if chunk else len(data)
        part, carry = data[:end], data[end:]
        try:
            part.decode("utf-8")
        except UnicodeDecodeError as exc:
            start = part.rfind(b"\n", 0, exc.start) + 1
            raise _bad_byte(where, line + part.count(b"\n", 0, exc.start), exc.start - start + 1) from None
        line += part.count(b"\n")
        if not chunk:
            return


def _open_input(path: Path) -> BinaryIO:
    if path.is_dir():
        raise StanceError(f"not a file: {path} (pass a .txt, .jsonl or .csv file to --input)")
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise StanceError(f"input file not found: {path} (check the path given to --input)") from None
    except OSError as exc:
        raise StanceError(f"cannot read {path}: {exc.strerror} (check its permissions)") from None


def _sentences(
    rows: Iterator[_Row], opts: PredictOptions, dataset_config: Any, stats: PredictStats
) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(sentence, output record)`` pairs; empty inputs are counted, not emitted."""
    col = opts.text_column
    if not opts.documents:
        for row in rows:
            if not row.text.strip():
                stats.empty += 1
                continue
            yield row.text, row.fields
        return
    from training.segment import segment

    cleaning, seg = dataset_config.cleaning, dataset_config.segmentation
    for row in rows:
        if not row.text.strip():
            stats.empty += 1
            continue
        stats.documents += 1
        markdown = bool(row.fields.pop("_markdown", False))
        # the document's own fields go with each of its sentences; its full text does not
        extra = {k: v for k, v in row.fields.items() if k not in (col, "text", "index", "line")}
        for span in segment(row.text, cleaning, seg, markdown):
            yield (
                span.text,
                {
                    "doc_id": row.doc_id,
                    "sentence_index": span.index,
                    "start": span.start,
                    "end": span.end,
                    "text": span.text,
                    **extra,
                },
            )


def _document_file(path: Path, dataset_config: Any) -> Iterator[_Row]:
    """A .md or .html file, or a folder of documents, read as the dataset builder reads them."""
    from training.corpus import read_file, read_folder

    docs = (
        read_folder(path, dataset_config.reader)
        if path.is_dir()
        else read_file(path, path.parent, dataset_config.reader)
    )
    for doc in docs:
        yield _Row(doc.text, {"_markdown": doc.markdown}, doc.doc_id)


# ---------------------------------------------------------------- writing


class _Writer:
    """Turns labelled records into output lines."""

    def __init__(self, fh: TextIO, labels: tuple[str, ...], stats: PredictStats) -> None:
        self.fh = fh
        self.labels = labels
        self.stats = stats

    def _merge(self, rec: dict[str, Any], label: str, probs: list[float]) -> dict[str, Any]:
        for name in OUTPUT_FIELDS:
            if name in rec:
                self.stats.replaced_fields.add(name)
        rec["label"] = label
        rec["probabilities"] = {k: round(p, 6) for k, p in zip(self.labels, probs)}
        return rec

    def write(self, records: list[dict[str, Any]], labels: list[str], proba: Any) -> None:
        """Write one batch: its records, their labels and their ``(n, labels)`` probability array."""
        raise NotImplementedError

    def close(self) -> None:
        """Flush what is buffered."""
        self.fh.flush()


class _JsonlWriter(_Writer):
    """One JSON object per line: the input record, then ``label`` and ``probabilities``.

    The line is assembled from the record's own JSON and preformatted pieces for the label and
    the probabilities, which gives the text ``json.dumps`` of the merged record would give at a
    fraction of its cost. The probabilities of a whole batch are formatted by one ``%``
    operation and one regular expression (see :func:`_probability_tails`). A record that
    already holds one of the output fields goes through ``json.dumps``, so the replaced field
    keeps its place.
    """

    def __init__(self, fh: TextIO, labels: tuple[str, ...], stats: PredictStats) -> None:
        super().__init__(fh, labels, stats)
        self._encode = _record_encoder()
        keys = [self._encode(k) + ": " for k in labels]
        self._keys = tuple(", " + k for k in keys[1:])
        self._first_key = keys[0]
        self._heads: dict[str, str] = {}

    def _head(self, label: str) -> str:
        head = self._heads.get(label)
        if head is None:
            head = self._heads[label] = '"label": ' + self._encode(label) + ', "probabilities": {' + self._first_key
        return head

    def write(self, records: list[dict[str, Any]], labels: list[str], proba: Any) -> None:
        encode, head = self._encode, self._head
        tails = _probability_tails(proba, self._keys)
        lines = []
        for i, (r, lab, tail) in enumerate(zip(records, labels, tails)):
            if "label" in r or "probabilities" in r:
                lines.append(json.dumps(self._merge(r, lab, proba[i].tolist()), ensure_ascii=False) + "\n")
                continue
            rec = encode(r)
            lines.append((rec[:-1] + ", " if len(rec) > 2 else "{") + head(lab) + tail)
        self.fh.write("".join(lines))


def _not_serializable(o: Any) -> Any:
    raise TypeError(f"Object of type {o.__class__.__name__} is not JSON serializable")


def _record_encoder() -> Callable[[Any], str]:
    """``json.dumps(o, ensure_ascii=False)`` for plain JSON values, with one encoder reused.

    ``JSONEncoder.encode`` builds a new C encoder at every call, which is half its cost for a
    small record. Records come from parsed JSON, CSV or text lines, so they cannot hold a
    cycle and the cycle check is left out.
    """
    from json.encoder import c_make_encoder, encode_basestring

    if c_make_encoder is None:  # a Python without the C accelerator
        return json.JSONEncoder(ensure_ascii=False).encode
    encode = c_make_encoder(None, _not_serializable, encode_basestring, None, ": ", ", ", False, False, True)
    return lambda o: "".join(encode(o, 0))


# Up to five zeros before the end mark (\x01) of a "%.6f" value, and the mark: 0.500000 -> 0.5.
# The first decimal is never taken, as JSON writes 0.0 and 1.0.
_TRAILING_ZEROS = re.compile("0{0,5}\x01")


def _probability_tails(proba: Any, keys: tuple[str, ...]) -> list[str]:
    """Per row of ``proba``: its probabilities as JSON text joined by ``keys``, then ``}}\n``.

    Each value reads as ``json.dumps(round(p, 6))`` would write it. The whole batch is formatted
    with ``"%.6f"`` at once and its trailing zeros are dropped by one regular expression: from
    1e-4 up to 1e9 the rounded value has at most 15 significant digits, so its shortest repr,
    which JSON uses, is exactly those digits (``"%.6f"`` and ``round`` both round correctly).
    Rows holding a value outside that range are formatted one value at a time.
    """
    import numpy as np

    proba = np.asarray(proba, dtype=np.float64)
    n = len(proba)
    if n == 0:
        return []
    row = "%.6f\x01" + "".join(k.replace("%", "%%") + "%.6f\x01" for k in keys) + "}}\n"
    text = _TRAILING_ZEROS.sub("", (row * n) % tuple(proba.ravel().tolist()))
    tails = text.split("\n")[:-1]
    for i in np.flatnonzero(~((proba >= 1e-4) & (proba < 1e9)).all(axis=1)).tolist():
        values = [_probability(p) for p in proba[i].tolist()]
        tails[i] = values[0] + "".join(k + v for k, v in zip(keys, values[1:])) + "}}"
    return [t + "\n" for t in tails]


def _probability(p: float) -> str:
    """The JSON text of ``round(p, 6)``, as ``json.dumps`` writes it (one value)."""
    if 1e-4 <= p < 1e9:
        text = ("%.6f" % p).rstrip("0")
        return text + "0" if text[-1] == "." else text
    return json.dumps(round(p, 6))


class _CsvWriter(_Writer):
    def __init__(self, fh: TextIO, labels: tuple[str, ...], stats: PredictStats) -> None:
        super().__init__(fh, labels, stats)
        self.writer: Any = None
        self.columns: list[str] = []

    def write(self, records: list[dict[str, Any]], labels: list[str], proba: Any) -> None:
        if self.writer is None:
            # CSV needs its columns up front: the first record's fields decide them
            base = [k for k in records[0] if k not in OUTPUT_FIELDS and not k.startswith("prob_")]
            self.columns = base + ["label"] + [f"prob_{k}" for k in self.labels]
            self.writer = csv.DictWriter(self.fh, fieldnames=self.columns, extrasaction="ignore", lineterminator="\n")
            self.writer.writeheader()
        rows = []
        for r, lab, p in zip(records, labels, proba.tolist()):
            self._merge(r, lab, p)
            probs = r.pop("probabilities")
            for k, v in probs.items():
                r[f"prob_{k}"] = v
            rows.append(
                {k: json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v for k, v in r.items()}
            )
        self.writer.writerows(rows)


class _TableWriter(_Writer):
    """A rich table per batch, for people reading a terminal."""

    def write(self, records: list[dict[str, Any]], labels: list[str], proba: Any) -> None:
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
        key = (
            "doc_id" if "doc_id" in records[0] else next((k for k in ("id", "line", "index") if k in records[0]), None)
        )
        if key:
            table.add_column(key, style="dim", no_wrap=True)
        table.add_column("text", ratio=1, overflow="fold")
        table.add_column("label", no_wrap=True)
        styles = {"favor": "green", "against": "red", "neutral": "yellow"}
        for name in self.labels:
            table.add_column(name, justify="right", no_wrap=True)
        for r, lab, p in zip(records, labels, proba.tolist()):
            # Text objects, not markup strings: a sentence may contain "[...]"
            cells = [Text(str(r.get(key, "")) + (f":{r['sentence_index']}" if key == "doc_id" else ""))] if key else []
            cells += [Text(str(r.get("text", ""))), Text(lab, style=styles.get(lab, "bold"))]
            cells += [Text(f"{x:.3f}") for x in p]
            table.add_row(*cells)
        Console(file=self.fh, soft_wrap=False).print(table)


_WRITERS: dict[str, type[_Writer]] = {"jsonl": _JsonlWriter, "csv": _CsvWriter, "table": _TableWriter}


def output_format(opts: PredictOptions, stdout_is_terminal: bool) -> str:
    """``--format``, else the output file's suffix, else a table on a terminal and JSONL elsewhere."""
    if opts.format:
        if opts.format not in OUTPUT_FORMATS:
            raise StanceError(f"unknown output format '{opts.format}' (use one of {', '.join(OUTPUT_FORMATS)})")
        return opts.format
    if opts.output is not None:
        return "csv" if opts.output.suffix.lower() == ".csv" else "jsonl"
    return "table" if stdout_is_terminal else "jsonl"


# ---------------------------------------------------------------- the run


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
    if (
        opts.output is not None
        and opts.input is not None
        and os.path.realpath(opts.output) == os.path.realpath(opts.input)
    ):
        raise StanceError(f"--output {opts.output} is the input file (choose another output path)")
    if (
        opts.output is not None
        and opts.input is not None
        and opts.input.is_dir()
        and Path(os.path.realpath(opts.output)).is_relative_to(os.path.realpath(opts.input))
    ):
        raise StanceError(f"--output {opts.output} is inside the input folder (choose a path outside it)")
    if opts.output is not None:
        check_output_path(opts.output)


def _capped_jobs(opts: PredictOptions) -> PredictOptions:
    """``opts`` with ``jobs`` at most the usable cores (more processes only compete for them)."""
    from training.predict_pool import usable_cores

    cores = usable_cores()
    if opts.jobs <= cores:
        return opts
    log.warning("--jobs %d is more than the %d usable cores; using %d", opts.jobs, cores, cores)
    return dataclasses.replace(opts, jobs=cores)


def run_predict(
    opts: PredictOptions,
    stdin: BinaryIO,
    stdout: TextIO,
    *,
    stdout_is_terminal: bool = False,
    stdin_is_terminal: bool = False,
    dataset_config: Any = None,
    progress: Callable[[int, int | None], None] | None = None,
    model: Any = None,
) -> PredictStats:
    """Label every sentence of the input and write the rows; return the counts.

    Checks run in order of cost: options, the model path, the whole input file, then the
    model is loaded and the input streams through it in batches of ``opts.batch_size``, labelled
    by ``opts.jobs`` processes (see :mod:`training.predict_pool`) and written in input order.
    ``progress(done_bytes, total_bytes)`` is called after each batch of a file input is written.
    """
    from training.predict import check_model_location, load_model
    from training.predict_pool import proba_batches

    validate(opts, stdin_is_terminal)
    opts = _capped_jobs(opts)
    fmt_out = output_format(opts, stdout_is_terminal and opts.output is None)
    fmt_in = input_format(opts)
    if model is None:
        check_model_location(opts.model)
    check_file(opts)
    if opts.documents and dataset_config is None:
        from training.config import DatasetConfig

        dataset_config = DatasetConfig()
    if opts.cluster:
        from training.cluster import check_cluster

        check_cluster(opts.cluster)  # unreachable, no workers or another stance on one: before the model loads
    if model is None:
        model = load_model(opts.model)
    stats = PredictStats(format=fmt_out, output=opts.output, cluster=opts.cluster or "")
    stats.min_confidence = _min_confidence(opts, model)
    start = time.perf_counter()
    with contextlib.ExitStack() as stack:
        fh: BinaryIO | None = None
        total: int | None = None
        if opts.input is not None:
            where, base = str(opts.input), opts.input.stem
            if fmt_in != "document":
                fh = stack.enter_context(_open_input(opts.input))
                total = opts.input.stat().st_size
        else:
            where, base = "<stdin>", "stdin"
            fh = stdin if not opts.texts else None
        if fmt_in == "document":
            assert opts.input is not None
            pairs = _sentences(_document_file(opts.input, dataset_config), opts, dataset_config, stats)
        else:
            pairs = _sentences(_rows(opts, fmt_in, fh, where, base), opts, dataset_config, stats)
        out: IO[str] = stack.enter_context(atomic_file(opts.output)) if opts.output else stdout
        writer = _WRITERS[fmt_out](out, model.labels, stats)

        def forking() -> None:
            stats.jobs = opts.jobs
            out.flush()

        # standard input cannot tell its position (a pipe); a file can
        batches = _batches(pairs, opts.batch_size, fh if opts.input is not None else None)
        if opts.cluster:
            from training import cluster

            labelled = cluster.proba_batches(opts.cluster, model, batches, attrgetter("texts"))
        else:
            labelled = proba_batches(model, batches, attrgetter("texts"), opts.jobs, before_fork=forking)
        for batch, proba in labelled:
            labels = abstain(model.label_array(proba), proba, stats.min_confidence)
            stats.abstained += labels.count(UNCERTAIN)
            stats.sentences += len(batch.records)
            stats.labels.update(labels)
            writer.write(batch.records, labels, proba)
            if progress is not None and batch.position is not None:
                progress(batch.position, total)
        if progress is not None and fh is not None:
            progress(total or fh.tell(), total)
        writer.close()
    stats.seconds = time.perf_counter() - start
    return stats


def _min_confidence(opts: PredictOptions, model: Any) -> float | None:
    """The option's threshold, else the one recorded with the model at training (None: no abstention)."""
    if opts.min_confidence is not None:
        return opts.min_confidence
    return check_min_confidence(model.metadata.get("min_confidence"), f"min_confidence in {model.source} metadata")


@dataclass
class _Batch:
    """Sentences for one model call, their output records, and how far the input was read."""

    texts: list[str]
    records: list[dict[str, Any]]
    position: int | None  # bytes of a file input read up to the end of this batch, for the progress bar


def _batches(pairs: Iterator[tuple[str, dict[str, Any]]], size: int, fh: BinaryIO | None) -> Iterator[_Batch]:
    texts: list[str] = []
    records: list[dict[str, Any]] = []
    for text, rec in pairs:
        texts.append(text)
        records.append(rec)
        if len(records) >= size:
            yield _Batch(texts, records, fh.tell() if fh is not None else None)
            texts, records = [], []
    if records:
        yield _Batch(texts, records, None)


def summary(stats: PredictStats) -> str:
    """One line for standard error: counts, labels, where the rows went."""
    counts = ", ".join(f"{k} {v}" for k, v in sorted(stats.labels.items(), key=lambda kv: -kv[1]))
    parts = [f"labelled {stats.sentences} sentence{'s' if stats.sentences != 1 else ''}"]
    if stats.documents:
        parts[0] += f" from {stats.documents} document{'s' if stats.documents != 1 else ''}"
    if counts:
        parts[0] += f" ({counts})"
    if stats.min_confidence is not None:
        parts.append(f"{stats.abstained} uncertain (top probability below {stats.min_confidence:g})")
    if stats.empty:
        parts.append(f"skipped {stats.empty} empty input{'s' if stats.empty != 1 else ''}")
    if stats.output is not None:
        parts.append(f"wrote {stats.output} ({stats.format})")
    rate = stats.sentences / stats.seconds if stats.seconds > 0 else 0.0
    where = (
        f" on the Dask cluster {stats.cluster}"
        if stats.cluster
        else f" on {stats.jobs} processes"
        if stats.jobs > 1
        else ""
    )
    parts.append(f"{stats.seconds:.1f}s, {rate:,.0f}/s" + where)
    return "; ".join(parts)
