"""``stance train``: an honest, repeatable comparison of the configured candidates.

Protocol, per candidate and training-data mode (gold, or gold plus weak labels weighted by
their confidence):

1. Search: every point of the candidate's grid is scored by stratified, document-grouped
   k-fold CV on train + validation (one seed); the best mean score wins, ties to the first.
2. Score: the chosen point is scored by ``repeats`` further runs of the same CV with other
   seeds. Every candidate sees the same splits, so their per-split scores are paired and the
   corrected resampled t-test (or a bootstrap) can tell a real gap from noise.
3. Test: the chosen point is fitted on all of train + validation and applied once to test.

Only gold sentences are ever scored; weak labels are training material, not ground truth.
The best candidate (highest mean CV score, never the test score) is logged as champion and
exported. Everything is seeded from ``config.seed``: the same data, config and seed give the
same scores.
"""

from __future__ import annotations

from training.train.data import GROUPINGS, Data, make_splits, prepare
from training.train.entry import SCORES, Entry
from training.train.plan import check_plan
from training.train.protocol import compare, evaluate
from training.train.run import TrainResult, train
from training.train.workers import WORKER_NICENESS, Comparison, run_comparison

__all__ = [
    "GROUPINGS",
    "SCORES",
    "WORKER_NICENESS",
    "Comparison",
    "Data",
    "Entry",
    "TrainResult",
    "check_plan",
    "compare",
    "evaluate",
    "make_splits",
    "prepare",
    "run_comparison",
    "train",
]
