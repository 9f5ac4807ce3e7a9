"""Reading documents: seed folders (txt, md, html, jsonl, csv) and Hugging Face datasets.

Documents are yielded one at a time so the builder's memory follows the dataset it makes,
not the size of the raw corpus.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

from training import jsonl
from training.config import DatasetConfig, ReaderConfig
from training.errors import StanceError
from training.segment import segment


@dataclass(frozen=True, slots=True)
class Document:
    """One document: an id derived from its source, its decoded text and where it came from."""

    doc_id: str
    text: str
    source: str
    markdown: bool = False


# Binary files are told apart from text with a few stray control characters by their share.
_BINARY_CONTROL_SHARE = 0.05
_BINARY_CONTROL_MIN = 8
_CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f]")
# Characters of Western European prose that cp1252 gives bytes 0x80-0xFF; what text in another
# legacy encoding (Shift-JIS, GBK, cp1251, ...) read as cp1252 turns into shows up as marks in
# places prose never puts them, such as an opening quote glued to the letter before it.
_OPENING = "“‘„«‹¿¡"
_RARE = "†‡ˆ‰˜¦¤¬¯¸´¨¹º·¶¢¥"
_OTHER_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_WORD = re.compile(r"[^\W\d_]{4,}")


def decode(data: bytes, source: str) -> str:
    """Decode UTF-8 (with or without BOM), UTF-16 with BOM, or cp1252; refuse anything else.

    A refusal names the file and the offset of its first byte that is not UTF-8.
    """
    if data.startswith(codecs.BOM_UTF8):
        return _strict(data[3:], "utf-8", source)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _strict(data, "utf-16", source)
    if b"\x00" in data:
        raise StanceError(f"binary or unsupported file: {source} contains NUL bytes (save it as UTF-8 text)")
    try:
        return _checked(data.decode("utf-8"), source)
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        text = ""
    if not text or _implausible_cp1252(text) >= 2:
        raise StanceError(
            f"unsupported text encoding: {source} is not UTF-8 (first invalid byte at offset {first_bad}) "
            "and does not read as cp1252 prose either (convert it to UTF-8)"
        )
    return _checked(text, source)


def _implausible_cp1252(text: str) -> int:
    """How many non-ASCII characters of a cp1252 reading sit where Western prose never has them."""
    bad = 0
    for m in _OTHER_NON_ASCII.finditer(text):
        i, ch = m.start(), m.group(0)
        before = text[i - 1] if i else " "
        after = text[i + 1] if i + 1 < len(text) else " "
        if (
            (ch in _RARE and not (before.isspace() or before.isdigit() or after.isspace() or after.isdigit()))
            or (ch in _OPENING and before.isalnum())
            or (ch.isalpha() and (before in _RARE or after in _RARE))
        ):
            bad += 1
    # A word mostly of accented letters ("Ìèíèñòð" is cp1251 Cyrillic read as cp1252).
    for m in _WORD.finditer(text):
        accented = sum(ord(c) > 127 for c in m.group(0))
        bad += accented >= 4 and accented * 2 > len(m.group(0))
    return bad


def _strict(data: bytes, encoding: str, source: str) -> str:
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise StanceError(f"cannot decode {source} as {encoding} at byte {exc.start} (convert it to UTF-8)") from None
    return _checked(text, source)


def _checked(text: str, source: str) -> str:
    """Refuse a binary file: one whose head is more than 5% control characters (and 8 or more)."""
    head = text[:100_000]
    controls = len(_CONTROL_CHARS.findall(head))
    if controls >= _BINARY_CONTROL_MIN and controls > _BINARY_CONTROL_SHARE * len(head):
        raise StanceError(
            f"binary or unsupported file: {source} is {controls / len(head):.0%} control characters "
            "(save it as UTF-8 text)"
        )
    return text


class _VisibleText(HTMLParser):
    """Collect the text a browser would show, one line per block element."""

    _HIDDEN: ClassVar[set[str]] = {"script", "style", "head", "noscript", "template", "svg"}
    _BLOCKS: ClassVar[set[str]] = {
        "p",
        "div",
        "br",
        "li",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "tr",
        "section",
        "article",
        "header",
        "footer",
        "blockquote",
        "title",
        "ul",
        "ol",
        "table",
        "hr",
        "aside",
        "nav",
    }

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self._hidden += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in self._BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(" ".join(data.split("\n")))


def html_to_text(html: str) -> str:
    """Visible text of an HTML page, paragraphs separated by blank lines."""
    parser = _VisibleText()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).split("\n"))
    return "\n\n".join(line for line in lines if line)


def _doc_id(path: Path, root: Path) -> str:
    rel = path.relative_to(root) if path.is_relative_to(root) else Path(path.name)
    return rel.with_suffix("").as_posix()


def is_document(path: Path, root: Path, reader: ReaderConfig) -> bool:
    """True for files that hold documents (not annotations, metadata or hidden files)."""
    name = path.name
    rel_parts = path.relative_to(root).parts if path.is_relative_to(root) else (name,)
    if any(part.startswith((".", "_")) for part in rel_parts):
        return False
    if name.endswith(reader.gold_suffix) or name in (reader.metadata_file, reader.agreement_file):
        return False
    return path.suffix.lower() in reader.extensions


def list_documents(root: Path, reader: ReaderConfig) -> list[Path]:
    """All document files under ``root``, sorted so the order never depends on the file system."""
    if not root.exists():
        raise StanceError(f"seeds directory not found: {root} (pass an existing folder with --seeds)")
    if not root.is_dir():
        raise StanceError(f"not a directory: {root} (pass a folder of documents with --seeds)")
    # Dangling links are kept so that reading them reports the problem instead of skipping it.
    files = sorted(
        (
            p
            for p in root.rglob("*")
            if (p.is_file() or (p.is_symlink() and not p.exists())) and is_document(p, root, reader)
        ),
        key=lambda p: p.as_posix(),
    )
    if not files:
        exts = ", ".join(reader.extensions)
        raise StanceError(f"no documents in {root} (add files ending in {exts})")
    return files


def read_file(path: Path, root: Path, reader: ReaderConfig) -> Iterator[Document]:
    """Yield the documents stored in one file (one for text formats, one per row otherwise)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise StanceError(f"cannot read {path}: {exc.strerror} (check that it exists and is readable)") from None
    text = decode(data, str(path))
    doc_id = _doc_id(path, root)
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm"):
        yield Document(doc_id, html_to_text(text), str(path))
    elif suffix == ".jsonl":
        yield from _jsonl_rows(text, path, doc_id, reader)
    elif suffix == ".csv":
        yield from _csv_rows(text, path, doc_id, reader)
    else:
        yield Document(doc_id, text, str(path), markdown=suffix == ".md")


