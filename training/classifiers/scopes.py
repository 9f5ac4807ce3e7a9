"""Negation and modality scopes: the text rewrite behind the ``negation`` feature extractor."""

from __future__ import annotations

import re
from collections.abc import Sequence

NEGATORS: tuple[str, ...] = (
    "not",
    "no",
    "never",
    "neither",
    "nor",
    "without",
    "cannot",
    "nothing",
    "none",
    "nobody",
    "refuse",
    "refuses",
    "refused",
    "reject",
    "rejects",
    "rejected",
    "oppose",
    "opposes",
    "opposed",
)
MODALS: tuple[str, ...] = (
    "would",
    "could",
    "might",
    "may",
    "should",
    "must",
    "if",
    "unless",
    "until",
    "before",
    "once",
    "only",
    "conditional",
    "conditions",
    "provided",
)
SCOPE_ENDS: tuple[str, ...] = ("but", "however", "although", "though", "while", "whereas", "yet")

_TOKEN = re.compile(r"\w+(?:['’]\w+)*|[^\w\s]")
_PUNCT_END = frozenset('.,;:!?()[]"“”')


def mark_scopes(
    text: str,
    negators: Sequence[str] = NEGATORS,
    modals: Sequence[str] = MODALS,
    scope_ends: Sequence[str] = SCOPE_ENDS,
) -> str:
    """Lower-case ``text`` and prefix tokens inside a negation (``neg_``) or modality (``mod_``) scope.

    A scope opens after a negator (or a word ending in ``n't``) or a modal word and closes at
    punctuation or a contrast word, so ``"will not normalize ties"`` becomes
    ``"will not neg_normalize neg_ties"``: the classifier sees negated cues as distinct words.
    """
    neg, mod, ends = set(negators), set(modals), set(scope_ends)
    out: list[str] = []
    in_neg = in_mod = False
    for raw in _TOKEN.findall(text.lower()):
        tok = raw.replace("’", "'")
        if tok in _PUNCT_END or tok in ends:
            in_neg = in_mod = False
            out.append(tok)
            continue
        prefix = "neg_" if in_neg else "mod_" if in_mod else ""
        out.append(prefix + tok if prefix and tok.isalnum() else tok)
        if tok in neg or tok.endswith("n't"):
            in_neg = True
        elif tok in mod:
            in_mod = True
    return " ".join(out)
