"""Gold annotations, labelling functions and the label models that combine them.

Gold labels come from ``*.gold.jsonl`` files next to the documents (``gold``). Sentences
without gold get a weak label: a set of labelling functions (cue lexicons, negation and
modality scope, contrast clauses, blocking and enabling conditions; ``functions``) vote, and
a label model (majority vote or Dawid-Skene, whichever scores better on gold; majority vote
when there is no gold; ``models``) turns the votes into a label and a confidence.
"""

from training.labeling.functions import (
    ABSTAIN,
    AGAINST,
    FAVOR,
    LABELING_FUNCTIONS,
    NEUTRAL,
    Lexicons,
    apply_lfs,
)
from training.labeling.gold import GoldRow, gold_key, index_gold, read_gold
from training.labeling.models import (
    WeakLabels,
    label_model_probabilities,
    lf_analysis,
    macro_f1,
    weak_labels,
    weak_labels_from_votes,
)

__all__ = [
    "ABSTAIN",
    "AGAINST",
    "FAVOR",
    "LABELING_FUNCTIONS",
    "NEUTRAL",
    "GoldRow",
    "Lexicons",
    "WeakLabels",
    "apply_lfs",
    "gold_key",
    "index_gold",
    "label_model_probabilities",
    "lf_analysis",
    "macro_f1",
    "read_gold",
    "weak_labels",
    "weak_labels_from_votes",
]
