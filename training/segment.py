"""Page-furniture cleaning and sentence segmentation, shared by the builder and ``predict``.

Both steps work on character offsets into the decoded document, so every sentence can be
traced back to the exact span it came from and keeps the document's own characters
(curly quotes, dashes and non-Latin digits are never rewritten).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from training.config import CleaningConfig, SegmentationConfig


@dataclass(frozen=True, slots=True)
class Span:
    """A sentence: its text (whitespace runs collapsed) and its offsets in the document."""

    index: int
    start: int
    end: int
    text: str


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n|$)")
_WS = re.compile(r"\s+")
# Terminal punctuation plus any closing quotes or brackets that belong to the sentence.
# Possessive and anchored to the first mark of a run, so a long run of marks is scanned once.
_TERMINAL = re.compile(r"(?<![.!?…])[.!?…]++[\"'”’»)\]]*+(?=\s)")
_TOKEN_CHARS = re.compile(r"[\w.\-]")
_SPACE_RUN = re.compile(r"\s*")
_WORD_AT = re.compile(r"[\w’']+")
# A word longer than this before a full stop is no abbreviation, initial or clause number, so
# the look back stops there: every full stop costs the same, however long its line.
_MAX_TOKEN = 64
_OPENERS = "\"'“‘«([—–-"
_MARKDOWN_PREFIX = re.compile(r"^(?:#{1,6}\s+|>\s+|[-*+]\s+|\d{1,3}[.)]\s+)")


@lru_cache(maxsize=16)
def _compiled(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p) for p in patterns)


def _lines(text: str) -> Iterator[tuple[int, int]]:
    """Yield (start, end) of each line's content, line breaks excluded."""
    pos = 0
    n = len(text)
    while pos < n:
        m = _LINE.match(text, pos)
        assert m is not None  # the pattern matches the empty string
        line = m.group(0)
        content = line.rstrip("\r\n")
        yield pos, pos + len(content)
        if m.end() == pos:
            break
        pos = m.end()


def content_blocks(text: str, cleaning: CleaningConfig, markdown: bool = False) -> list[tuple[int, int]]:
    """Return (start, end) spans of the lines that carry content after furniture is dropped.

    A line is dropped when it matches one of ``cleaning.drop_lines`` or when it repeats the
    document's first line (the title). Hard-wrapped lines are joined: a line starting in
    lower case continues the previous one.
    """
    drops = _compiled(tuple(cleaning.drop_lines))
    blocks: list[list[int]] = []
    title: str | None = None
    previous_blank = True
    for line_start, line_end in _lines(text):
        start, end = line_start, line_end
        line = text[start:end]
        stripped = line.strip()
        if not stripped:
            previous_blank = True
            continue
        lead = len(line) - len(line.lstrip())
        start += lead
        end = start + len(stripped)
        if markdown:
            m = _MARKDOWN_PREFIX.match(stripped)
            if m:
                start += m.end()
                stripped = stripped[m.end() :]
        if any(p.search(stripped) for p in drops):
            continue
        if title is None:
            title = stripped
        elif cleaning.drop_repeated_title and stripped == title:
            continue
        if blocks and not previous_blank and stripped[:1].islower():
            blocks[-1][1] = end
        else:
            blocks.append([start, end])
        previous_blank = False
    return [(s, e) for s, e in blocks]


def _token_before(block: str, dot: int) -> str:
    """The run of word characters, dots and hyphens that ends with the full stop at ``dot``."""
    start = dot
    floor = max(0, dot - _MAX_TOKEN)
    while start > floor and _TOKEN_CHARS.match(block, start - 1):
        start -= 1
    return block[start:dot]


def _is_boundary(block: str, punct_start: int, after: int, seg: SegmentationConfig) -> bool:
    """Decide whether the terminal punctuation at ``punct_start`` ends a sentence.

    Only a bounded window around the mark is read, so a block costs time linear in its length.
    """
    nxt_at = _SPACE_RUN.match(block, after).end()  # type: ignore[union-attr]  # matches the empty string
    if nxt_at >= len(block):
        return True
    nxt = block[nxt_at]
    if nxt.islower():
        return False
    if not (nxt.isupper() or nxt.isdigit() or nxt in _OPENERS):
        return False
    if block[punct_start] != ".":
        return True
    if block[punct_start : punct_start + 2] == "..":
        return True
    bare = _token_before(block, punct_start).rstrip(".")
    if not bare:
        return True
    next_word = _WORD_AT.match(block, nxt_at)
    starter = next_word is not None and next_word.group(0) in seg.sentence_starters
    if "." in bare:  # an acronym such as U.S. or U.N.: ends a sentence only before a typical opener
        return starter
    if bare in seg.abbreviations or bare.lower() in seg.abbreviations:
        return starter and bare not in seg.titles
    if len(bare) == 1 and bare.isupper():  # an initial, as in "John F. Kennedy"
        return False
    # a numbered clause such as "Resolution 2. 3" is rare; "No. 5" is an abbreviation
    return not (bare.isdigit() and len(bare) <= 2 and nxt.isdigit())


# Control characters other than tab, line feed, vertical tab, form feed and carriage return.
_CONTROLS = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f]")


def scrub_controls(text: str) -> str:
    """Replace control characters (not tab or line breaks) by spaces; offsets stay valid."""
    return _CONTROLS.sub(" ", text)


def segment(text: str, cleaning: CleaningConfig, seg: SegmentationConfig, markdown: bool = False) -> list[Span]:
    """Clean ``text`` and split it into sentences with offsets into ``text``.

    Control characters become spaces first, so no sentence carries one.
    """
    text = scrub_controls(text)
    spans: list[Span] = []
    prefixes = _compiled(tuple(cleaning.strip_prefixes))
    for b_start, b_end in content_blocks(text, cleaning, markdown):
        block = text[b_start:b_end]
        cut = 0
        for m in _TERMINAL.finditer(block):
            if _is_boundary(block, m.start(), m.end(), seg):
                _emit(spans, text, b_start + cut, b_start + m.end(), seg.min_chars, prefixes)
                cut = m.end()
        _emit(spans, text, b_start + cut, b_end, seg.min_chars, prefixes)
    return spans


def _emit(
    spans: list[Span], text: str, start: int, end: int, min_chars: int, prefixes: tuple[re.Pattern[str], ...]
) -> None:
    piece = text[start:end]
    lead = len(piece) - len(piece.lstrip())
    trail = len(piece) - len(piece.rstrip())
    start, end = start + lead, end - trail
    # Datelines, live-blog timestamps and speaker tags sit at the start of a sentence, wherever
    # the sentence starts in its paragraph; the first matching pattern is cut.
    for p in prefixes:
        m = p.match(text[start:end])
        if m and 0 < m.end() < end - start:
            start += m.end()
            break
    if end - start < min_chars:
        return
    spans.append(Span(len(spans), start, end, _WS.sub(" ", text[start:end])))


def normalize_for_match(text: str) -> str:
    """Key used to compare sentences: case-folded, punctuation and spacing removed."""
    return " ".join(re.findall(r"\w+", text.casefold()))
