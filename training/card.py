"""The dataset card: a README.md saved next to the data, rendered from measured counts only."""

from __future__ import annotations

from collections import Counter
from typing import Any

from training.labels import LABELS

Counts = dict[str, dict[str, Counter[Any]]]  # split -> column -> value -> rows


def _table(header: list[str], rows: list[list[Any]]) -> str:
    def fmt(v: Any) -> str:
        if v is None:
            return ""
        if isinstance(v, float):
            return f"{v:.3f}"
        return str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _by(dd: Counts, column: str) -> str:
    counts = {s: dd[s][column] for s in dd}
    keys = sorted({k for c in counts.values() for k in c}, key=lambda k: (str(k) == "", str(k)))
    rows = [[k or "(none)"] + [counts[s][k] for s in dd] + [sum(counts[s][k] for s in dd)] for k in keys]
    return _table([column, *dd, "all"], rows)


def _mix(info: dict[str, Any], column: str) -> str:
    """Label shares within each episode or register (all splits), from the build's info."""
    mix = (info.get("label_mix") or {}).get(column) or {}
    if not mix:
        return ""
    rows = []
    for key, counts in sorted(mix.items(), key=lambda kv: -sum(kv[1].values())):
        total = sum(counts.values())
        rows.append([key or "(none)", total, *(f"{counts.get(lb, 0) / total:.0%}" for lb in LABELS)])
    return f"Label mix per {column}:\n\n" + _table([column, "sentences", *LABELS], rows)


def _weak_sources(info: dict[str, Any]) -> str:
    """Where the weak labels came from, why, and how each source scores against gold."""
    source = info.get("weak_labels", "rules")
    lines = [
        f"Weak labels (`--weak-labels {source}`) come from `{info['label_model']}`"
        + (f": {info['label_model_reason']}." if info.get("label_model_reason") else ".")
    ]
    rows = info.get("sources_vs_gold") or []
    if rows:
        lines += [
            "",
            "Each source against the gold sentences (a model that was trained on these sentences scores",
            "higher on them than it will on new text):",
            "",
            _table(
                ["source", "gold sentences", "accuracy", "macro-F1", "used"],
                [
                    [r["source"], r["gold_sentences"], r["accuracy"], r["macro_f1"], "yes" if r["used"] else ""]
                    for r in rows
                ],
            ),
        ]
    else:
        lines += ["", "No gold sentences: no source could be scored."]
    for warning in info.get("warnings") or []:
        lines += ["", f"**Warning:** {warning}"]
    return "\n".join(lines)


_HEADER = [
    "---",
    "task_categories: [text-classification]",
    "language: [en]",
    "pretty_name: Stance toward normalization of relations between states",
    "---",
    "",
    "# Stance toward normalization: sentence dataset",
    "",
    "Sentences from news-style documents, each labelled `favor`, `against` or `neutral` by its",
    "stance toward normalization of relations between states (see `docs/annotation-guidelines.md`).",
    "",
]

_COLUMNS = [
    "## Columns",
    "",
    "`text` (the sentence in the document's own characters, whitespace runs collapsed), `label`,",
    "`doc_id` (path under the seeds folder without extension), `sentence_index`, `start`/`end`",
    "(character offsets in the decoded document), `label_source` (gold or weak), `confidence`",
    "(1.0 for gold), `episode` and `register` (from the metadata), `duplicates` (copies dropped",
    "in favour of this row, as `doc_id:index`).",
    "",
]


def _summary(info: dict[str, Any], total: int) -> list[str]:
    """The bullet list under the title: sources, fingerprint, counts, hard cases."""
    lines = [
        f"- Sources: {', '.join(info['sources'])}",
        f"- Fingerprint (all rows and the config): `{info['fingerprint']}`",
        f"- Config hash: `{info['config_hash']}`, seed {info['seed']}",
        f"- Documents: {info['documents']}; sentences segmented: {info['sentences_segmented']}; "
        f"duplicates dropped: {info['duplicates_dropped']} "
        f"(copies with another label: {info['duplicate_label_conflicts']}); "
        f"sentences kept: {total}",
        f"- Episodes: {info['episodes']}",
    ]
    hard = info.get("hard_cases") or {}
    if hard.get("polar"):
        kinds = ", ".join(f"{k} {v}" for k, v in hard["by_kind"].items())
        lines.append(
            f"- Hard cases among gold favor/against sentences: {hard['hard']} of {hard['polar']} "
            f"({hard['hard'] / hard['polar']:.0%}; {kinds})"
        )
    return lines


