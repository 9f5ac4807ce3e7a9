"""Reading ``stance predict`` input: strict UTF-8 lines, text/JSONL/CSV rows, documents, sentences.

Inputs are read line by line from bytes and decoded strictly as UTF-8, so a 1,000,000-line
file needs the memory of one batch, and a bad byte is reported with its line number.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from training.errors import StanceError

from .options import PredictOptions, PredictStats, input_format


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
    for n, line in enumerate(fh, 1):
        raw = _without_bom(line, where) if n == 1 else line
        try:
            yield n, raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _bad_byte(where, n, exc.start + 1) from None


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


@dataclass(slots=True)
class Row:
    """One input unit before segmentation: its text, the fields to pass through, a doc id."""

    text: str
    fields: dict[str, Any]
    doc_id: str


def rows(opts: PredictOptions, fmt: str, fh: BinaryIO | None, where: str, doc_base: str) -> Iterator[Row]:
    """Input units in order: sentences, or documents with ``--documents``."""
    if opts.texts:
        for i, text in enumerate(opts.texts, 1):
            yield Row(text, {"index": i, "text": text}, f"arg{i}")
        return
    assert fh is not None
    lines = decoded_lines(fh, where)
    if fmt == "txt" and opts.documents:  # a whole text file (or stdin) is one document
        yield Row("".join(line for _, line in lines), {}, doc_base)
    elif fmt == "txt":  # one sentence a line; a doc id is only read with --documents, handled above
        for n, line in lines:
            text = line.rstrip("\r\n")
            yield Row(text, {"line": n, "text": text}, "")
    elif fmt == "jsonl":
        yield from _jsonl_rows(opts, lines, where, doc_base)
    elif fmt == "csv":
        yield from _csv_rows(opts, lines, where, doc_base)
    else:  # pragma: no cover - guarded by input_format
        raise StanceError(f"unknown input format '{fmt}'")


def _jsonl_rows(opts: PredictOptions, lines: Iterator[tuple[int, str]], where: str, doc_base: str) -> Iterator[Row]:
    from training import jsonl

    col = opts.text_column
    for n, row in jsonl.parse_lines(lines, where):
        if row is None:
            yield Row("", {}, "")
            continue
        if not isinstance(row, dict):
            raise StanceError(f"not a JSON object: {where}:{n} (each line must be an object with a '{col}' field)")
        text = row.get(col)
        if not isinstance(text, str):
            what = "has no" if text is None else "has a non-string"
            raise StanceError(f"missing text: {where}:{n} {what} field '{col}' (set --text-column)")
        yield Row(text, row, f"{doc_base}/{row.get(opts.id_column, n)}")


def _csv_rows(opts: PredictOptions, lines: Iterator[tuple[int, str]], where: str, doc_base: str) -> Iterator[Row]:
    col = opts.text_column
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
            raise StanceError(f"malformed CSV: {where}:{reader.line_num} has {len(values)} fields, the header {width}")
        n += 1
        row = dict(zip(header, values))
        yield Row(values[at], row, f"{doc_base}/{row.get(opts.id_column) or n}")


def check_file(opts: PredictOptions) -> None:
    """Read the whole input file once, cheaply, so bad input fails before the model loads.

    Standard input cannot be rewound and is checked as it streams.
    """
    if opts.input is None:
        return
    fmt = input_format(opts)
    if fmt == "document":
        return  # read whole by the corpus reader, which reports its own problems
    with open_input(opts.input) as fh:
        if fmt == "txt":  # only the encoding can be wrong in plain lines
            check_utf8(fh, str(opts.input))
            return
        for _ in rows(opts, fmt, fh, str(opts.input), opts.input.stem):
            pass


def open_input(path: Path) -> BinaryIO:
    """The ``--input`` file opened for reading bytes, or one line saying why it cannot be."""
    if path.is_dir():
        raise StanceError(f"not a file: {path} (pass a .txt, .jsonl or .csv file to --input)")
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise StanceError(f"input file not found: {path} (check the path given to --input)") from None
    except OSError as exc:
        raise StanceError(f"cannot read {path}: {exc.strerror} (check its permissions)") from None


def sentences(
    units: Iterator[Row], opts: PredictOptions, dataset_config: Any, stats: PredictStats
) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(sentence, output record)`` pairs; empty inputs are counted, not emitted."""
    if not opts.documents:
        for row in units:
            if not row.text.strip():
                stats.empty += 1
                continue
            yield row.text, row.fields
        return
    from training.segment import segment

    cleaning, seg = dataset_config.cleaning, dataset_config.segmentation
    for row in units:
        if not row.text.strip():
            stats.empty += 1
            continue
        stats.documents += 1
        markdown = bool(row.fields.pop("_markdown", False))
        # the document's own fields go with each of its sentences; its full text does not
        extra = {k: v for k, v in row.fields.items() if k not in (opts.text_column, "text", "index", "line")}
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


def document_file(path: Path, dataset_config: Any) -> Iterator[Row]:
    """A .md or .html file, or a folder of documents, read as the dataset builder reads them."""
    from training.corpus import read_file, read_folder

    docs = (
        read_folder(path, dataset_config.reader)
        if path.is_dir()
        else read_file(path, path.parent, dataset_config.reader)
    )
    for doc in docs:
        yield Row(doc.text, {"_markdown": doc.markdown}, doc.doc_id)