def _jsonl_rows(text: str, path: Path, doc_id: str, reader: ReaderConfig) -> Iterator[Document]:
    for lineno, row in jsonl.objects(text, path):
        if not isinstance(row, dict) or not isinstance(row.get(reader.text_column), str):
            raise StanceError(
                f"missing text: {path}:{lineno} has no string field '{reader.text_column}' (set reader.text_column)"
            )
        row_id = str(row.get(reader.id_column, lineno))
        yield Document(f"{doc_id}/{row_id}", row[reader.text_column], f"{path}:{lineno}")


def _csv_rows(text: str, path: Path, doc_id: str, reader: ReaderConfig) -> Iterator[Document]:
    csv.field_size_limit(sys.maxsize)
    rows = csv.DictReader(io.StringIO(text, newline=""))
    if rows.fieldnames is None or reader.text_column not in rows.fieldnames:
        cols = ", ".join(rows.fieldnames or [])
        raise StanceError(
            f"missing column: {path}:1 has no column '{reader.text_column}' "
            f"(columns: {cols}; set reader.text_column or --text-column)"
        )
    for n, row in enumerate(rows, 1):
        row_id = row.get(reader.id_column) or str(n)
        yield Document(f"{doc_id}/{row_id}", row[reader.text_column] or "", f"{path}:{rows.line_num}")


def read_folder(root: Path, reader: ReaderConfig) -> Iterator[Document]:
    """Yield every document under ``root`` in a stable order."""
    for path in list_documents(root, reader):
        yield from read_file(path, root, reader)


METADATA_COLUMNS = ("id", "title", "episode", "countries", "date", "register", "origin")


def read_metadata(path: Path) -> dict[str, dict[str, str]]:
    """One row per document id; a missing column or id is an error naming the line."""
    if not path.exists():
        return {}
    rows = csv.DictReader(decode(path.read_bytes(), str(path)).splitlines())
    missing = [c for c in ("id", "episode", "register") if c not in (rows.fieldnames or [])]
    if missing:
        raise StanceError(
            f"missing column: {path}:1 lacks {', '.join(missing)} (header: {', '.join(METADATA_COLUMNS)})"
        )
    out: dict[str, dict[str, str]] = {}
    for row in rows:
        if not row.get("id"):
            raise StanceError(f"metadata row without id: {path}:{rows.line_num} (fill the id column)")
        out[row["id"]] = {k: (v or "") for k, v in row.items() if k}
    return out


def read_hf(name_or_path: str, text_column: str, id_column: str | None = None) -> Iterator[Document]:
    """Yield documents from a Hugging Face dataset: a saved dataset, parquet files or a hub name."""
    import datasets

    path = Path(name_or_path)
    try:
        if path.is_dir() and ((path / "dataset_dict.json").exists() or (path / "dataset_info.json").exists()):
            loaded = datasets.load_from_disk(str(path))
        elif path.suffix == ".parquet" or (path.is_dir() and any(path.glob("*.parquet"))):
            files = [str(path)] if path.is_file() else sorted(str(p) for p in path.glob("*.parquet"))
            loaded = datasets.load_dataset("parquet", data_files=files)
        else:
            loaded = datasets.load_dataset(name_or_path)
    except StanceError:
        raise
    except Exception as exc:  # the hub client raises many types; the user needs one line
        raise StanceError(f"cannot load Hugging Face dataset {name_or_path}: {str(exc).splitlines()[0]}") from None
    splits = loaded.items() if isinstance(loaded, datasets.DatasetDict) else [("train", loaded)]
    base = path.name if path.exists() else name_or_path
    for split, ds in splits:
        if text_column not in ds.column_names:
            cols = ", ".join(ds.column_names)
            raise StanceError(
                f"missing column: {name_or_path} split '{split}' has no column '{text_column}' "
                f"(columns: {cols}; use --text-column)"
            )
        for i, row in enumerate(ds):
            row_id = str(row[id_column]) if id_column and id_column in row else str(i)
            yield Document(f"{base}/{split}/{row_id}", row[text_column] or "", f"{name_or_path}[{split}][{i}]")


def segment_file(path: Path, config: DatasetConfig) -> Iterator[dict[str, object]]:
    """Sentences of every document in one file, as the builder cuts them."""
    root = path.parent
    for doc in read_file(path, root, config.reader):
        for span in segment(doc.text, config.cleaning, config.segmentation, doc.markdown):
            yield {
                "text": span.text,
                "doc_id": doc.doc_id,
                "sentence_index": span.index,
                "start": span.start,
                "end": span.end,
            }
