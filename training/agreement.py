"""``stance agreement``: how far two or more annotators agree, and what they must settle.

Annotations are gold files (``annotate``'s output, or any ``*.gold.jsonl``); a sentence is its
document id and text. The annotator is the file's ``annotator`` field, else the file name.
Reported: Cohen's kappa for each pair on the sentences both labelled, Krippendorff's alpha
(nominal) over everything (it allows any number of annotators per sentence), and per class the
specific agreement (of the pairs of labels that involve the class, the share where both say it).
Sentences with different labels become an adjudication queue that ``stance annotate`` opens.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from itertools import combinations
from pathlib import Path
from typing import Any

from training.errors import StanceError
from training.labels import LABELS

Key = tuple[str, str]


def read_annotations(paths: list[Path]) -> tuple[dict[str, dict[Key, str]], dict[Key, dict[str, Any]]]:
    """Labels per annotator, and the row (text, doc id, index) of each sentence."""
    from training import jsonl
    from training.labeling import gold_key

    labels: dict[str, dict[Key, str]] = {}
    rows: dict[Key, dict[str, Any]] = {}
    problems = []
    for path in paths:
        text = jsonl.read_utf8(path, f"annotations not found: {path} (pass gold files written by `stance annotate`)")
        fallback = path.name.split(".gold.jsonl")[0].split(".")[-1]
        for lineno, row in jsonl.objects(text, path):
            if not isinstance(row, dict) or not isinstance(row.get("text"), str):
                problems.append(f"not an annotation: {path}:{lineno} needs 'text' and 'label'")
                continue
            if row.get("label") not in LABELS:
                problems.append(f"unknown label {row.get('label')!r}: {path}:{lineno} (use one of {', '.join(LABELS)})")
                continue
            key = (str(row.get("doc_id") or ""), gold_key(row["text"]))
            who = str(row.get("annotator") or fallback)
            mine = labels.setdefault(who, {})
            if mine.get(key, row["label"]) != row["label"]:
                problems.append(f"{who} gives two labels to one sentence: {path}:{lineno} (keep one)")
            mine[key] = row["label"]
            rows.setdefault(key, {"doc_id": key[0], "sentence_index": row.get("sentence_index"), "text": row["text"]})
    if problems:
        raise StanceError(*problems)
    if len(labels) < 2:
        raise StanceError(
            f"need two or more annotators, found {len(labels)} ({', '.join(labels) or 'none'}) "
            "(pass one file per annotator, or files whose rows name their annotator)"
        )
    return labels, rows


def read_agreement(path: Path) -> dict[str, Any] | None:
    """Cohen's kappa between the two independent labelling passes recorded in ``path``.

    Each line holds a sentence's ``first`` and ``second`` label (and its ``doc_id``); a
    missing or empty file gives None.
    """
    if not path.exists():
        return None
    from sklearn.metrics import cohen_kappa_score

    from training import jsonl

    first, second, adjudicated, docs = [], [], 0, set()
    for lineno, row in jsonl.objects(jsonl.read_utf8(path, f"agreement file not found: {path}"), path):
        if not isinstance(row, dict) or row.get("first") not in LABELS or row.get("second") not in LABELS:
            raise StanceError(f"unknown label: {path}:{lineno} (fields 'first' and 'second' take {', '.join(LABELS)})")
        first.append(row["first"])
        second.append(row["second"])
        docs.add(row.get("doc_id"))
        adjudicated += row["first"] != row["second"]
    if not first:
        return None
    confusion = {a: {b: sum(1 for x, y in zip(first, second) if x == a and y == b) for b in LABELS} for a in LABELS}
    return {
        "sentences": len(first),
        "documents": len(docs),
        "kappa": float(cohen_kappa_score(first, second, labels=list(LABELS))),
        "observed_agreement": sum(a == b for a, b in zip(first, second)) / len(first),
        "disagreements": adjudicated,
        "confusion": confusion,
    }


def krippendorff_alpha(units: list[list[str]]) -> float:
    """Krippendorff's alpha for nominal labels; ``units`` holds the labels each sentence got."""
    # Fractional counts: a Counter's values are typed as ints.
    coincidence: defaultdict[tuple[str, str], float] = defaultdict(float)
    for values in units:
        m = len(values)
        if m < 2:
            continue
        for a, b in ((a, b) for i, a in enumerate(values) for j, b in enumerate(values) if i != j):
            coincidence[(a, b)] += 1 / (m - 1)
    n_c: defaultdict[str, float] = defaultdict(float)
    for (a, _), v in coincidence.items():
        n_c[a] += v
    n = sum(n_c.values())
    if n <= 1:
        return float("nan")
    observed = sum(v for (a, b), v in coincidence.items() if a != b)
    expected = sum(n_c[a] * n_c[b] for a in n_c for b in n_c if a != b) / (n - 1)
    return 1.0 if expected == 0 else 1.0 - observed / expected


