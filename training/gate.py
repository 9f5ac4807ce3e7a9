"""The champion gate: a new ``stance train`` takes the champion alias only when it is not worse.

The model holding the alias and the new champion are scored on the same test sentences; a
paired bootstrap over sentences gives an interval of the score difference (new minus old).
The new model is *significantly worse* when the whole interval lies below zero. The alias
moves when there is no champion yet, when the test split changed (the old scores are then
not comparable), when ``--force`` is given, or when the new model is not significantly worse.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from training.labels import LABELS


def split_hash(texts: Sequence[str], labels: Sequence[str]) -> str:
    """A short identity of a test split: its sentences and their gold labels, in order."""
    digest = hashlib.sha256()
    for text, label in zip(texts, labels):
        digest.update(f"{text}\t{label}\n".encode())
    return digest.hexdigest()[:16]


def _macro_f1_rows(truth: Any, pred: Any) -> Any:
    """Macro-F1 over LABELS of each row of index-encoded ``truth``/``pred`` matrices (one bootstrap sample a row).

    Index ``len(LABELS)`` stands for any other label (an abstention, say): never right, and not averaged.
    """
    import numpy as np

    f1 = []
    for c in range(len(LABELS)):
        is_true, is_pred = truth == c, pred == c
        tp = (is_true & is_pred).sum(axis=1)
        denom = is_true.sum(axis=1) + is_pred.sum(axis=1)
        f1.append(np.divide(2 * tp, denom, out=np.zeros(denom.shape, dtype=np.float64), where=denom > 0))
    return np.mean(f1, axis=0)


def paired_bootstrap(
    y_true: Sequence[str], new: Sequence[str], old: Sequence[str], *, alpha: float, samples: int, seed: int
) -> dict[str, float]:
    """Macro-F1 of ``new`` and ``old``, their difference and its percentile bootstrap interval.

    Every sample draws sentences with replacement and scores both models on the same draw.
    """
    import numpy as np

    if not (len(y_true) == len(new) == len(old)) or len(y_true) < 2:
        raise ValueError(
            f"the paired bootstrap needs at least 2 sentences scored by both models, got "
            f"{len(y_true)}, {len(new)} and {len(old)}"
        )
    index = {label: i for i, label in enumerate(LABELS)}
    truth, pn, po = (
        np.array([index.get(str(v), len(LABELS)) for v in seq], dtype=np.int64) for seq in (y_true, new, old)
    )
    draws = np.random.default_rng(seed).integers(0, len(truth), size=(samples, len(truth)))
    f_new = float(_macro_f1_rows(truth[None, :], pn[None, :])[0])
    f_old = float(_macro_f1_rows(truth[None, :], po[None, :])[0])
    diffs = _macro_f1_rows(truth[draws], pn[draws]) - _macro_f1_rows(truth[draws], po[draws])
    low, high = np.quantile(diffs, [alpha / 2, 1 - alpha / 2])
    return {
        "new_macro_f1": float(f_new),
        "old_macro_f1": float(f_old),
        "diff": float(f_new - f_old),
        "ci_low": float(low),
        "ci_high": float(high),
    }


@dataclass
class Decision:
    """Whether the alias moves, why, and the numbers behind it."""

    promote: bool
    reason: str  # first, forced, test_changed, not_worse, worse
    previous: str = ""  # the version holding the alias before, if any
    numbers: dict[str, float] = field(default_factory=dict)

    def line(self, new_version: str, alias: str) -> str:
        """One line for the user."""
        n = self.numbers
        scores = (
            (
                f"test macro-F1 {n['new_macro_f1']:.3f} vs {n['old_macro_f1']:.3f}, "
                f"difference {n['diff']:+.3f}, interval [{n['ci_low']:+.3f}, {n['ci_high']:+.3f}]"
            )
            if n
            else ""
        )
        if not self.promote:
            return (
                f"gate: '{alias}' stays on version {self.previous}: version {new_version} is significantly worse "
                f"on the same test split ({scores}); registered without the alias (--force moves it anyway)"
            )
        why = {
            "first": "no model held it",
            "forced": "--force",
            "test_changed": "the test split changed",
            "not_worse": f"not significantly worse ({scores})",
        }[self.reason]
        return f"gate: '{alias}' moves to version {new_version}: {why}"


def decide(
    y_true: Sequence[str],
    new: Sequence[str],
    old: Sequence[str] | None,
    *,
    previous: str,
    same_test: bool,
    force: bool,
    alpha: float,
    samples: int,
    seed: int,
) -> Decision:
    """The gate's decision; ``old`` is the current champion's test predictions (None when there is none)."""
    if not previous:
        return Decision(True, "first")
    if force:
        return Decision(True, "forced", previous)
    if not same_test or old is None:
        return Decision(True, "test_changed", previous)
    numbers = paired_bootstrap(y_true, new, old, alpha=alpha, samples=samples, seed=seed)
    worse = numbers["ci_high"] < 0.0
    return Decision(not worse, "worse" if worse else "not_worse", previous, numbers)
