"""Gold annotations, labelling functions and the label models that combine them.

Gold labels come from ``*.gold.jsonl`` files next to the documents. Sentences without gold
get a weak label: a set of labelling functions (cue lexicons, negation and modality scope,
contrast clauses, blocking and enabling conditions) vote, and a label model (majority vote or
Dawid-Skene, whichever scores better on gold; majority vote when there is no gold) turns the
votes into a label and a confidence.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from training import jsonl
from training.config import LABELS, LabelingConfig, ReaderConfig
from training.errors import StanceError

ABSTAIN = -1
FAVOR, AGAINST, NEUTRAL = 0, 1, 2
_WS = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class GoldRow:
    """One gold annotation and the file line it came from."""

    doc_id: str
    text: str
    label: str
    where: str
    note: str = ""


def gold_key(text: str) -> str:
    """Sentences and annotations are matched on their text with whitespace runs collapsed."""
    return _WS.sub(" ", text).strip()


def read_gold(root: Path, reader: ReaderConfig) -> list[GoldRow]:
    """Read every gold file under ``root``; unknown labels and malformed lines are errors."""
    rows: list[GoldRow] = []
    problems: list[str] = []
    for path in sorted(root.rglob(f"*{reader.gold_suffix}"), key=lambda p: p.as_posix()):
        rel = path.relative_to(root).as_posix()
        if any(part.startswith((".", "_")) for part in Path(rel).parts):
            continue
        default_doc = rel[: -len(reader.gold_suffix)]
        try:
            lines = path.read_text(encoding="utf-8-sig").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"cannot read annotations {path}: {exc} (save it as UTF-8)")
            continue
        for lineno, line in enumerate(lines, 1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                obj = jsonl.strict_loads(line)
            except ValueError as exc:  # JSONDecodeError and the refused NaN/Infinity constants
                problems.append(f"malformed JSON: {where}: {getattr(exc, 'msg', exc)} (fix or remove that line)")
                continue
            if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
                problems.append(f"annotation without text: {where} (each line needs a string field 'text')")
                continue
            label = obj.get("label")
            if label not in LABELS:
                problems.append(f"unknown label {label!r}: {where} (use one of {', '.join(LABELS)})")
                continue
            doc_id = str(obj.get("doc_id") or default_doc)
            rows.append(GoldRow(doc_id, gold_key(obj["text"]), label, where, str(obj.get("note") or "")))
    if problems:
        raise StanceError(*problems)
    return rows


def index_gold(rows: Iterable[GoldRow]) -> dict[tuple[str, str], GoldRow]:
    """Map (doc_id, sentence text) to its gold row; conflicting labels are errors."""
    index: dict[tuple[str, str], GoldRow] = {}
    problems: list[str] = []
    for row in rows:
        key = (row.doc_id, row.text)
        seen = index.get(key)
        if seen is None:
            index[key] = row
        elif seen.label != row.label:
            problems.append(
                f"conflicting gold labels: {seen.where} says {seen.label}, {row.where} says {row.label} for {row.text[:60]!r} (keep one)"
            )
    if problems:
        raise StanceError(*problems)
    return index


# ---------------------------------------------------------------------------------------
# Labelling functions


def _alternation(phrases: Sequence[str]) -> re.Pattern[str] | None:
    if not phrases:
        return None
    # Longest first so "restore ties" wins over "restore"; \b keeps "ties" out of "parties".
    body = "|".join(re.escape(p.lower()).replace(r"\ ", r"\s+") for p in sorted(set(phrases), key=len, reverse=True))
    return re.compile(rf"(?<![\w-])(?:{body})(?![\w-])")


class Lexicons:
    """Compiled cue patterns built from a :class:`LabelingConfig`."""

    def __init__(self, config: LabelingConfig) -> None:
        self.favor = _alternation(config.favor_cues)
        self.against = _alternation(config.against_cues)
        self.negator = _alternation(config.negators)
        self.modal = _alternation(config.modal_openers)
        self.blocking = _alternation(config.blocking_conditions)
        self.enabling = _alternation(config.enabling_conditions)
        self.contrast = _alternation(config.contrast_markers)
        self.exclusion = _alternation(config.exclusion_objections)
        self.neutral = _alternation(config.neutral_cues)


_CLAUSE_BREAK = re.compile(r"[,;:()\"“”]|\b(?:and|but|while|which|who)\b")


def _negated(text: str, start: int, lex: Lexicons, window: int = 48) -> bool:
    """A negator sits shortly before ``start`` in the same clause."""
    if lex.negator is None:
        return False
    left = text[max(0, start - window) : start]
    cut = max((m.end() for m in _CLAUSE_BREAK.finditer(left)), default=0)
    return lex.negator.search(left[cut:]) is not None


def _cue_votes(text: str, lex: Lexicons) -> tuple[int, int, int, int]:
    """Counts of plain and negated favor cues and plain and negated against cues."""
    fav = fav_neg = ag = ag_neg = 0
    if lex.favor is not None:
        for m in lex.favor.finditer(text):
            if _negated(text, m.start(), lex):
                fav_neg += 1
            else:
                fav += 1
    if lex.against is not None:
        for m in lex.against.finditer(text):
            if _negated(text, m.start(), lex):
                ag_neg += 1
            else:
                ag += 1
    return fav, fav_neg, ag, ag_neg


def _main_clause(text: str, lex: Lexicons) -> str | None:
    """The clause that carries the assertion in a contrast sentence, or None without contrast."""
    if lex.contrast is None:
        return None
    m = None
    for m in lex.contrast.finditer(text):
        pass
    if m is None:
        return None
    word = m.group(0).split()[0]
    if word in ("while", "although", "though", "whereas", "despite", "even"):
        # Concessive opener: the main assertion is the clause after the comma that closes it.
        if m.start() < 3:
            comma = text.find(",", m.end())
            return text[comma + 1 :] if comma > 0 else None
        return text[: m.start()]
    return text[m.end() :]


Cues = tuple[int, int, int, int]


def lf_favor_cue(text: str, lex: Lexicons, cues: Cues) -> int:
    """A favor cue outside any negation scope."""
    fav, _, ag, _ = cues
    return FAVOR if fav and not ag else ABSTAIN


def lf_against_cue(text: str, lex: Lexicons, cues: Cues) -> int:
    """An against cue outside any negation scope."""
    fav, _, ag, _ = cues
    return AGAINST if ag and not fav else ABSTAIN


def lf_negated_favor(text: str, lex: Lexicons, cues: Cues) -> int:
    """A favor cue inside a negation scope flips to against ("will not restore ties")."""
    _, fav_neg, _, _ = cues
    return AGAINST if fav_neg else ABSTAIN


def lf_negated_against(text: str, lex: Lexicons, cues: Cues) -> int:
    """An against cue inside a negation scope flips to favor ("did not rule out")."""
    _, _, _, ag_neg = cues
    return FAVOR if ag_neg else ABSTAIN


def lf_modal_step(text: str, lex: Lexicons, cues: Cues) -> int:
    """Modality opening a step ("could soon reopen") leans favor when no negation is present."""
    if lex.modal is None or lex.modal.search(text) is None:
        return ABSTAIN
    fav, fav_neg, ag, _ = cues
    return FAVOR if fav and not fav_neg and not ag else ABSTAIN


def lf_blocking_condition(text: str, lex: Lexicons, cues: Cues) -> int:
    """A condition that blocks a step ("no embassy until ...") is against."""
    if lex.blocking is None or lex.blocking.search(text) is None:
        return ABSTAIN
    return (
        AGAINST
        if (lex.negator is not None and lex.negator.search(text))
        or (lex.against is not None
        and lex.against.search(text))
        else ABSTAIN
    )


def lf_enabling_condition(text: str, lex: Lexicons, cues: Cues) -> int:
    """A condition on the way to a step ("once members agree, Assad would be invited") is favor."""
    if lex.enabling is None or lex.enabling.search(text) is None:
        return ABSTAIN
    fav, fav_neg, _, _ = cues
    return FAVOR if fav and not fav_neg else ABSTAIN


def lf_contrast_main_clause(text: str, lex: Lexicons, cues: Cues) -> int:
    """In a contrast sentence, the cues of the main clause decide."""
    clause = _main_clause(text, lex)
    if not clause:
        return ABSTAIN
    fav, fav_neg, ag, ag_neg = _cue_votes(clause, lex)
    favor, against = fav + ag_neg, ag + fav_neg
    if favor > against:
        return FAVOR
    if against > favor:
        return AGAINST
    return ABSTAIN


def lf_exclusion_objection(text: str, lex: Lexicons, cues: Cues) -> int:
    """Objecting to a suspension or exclusion is favor."""
    return FAVOR if lex.exclusion is not None and lex.exclusion.search(text) else ABSTAIN


def lf_neutral_topic(text: str, lex: Lexicons, cues: Cues) -> int:
    """A topical neutral cue (aid, weather, procedure) with no stance cue."""
    if lex.neutral is None or lex.neutral.search(text) is None:
        return ABSTAIN
    return NEUTRAL if not any(cues) else ABSTAIN


def lf_no_cue(text: str, lex: Lexicons, cues: Cues) -> int:
    """No stance cue anywhere: most such sentences are background."""
    if any(cues) or (lex.exclusion is not None and lex.exclusion.search(text)):
        return ABSTAIN
    return NEUTRAL


def lf_question(text: str, lex: Lexicons, cues: Cues) -> int:
    """A question without a stance cue is neutral."""
    if not text.rstrip("\"'”’) ").endswith("?"):
        return ABSTAIN
    return NEUTRAL if not any(cues) else ABSTAIN


LABELING_FUNCTIONS: dict[str, Callable[[str, Lexicons, Cues], int]] = {
    "favor_cue": lf_favor_cue,
    "against_cue": lf_against_cue,
    "negated_favor": lf_negated_favor,
    "negated_against": lf_negated_against,
    "modal_step": lf_modal_step,
    "blocking_condition": lf_blocking_condition,
    "enabling_condition": lf_enabling_condition,
    "contrast_main_clause": lf_contrast_main_clause,
    "exclusion_objection": lf_exclusion_objection,
    "neutral_topic": lf_neutral_topic,
    "no_cue": lf_no_cue,
    "question": lf_question,
}


def apply_lfs(texts: Sequence[str], config: LabelingConfig, lexicons: Lexicons | None = None) -> np.ndarray:
    """Votes of every labelling function: an (n_sentences, n_functions) int array, -1 = abstain.

    ``lexicons`` lets a caller that votes chunk by chunk compile the cue patterns once.
    """
    lex = lexicons or Lexicons(config)
    funcs = list(LABELING_FUNCTIONS.values())
    votes = np.full((len(texts), len(funcs)), ABSTAIN, dtype=np.int8)
    for i, text in enumerate(texts):
        low = text.lower()
        cues = _cue_votes(low, lex)
        for j, lf in enumerate(funcs):
            votes[i, j] = lf(low, lex, cues)
    return votes


# ---------------------------------------------------------------------------------------
# Label model selection and the analysis table


@dataclass(frozen=True)
class WeakLabels:
    """Weak labels for every sentence plus how the label model was chosen."""

    labels: np.ndarray  # (n,) class index
    confidence: np.ndarray  # (n,) probability of that class
    model: str  # "majority" or "dawid_skene"
    gold_scores: dict[str, float]  # macro-F1 on gold of each candidate label model
    reason: str = ""  # why that label model was used
    gold_accuracy: dict[str, float] | None = None  # accuracy on gold of each candidate label model


def _macro_f1(y_true: np.ndarray, y_pred: np.ndarray, k: int = 3) -> float:
    scores = []
    for c in range(k):
        tp = float(np.sum((y_pred == c) & (y_true == c)))
        fp = float(np.sum((y_pred == c) & (y_true != c)))
        fn = float(np.sum((y_pred != c) & (y_true == c)))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(scores) / k


def _label_model_on_patterns(
    votes: np.ndarray, gold: np.ndarray, config: LabelingConfig
) -> tuple[np.ndarray, np.ndarray, str, dict[str, float]]:
    """The configured label model fitted on distinct vote patterns; ``auto`` picks the better on gold.

    Sentences with the same votes get the same probabilities, and a large corpus has far
    fewer distinct patterns than sentences, so both models work on the patterns (weighted by
    how often each occurs) and never hold an (n, k) array. Returns the probabilities of each
    pattern, the pattern of each sentence, the chosen model and every model's macro-F1 on gold.
    """
    probs, inverse, chosen, scores, _, _ = _choose_label_model(votes, gold, config)
    return probs, inverse, chosen, scores


def _choose_label_model(
    votes: np.ndarray, gold: np.ndarray, config: LabelingConfig
) -> tuple[np.ndarray, np.ndarray, str, dict[str, float], str, dict[str, float]]:
    """:func:`_label_model_on_patterns` plus why the model was chosen and each model's accuracy on gold.

    Without gold, ``auto`` takes the majority vote: Dawid-Skene fitted on votes alone can
    settle on a solution where one class explains every pattern (two short op-eds came out
    all ``favor``), and with no gold there is nothing to notice it by.
    """
    from training.label_model import fit_dawid_skene, majority_vote

    k = len(LABELS)
    patterns, inverse, weights = np.unique(votes, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    candidates = {
        "majority": majority_vote(patterns, k),
        "dawid_skene": fit_dawid_skene(patterns, k, config.dawid_skene_iterations, weights=weights).predict_proba(
            patterns
        ),
    }
    has_gold = gold >= 0
    graded = gold[has_gold]
    nan = float("nan")
    predicted = {name: probs.argmax(axis=1)[inverse[has_gold]] for name, probs in candidates.items()}
    scores = {name: (_macro_f1(graded, p) if graded.size else nan) for name, p in predicted.items()}
    accuracy = {name: (float((p == graded).mean()) if graded.size else nan) for name, p in predicted.items()}
    if config.label_model != "auto":
        chosen, reason = config.label_model, "set by labeling.label_model"
    elif graded.size:
        chosen = max(scores, key=lambda name: (scores[name], name == "majority"))
        reason = f"the better macro-F1 on {graded.size} gold sentences"
    else:
        chosen = "majority"
        reason = "no gold sentences to choose on, and Dawid-Skene can collapse onto one class without them"
    return candidates[chosen], inverse, chosen, scores, reason, accuracy


def label_model_probabilities(
    votes: np.ndarray, gold: np.ndarray, config: LabelingConfig
) -> tuple[np.ndarray, str, dict[str, float]]:
    """Probabilities from the configured label model; ``auto`` picks the better one on gold.

    ``gold`` holds class indices, -1 where a sentence has no gold label.
    """
    probs, inverse, chosen, scores = _label_model_on_patterns(votes, gold, config)
    return probs[inverse], chosen, scores


def weak_labels(texts: Sequence[str], gold: np.ndarray, config: LabelingConfig) -> tuple[WeakLabels, np.ndarray]:
    """Apply the labelling functions and the label model; return weak labels and the raw votes."""
    votes = apply_lfs(texts, config)
    return weak_labels_from_votes(votes, gold, config), votes


def weak_labels_from_votes(votes: np.ndarray, gold: np.ndarray, config: LabelingConfig) -> WeakLabels:
    """The label model's label and confidence for every sentence, from votes already cast."""
    probs, inverse, chosen, scores, reason, accuracy = _choose_label_model(votes, gold, config)
    return WeakLabels(
        probs.argmax(axis=1).astype(np.int8)[inverse], probs.max(axis=1)[inverse], chosen, scores, reason, accuracy
    )


