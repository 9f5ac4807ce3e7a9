"""JSON Lines parsing shared by documents, gold files, evaluation data and predict input.

Every reader reports a malformed line the same way: file, line number, what is wrong, what to do.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from training.errors import StanceError


def parse_lines(lines: Iterable[tuple[int, str]], where: Path | str) -> Iterator[tuple[int, Any]]:
    """(line number, parsed value) of every line; ``None`` for a blank one, so callers can count them."""
    loads = json.loads
    for lineno, line in lines:
        if not line.strip():
            yield lineno, None
            continue
        try:
            yield lineno, loads(line)
        except json.JSONDecodeError as exc:
            raise StanceError(f"malformed JSON: {where}:{lineno}: {exc.msg} (fix or remove that line)") from None


def objects(text: str, where: Path | str) -> Iterator[tuple[int, Any]]:
    """(line number, parsed value) of every non-blank line of a whole file's text."""
    for lineno, value in parse_lines(enumerate(text.splitlines(), 1), where):
        if value is not None:
            yield lineno, value
