"""Writing ``stance predict`` rows: JSON lines, CSV, or a table for people reading a terminal."""

from __future__ import annotations

import csv
import json
import re
from typing import IO, Any

from .options import OUTPUT_FIELDS, PredictStats


class Writer:
    """Turns labelled records into output lines."""

    def __init__(self, fh: IO[str], labels: tuple[str, ...], stats: PredictStats) -> None:
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


class JsonlWriter(Writer):
    """One JSON object per line: the input record, then ``label`` and ``probabilities``.

    The line is assembled from the record's own JSON and preformatted pieces for the label and
    the probabilities, which gives the text ``json.dumps`` of the merged record would give at a
    fraction of its cost. The probabilities of a whole batch are formatted by one ``%``
    operation and one regular expression (see :func:`probability_tails`). A record that
    already holds one of the output fields goes through ``json.dumps``, so the replaced field
    keeps its place.
    """

    def __init__(self, fh: IO[str], labels: tuple[str, ...], stats: PredictStats) -> None:
        super().__init__(fh, labels, stats)
        # One encoder for every record: ``json.dumps`` with an option builds a new one per call.
        # Records come from parsed JSON, CSV or text lines, so they cannot hold a cycle.
        self._encode = json.JSONEncoder(ensure_ascii=False, check_circular=False).encode
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
        """Write one batch: its records, their labels and their ``(n, labels)`` probability array."""
        encode, head = self._encode, self._head
        tails = probability_tails(proba, self._keys)
        lines = []
        for i, (r, lab, tail) in enumerate(zip(records, labels, tails)):
            if "label" in r or "probabilities" in r:
                lines.append(json.dumps(self._merge(r, lab, proba[i].tolist()), ensure_ascii=False) + "\n")
                continue
            rec = encode(r)
            lines.append((rec[:-1] + ", " if len(rec) > 2 else "{") + head(lab) + tail)
        self.fh.write("".join(lines))


# Up to five zeros before the end mark (\x01) of a "%.6f" value, and the mark: 0.500000 -> 0.5.
# The first decimal is never taken, as JSON writes 0.0 and 1.0.
_TRAILING_ZEROS = re.compile("0{0,5}\x01")


def probability_tails(proba: Any, keys: tuple[str, ...]) -> list[str]:
    """Per row of ``proba``: its probabilities as JSON text joined by ``keys``, then ``}}\\n``.

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
        values = [probability(p) for p in proba[i].tolist()]
        tails[i] = values[0] + "".join(k + v for k, v in zip(keys, values[1:])) + "}}"
    return [t + "\n" for t in tails]


def probability(p: float) -> str:
    """The JSON text of ``round(p, 6)``, as ``json.dumps`` writes it (one value)."""
    if 1e-4 <= p < 1e9:
        text = f"{p:.6f}".rstrip("0")
        return text + "0" if text[-1] == "." else text
    return json.dumps(round(p, 6))


class CsvWriter(Writer):
    """CSV rows: the first record's fields, ``label``, then one ``prob_<label>`` column per label."""

    def __init__(self, fh: IO[str], labels: tuple[str, ...], stats: PredictStats) -> None:
        super().__init__(fh, labels, stats)
        self.writer: Any = None
        self.columns: list[str] = []

    def write(self, records: list[dict[str, Any]], labels: list[str], proba: Any) -> None:
        """Write one batch: its records, their labels and their ``(n, labels)`` probability array."""
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


class TableWriter(Writer):
    """A rich table per batch, for people reading a terminal."""

    def write(self, records: list[dict[str, Any]], labels: list[str], proba: Any) -> None:
        """Write one batch: its records, their labels and their ``(n, labels)`` probability array."""
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


WRITERS: dict[str, type[Writer]] = {"jsonl": JsonlWriter, "csv": CsvWriter, "table": TableWriter}