def _labels(dd: Counts, info: dict[str, Any], total: int) -> list[str]:
    """Labels per split, where the labels came from, and the weak-label sources."""
    label_rows = []
    for i, name in enumerate(LABELS):
        per = [dd[s]["label"][i] for s in dd]
        label_rows.append([name, *per, sum(per), f"{sum(per) / max(total, 1):.1%}"])
    src = {s: dd[s]["label_source"] for s in dd}
    return [
        "",
        "## Labels per split",
        "",
        _table(["label", *dd, "all", "share"], label_rows),
        "",
        "## Label sources",
        "",
        _table(["split", "gold", "weak"], [[s, src[s]["gold"], src[s]["weak"]] for s in dd]),
        "",
        _weak_sources(info),
    ]


def _groups(dd: Counts, info: dict[str, Any]) -> list[str]:
    """Rows and label mix per episode and per register."""
    lines = []
    for title, column in (("Episodes", "episode"), ("Registers", "register")):
        lines += ["", f"## {title}", "", _by(dd, column), "", _mix(info, column)]
    return lines


def _agreement(info: dict[str, Any]) -> list[str]:
    """The second labelling pass: kappa, observed agreement and the confusion table."""
    agreement = info.get("agreement")
    lines = ["", "## Inter-annotator agreement", ""]
    if not agreement:
        return [*lines, "No second labelling pass was recorded for these sources."]
    return [
        *lines,
        f"An independent second labelling pass over {agreement['sentences']} sentences from "
        f"{agreement['documents']} documents, done without sight of the first labels: Cohen's kappa "
        f"**{agreement['kappa']:.3f}**, observed agreement {agreement['observed_agreement']:.1%}, "
        f"{agreement['disagreements']} disagreements adjudicated.",
        "",
        _table(["first \\ second", *LABELS], [[a, *(agreement["confusion"][a][b] for b in LABELS)] for a in LABELS]),
    ]


def _functions_and_leakage(info: dict[str, Any], lf_table: list[dict[str, Any]]) -> list[str]:
    """The labelling-function table and the leakage audit."""
    lf_cols = ["function", "coverage", "overlap", "conflict", "gold_votes", "accuracy"] + [
        f"precision_{label}" for label in LABELS
    ]
    return [
        "",
        "## Labelling functions against gold",
        "",
        "Coverage, overlap and conflict are shares of all segmented sentences; accuracy and the",
        "per-class precision are measured on gold sentences where the function votes.",
        "",
        _table(lf_cols, [[row[c] for c in lf_cols] for row in lf_table]),
        "",
        "## Leakage audit",
        "",
        "Splits are grouped by document and stratified by label.",
        "",
        f"- Documents in more than one split: {info['leakage']['documents_in_several_splits']}",
        f"- Near-duplicate sentence pairs across splits: {info['leakage']['near_duplicates_across_splits']}",
        "",
    ]


def render_card(dd: Counts, info: dict[str, Any], lf_table: list[dict[str, Any]]) -> str:
    """Markdown card: sources, counts per split, label, episode and register, agreement, LFs.

    ``dd`` maps each split to the counts of its label ids, label sources, episodes and
    registers, tallied while the split was written.
    """
    total = sum(sum(dd[s]["label"].values()) for s in dd)
    parts = [
        *_HEADER,
        *_summary(info, total),
        *_labels(dd, info, total),
        *_groups(dd, info),
        *_agreement(info),
        *_functions_and_leakage(info, lf_table),
        *_COLUMNS,
    ]
    return "\n".join(parts)