def lf_analysis(votes: np.ndarray, gold: np.ndarray, names: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Coverage, overlap, conflict and accuracy against gold of every labelling function.

    Per-class columns give the precision of the function's votes for that class on gold
    sentences (empty where it never votes that class there). ``names`` labels the columns of
    ``votes`` when there are more than the labelling functions (the model as a voter).
    """
    n = max(votes.shape[0], 1)
    active = votes >= 0
    n_active = active.sum(axis=1)
    has_gold = gold >= 0
    rows = []
    for j, name in enumerate(names or LABELING_FUNCTIONS):
        col = votes[:, j]
        on = active[:, j]
        others_on = n_active - on > 0
        conflict = np.zeros(votes.shape[0], dtype=bool)
        for jj in range(votes.shape[1]):
            if jj != j:
                conflict |= on & active[:, jj] & (votes[:, jj] != col)
        graded = on & has_gold
        row: dict[str, Any] = {
            "function": name,
            "coverage": float(on.sum() / n),
            "overlap": float((on & others_on).sum() / n),
            "conflict": float(conflict.sum() / n),
            "gold_votes": int(graded.sum()),
            "accuracy": float((col[graded] == gold[graded]).mean()) if graded.any() else None,
        }
        for c, label in enumerate(LABELS):
            mask = graded & (col == c)
            row[f"precision_{label}"] = float((gold[mask] == c).mean()) if mask.any() else None
            row[f"votes_{label}"] = int(mask.sum())
        rows.append(row)
    return rows