def specific_agreement(units: list[list[str]]) -> dict[str, float | None]:
    """Per class: of the label pairs within a sentence that involve the class, the share that agree on it."""
    agree: defaultdict[str, float] = defaultdict(float)
    involved: Counter[str] = Counter()
    for values in units:
        m = len(values)
        if m < 2:
            continue
        counts = Counter(values)
        for c, n_c in counts.items():
            agree[c] += n_c * (n_c - 1) / (m - 1)
            involved[c] += n_c
    return {c: (agree[c] / involved[c] if involved[c] else None) for c in LABELS}


def measure(labels: dict[str, dict[Key, str]]) -> dict[str, Any]:
    """Pairwise kappa, overall alpha, per-class agreement and the sentences in dispute."""
    from sklearn.metrics import cohen_kappa_score

    pairs = []
    for a, b in combinations(sorted(labels), 2):
        shared = sorted(set(labels[a]) & set(labels[b]))
        x, y = [labels[a][k] for k in shared], [labels[b][k] for k in shared]
        kappa = (
            float(cohen_kappa_score(x, y, labels=list(LABELS))) if shared and len(set(x) | set(y)) > 1 else float("nan")
        )
        pairs.append(
            {
                "a": a,
                "b": b,
                "sentences": len(shared),
                "kappa": kappa,
                "observed": sum(p == q for p, q in zip(x, y)) / len(shared) if shared else float("nan"),
            }
        )
    keys = sorted({k for mine in labels.values() for k in mine})
    units = [[labels[w][k] for w in sorted(labels) if k in labels[w]] for k in keys]
    disputed = [k for k, values in zip(keys, units) if len(set(values)) > 1]
    return {
        "annotators": sorted(labels),
        "pairs": pairs,
        "alpha": krippendorff_alpha(units),
        "sentences": len(keys),
        "shared": sum(len(v) > 1 for v in units),
        "per_class": specific_agreement(units),
        "disputed": disputed,
    }


def report_lines(result: dict[str, Any]) -> list[str]:
    """The numbers of :func:`measure` as lines for the terminal."""
    lines = [
        f"{p['a']} / {p['b']}: Cohen's kappa {p['kappa']:.3f}, observed {p['observed']:.1%} "
        f"on {p['sentences']} sentences"
        for p in result["pairs"]
    ]
    lines.append(f"Krippendorff's alpha {result['alpha']:.3f} over {result['shared']} sentences labelled twice or more")
    lines.append(
        "specific agreement: "
        + ", ".join(f"{c} {v:.3f}" if v is not None else f"{c} -" for c, v in result["per_class"].items())
    )
    return lines


def adjudication_rows(
    result: dict[str, Any], labels: dict[str, dict[Key, str]], rows: dict[Key, dict[str, Any]]
) -> list[dict[str, Any]]:
    """Queue rows for ``stance annotate``: the sentence, every annotator's label, the majority as guess."""
    out = []
    for key in result["disputed"]:
        given = {w: labels[w][key] for w in sorted(labels) if key in labels[w]}
        counts = Counter(given.values()).most_common()
        guess = counts[0][0] if len(counts) == 1 or counts[0][1] > counts[1][1] else None
        row = dict(rows[key])
        row.update(labels=given, guess=guess, note="annotators: " + ", ".join(f"{w} {lab}" for w, lab in given.items()))
        out.append(row)
    return out


def write_adjudication(rows: list[dict[str, Any]], out: Path) -> None:
    """The disputed sentences as a JSON-lines queue, written atomically."""
    from training.atomic import atomic_file

    with atomic_file(out) as fh:
        fh.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
