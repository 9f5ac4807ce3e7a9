"""``stance annotate``: a terminal loop that turns a queue into gold labels, one key per answer.

Each answer is appended to the output and flushed to disk before the next sentence is shown,
so a kill loses at most the sentence on screen; a restart skips every sentence already
answered (or skipped) and goes on from there. The output is a gold file as the builder reads
it (``text``, ``label``, ``doc_id``, plus ``sentence_index``, offsets and ``annotator``). A
lock next to the output keeps a second session from writing the same file. Skips go to a
small file beside the output (``.<output>.skipped``) so that they, too, survive a restart;
undo truncates the last line it wrote.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from training.errors import StanceError

KEYS = {"f": "favor", "a": "against", "n": "neutral", "1": "favor", "2": "against", "3": "neutral"}
SKIP, UNDO, QUIT = "s", "u", "q"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def check_annotator(name: str) -> None:
    """An annotator name is a plain word: it goes into file names and must not name a path."""
    if not _NAME.match(name) or ".." in name:
        raise StanceError(
            f"invalid --annotator {name!r} (use letters, digits, '.', '_' or '-', at most 64 characters, no path)"
        )


def default_output(queue: Path, annotator: str) -> Path:
    """``<queue stem>.<annotator>.gold.jsonl`` next to the queue."""
    return queue.with_name(f"{queue.stem}.{annotator}.gold.jsonl")


def _key(row: dict[str, Any]) -> tuple[str, str]:
    """A sentence is its document and its text (whitespace collapsed), as gold files match it."""
    from training.labeling import gold_key

    return str(row["doc_id"]), gold_key(str(row["text"]))


def _read_done(path: Path, annotator: str, what: str) -> list[dict[str, Any]]:
    """Earlier answers in the output (or skip) file; a file that is not ours is refused."""
    from training import jsonl

    if not path.exists():
        return []
    if not path.is_file():
        raise StanceError(f"--out {path} is not a regular file (name a new file or an earlier output of annotate)")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StanceError(f"not UTF-8: {path} has an invalid byte at offset {exc.start} (name another --out)") from None
    rows = []
    for lineno, row in jsonl.objects(text, path):
        if not isinstance(row, dict) or not isinstance(row.get("doc_id"), str) or not isinstance(row.get("text"), str):
            raise StanceError(
                f"not an annotate {what} file: {path}:{lineno} (name a new file or an earlier output of annotate)"
            )
        if row.get("annotator") != annotator:
            raise StanceError(
                f"{path} holds labels by {row.get('annotator')!r}, not {annotator!r} "
                "(give each annotator their own --out)"
            )
        rows.append(row)
    return rows


@dataclass
class Session:
    """One annotator working through one queue into one output file."""

    rows: list[dict[str, Any]]
    out: Path
    annotator: str
    done: dict[tuple[str, str], str] = field(default_factory=dict)
    skipped: set[tuple[str, str]] = field(default_factory=set)
    history: list[tuple[Path, int, tuple[str, str]]] = field(default_factory=list)
    labelled_now: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def skip_file(self) -> Path:
        """The sidecar that remembers skipped sentences."""
        return self.out.with_name(f".{self.out.name}.skipped")

    def load(self) -> None:
        """Read what earlier sessions answered or skipped."""
        for row in _read_done(self.out, self.annotator, "output"):
            self.done[_key(row)] = row.get("label", "")
        self.skipped = {_key(row) for row in _read_done(self.skip_file, self.annotator, "skip")}

    def pending(self) -> list[dict[str, Any]]:
        """Rows neither answered nor skipped, in queue order."""
        return [r for r in self.rows if _key(r) not in self.done and _key(r) not in self.skipped]

    def _append(self, path: Path, record: dict[str, Any]) -> None:
        from training.atomic import os_errors

        with os_errors("write", path), open(path, "a", encoding="utf-8") as fh:
            offset = fh.tell()
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        self.history.append((path, offset, _key(record)))

    def answer(self, row: dict[str, Any], label: str) -> None:
        """Append one gold line and flush it to disk."""
        record = {
            "text": row["text"],
            "label": label,
            "doc_id": row["doc_id"],
            "sentence_index": row.get("sentence_index"),
            "start": row.get("start"),
            "end": row.get("end"),
            "annotator": self.annotator,
        }
        self._append(self.out, record)
        self.done[_key(row)] = label
        self.labelled_now += 1

    def skip(self, row: dict[str, Any]) -> None:
        """Remember that this sentence was skipped."""
        self._append(self.skip_file, {"doc_id": row["doc_id"], "text": row["text"], "annotator": self.annotator})
        self.skipped.add(_key(row))

    def undo(self) -> bool:
        """Take back the last answer or skip of this session (the file is cut where it was)."""
        if not self.history:
            return False
        path, offset, key = self.history.pop()
        os.truncate(path, offset)
        if self.done.pop(key, None) is not None:
            self.labelled_now -= 1
        self.skipped.discard(key)
        return True

    def rate(self) -> float:
        """Labels per minute in this session (0 until there is a label and ten seconds to measure)."""
        minutes = (time.monotonic() - self.started) / 60
        return self.labelled_now / minutes if minutes > 1 / 6 and self.labelled_now else 0.0


def keys_from(stream: IO[str]) -> Iterator[str]:
    """Single key presses: raw from a terminal, one character at a time from anything else."""
    try:
        fd = stream.fileno()
        is_tty = os.isatty(fd)
    except (OSError, ValueError, AttributeError):  # io.UnsupportedOperation is an OSError
        fd, is_tty = -1, False
    if is_tty:
        yield from _terminal_keys(fd)
        return
    while True:
        ch = stream.read(1)
        if not ch:
            return
        if not ch.isspace():
            yield ch.lower()


def _terminal_keys(fd: int) -> Iterator[str]:
    """Keys from a terminal in cbreak mode (no Enter needed; Ctrl-C still interrupts)."""
    import termios
    import tty

    saved = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)
        while True:
            data = os.read(fd, 1)
            if not data:
                return
            yield data.decode("utf-8", "replace").lower()
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _screen(session: Session, row: dict[str, Any], position: int, total: int) -> Any:
    """The sentence in its context, the model's guess, counters and the keys."""
    from rich.console import Group
    from rich.panel import Panel
    from rich.text import Text

    body = Text()
    for before in row.get("before") or []:
        body.append(before + " ", style="dim")
    body.append("» " + row["text"] + " «", style="bold black on yellow")
    for after in row.get("after") or []:
        body.append(" " + after, style="dim")
    probs = row.get("probabilities") or {}
    guess = row.get("guess")
    rate = session.rate()
    where = row["doc_id"] + (f" sentence {row['sentence_index']}" if row.get("sentence_index") is not None else "")
    lines: list[Any] = [
        Text(
            f"{position}/{total}  labelled {len(session.done)}, skipped {len(session.skipped)}, "
            + (f"{rate:.1f} per minute" if rate else "- per minute")
            + f"  ({session.annotator})",
            style="bold",
        ),
        Panel(body, title=where, title_align="left"),
    ]
    if guess:
        shown = ", ".join(f"{k} {float(v):.2f}" for k, v in probs.items()) if probs else ""
        lines.append(Text(f"model's guess: {guess}" + (f" ({shown})" if shown else "")))
    if row.get("note"):
        lines.append(Text(str(row["note"]), style="italic"))
    lines.append(Text("[f] favor  [a] against  [n] neutral  [s] skip  [u] undo  [q] quit"))
    return Group(*lines)


