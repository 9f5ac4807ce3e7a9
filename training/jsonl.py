"""JSON Lines parsing shared by documents, gold files, evaluation data and predict input.

Every reader reports a malformed line the same way: file, line number, what is wrong, what to do.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from training.errors import StanceError


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def strict_loads(text: str | bytes) -> Any:
    """``json.loads`` that refuses the ``NaN``, ``Infinity`` and ``-Infinity`` Python would accept."""
    return json.loads(text, parse_constant=_no_constant)


def read_utf8(path: Path, missing: str, fix_encoding: str = "save it as UTF-8") -> str:
    """A whole UTF-8 file (a BOM is skipped); a missing or undecodable one is one line.

    ``missing`` is the line for a file that does not exist.
    """
    try:
        return path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise StanceError(missing) from None
    except UnicodeDecodeError as exc:
        raise StanceError(f"not UTF-8: {path} has an invalid byte at offset {exc.start} ({fix_encoding})") from None


def load_file(path: Path, what: str, fix: str) -> Any:
    """A whole JSON file, strictly parsed; a missing, unreadable or malformed one is one line."""
    try:
        return strict_loads(path.read_bytes())
    except FileNotFoundError:
        raise StanceError(f"missing {what}: {path} ({fix})") from None
    except OSError as exc:
        raise StanceError(f"cannot read {what} {path}: {exc.strerror} ({fix})") from None
    except UnicodeDecodeError as exc:
        raise StanceError(f"invalid {what}: {path} is not UTF-8 at byte {exc.start} ({fix})") from None
    except ValueError as exc:  # JSONDecodeError and the refused constants
        msg = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise StanceError(f"invalid {what}: {path}: {msg} ({fix})") from None


def _parse_line(line: str, where: Path | str, lineno: int) -> Any:
    """One line's value; a malformed line is an error naming the file and line."""
    try:
        return strict_loads(line)
    except ValueError as exc:  # JSONDecodeError and the refused constants
        msg = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise StanceError(f"malformed JSON: {where}:{lineno}: {msg} (fix or remove that line)") from None


def parse_lines(lines: Iterable[tuple[int, str]], where: Path | str) -> Iterator[tuple[int, Any]]:
    """(line number, parsed value) of every line; ``None`` for a blank one, so callers can count them."""
    for lineno, line in lines:
        yield lineno, (_parse_line(line, where, lineno) if line.strip() else None)


def objects(text: str, where: Path | str) -> Iterator[tuple[int, Any]]:
    """(line number, parsed value) of every non-blank line of a whole file's text."""
    for lineno, value in parse_lines(enumerate(text.splitlines(), 1), where):
        if value is not None:
            yield lineno, value


def objects_reporting(text: str, where: Path | str, problems: list[str]) -> Iterator[tuple[int, Any]]:
    """Like :func:`objects`, but a malformed line goes to ``problems`` and is skipped.

    For readers that list every bad line of a file in one error rather than stop at the first.
    """
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = _parse_line(line, where, lineno)
        except StanceError as exc:
            problems.extend(exc.problems)
            continue
        yield lineno, value
