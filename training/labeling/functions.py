"""Labelling functions: cue lexicons, negation and modality scope, contrast clauses, conditions.

Each function votes a class or abstains on one lower-cased sentence; :func:`apply_lfs` runs
them all over a batch.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np

from training.config import LabelingConfig

ABSTAIN = -1
FAVOR, AGAINST, NEUTRAL = 0, 1, 2


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
    matches = list(lex.contrast.finditer(text))
    if not matches:
        return None
    m = matches[-1]  # the last contrast marker splits off the asserted clause
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
        or (lex.against is not None and lex.against.search(text))
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