def run(session: Session, keys: Iterator[str], show: Callable[[Any], None]) -> str:
    """Ask for every pending row until the queue is done, ``q`` or the keys run out; return why it stopped."""
    from rich.text import Text

    pending = session.pending()
    total = len(session.rows)
    while pending:
        row = pending[0]
        show(_screen(session, row, total - len(pending) + 1, total))
        key = next(keys, QUIT)
        if key in KEYS:
            session.answer(row, KEYS[key])
        elif key == SKIP:
            session.skip(row)
        elif key == UNDO:
            if not session.undo():
                show(Text("nothing to undo in this session", style="yellow"))
        elif key == QUIT:
            return "quit"
        else:
            show(Text(f"unknown key {key!r}: use f, a, n, s, u or q", style="yellow"))
        pending = session.pending()
    return "done"


def lock_for(out: Path, timeout: float = 0) -> Any:
    """An exclusive lock next to the output; a second session on the same file is refused."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(out.with_name(f".{out.name}.lock")))
    try:
        lock.acquire(timeout=timeout)
    except Timeout:
        raise StanceError(f"another annotate session is writing {out} (finish or quit it first)") from None
    return lock


def annotate(
    queue: Path, annotator: str, out: Path | None, keys: Iterator[str], show: Callable[[Any], None]
) -> dict[str, Any]:
    """Run a session on ``queue``; return counts for the summary."""
    from training.queue import read_queue

    check_annotator(annotator)
    rows = read_queue(queue)
    out = out or default_output(queue, annotator)
    if (out.exists() and not out.is_file()) or str(out).strip() in ("", ".", "/"):
        raise StanceError(f"--out {out} is not a regular file (name a file)")
    out.parent.mkdir(parents=True, exist_ok=True)
    lock = lock_for(out)
    try:
        session = Session(rows, out, annotator)
        session.load()
        stopped = run(session, keys, show)
    finally:
        lock.release()
    return {
        "stopped": stopped,
        "out": out,
        "labelled": len(session.done),
        "labelled_now": session.labelled_now,
        "skipped": len(session.skipped),
        "left": len(session.pending()),
        "total": len(rows),
    }


def summary(result: dict[str, Any]) -> str:
    """One line on how far the queue got and where the gold is."""
    verb = "done" if result["stopped"] == "done" else "stopped; run the same command to go on"
    return (
        f"{verb}: {result['labelled']} of {result['total']} labelled ({result['labelled_now']} now), "
        f"{result['skipped']} skipped, {result['left']} left; gold in {result['out']}"
    )


def stdin_keys() -> Iterator[str]:
    """Key presses from standard input (the terminal, or whatever a test feeds it)."""
    return keys_from(sys.stdin)
