"""Label models that turn labelling-function votes into class probabilities.

Votes are an ``(n, m)`` integer array: one column per labelling function, ``-1`` for abstain,
otherwise a class index. Both models return an ``(n, k)`` probability array.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# When nothing votes, or votes tie, lean slightly toward the last class (neutral): a sentence
# with no stance cue is background far more often than not.
_TIE_BREAK = 1e-3


def _one_hot(votes: np.ndarray, k: int, abstain: bool = False) -> np.ndarray:
    """One-hot votes; with ``abstain`` an extra last column marks abstentions."""
    onehot = np.zeros((*votes.shape, k + abstain), dtype=np.float64)
    rows, cols = np.nonzero(votes >= 0)
    onehot[rows, cols, votes[rows, cols]] = 1.0
    if abstain:
        rows, cols = np.nonzero(votes < 0)
        onehot[rows, cols, k] = 1.0
    return onehot


def _codes(votes: np.ndarray, k: int) -> np.ndarray:
    """Votes with abstention as outcome ``k``, ready to index confusion matrices."""
    return np.where(votes < 0, k, votes).astype(np.intp)


def majority_vote(votes: np.ndarray, k: int = 3) -> np.ndarray:
    """Share of non-abstaining votes per class; no votes gives the tie-break class."""
    counts = _one_hot(votes, k).sum(axis=1)
    counts[:, -1] += _TIE_BREAK
    return counts / counts.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class DawidSkene:
    """Fitted Dawid-Skene parameters: class priors and one confusion matrix per function."""

    priors: np.ndarray  # (k,)
    log_confusion: np.ndarray  # (m, k, k + 1): log P(vote = l | true class = c), l = k is abstain

    def predict_proba(self, votes: np.ndarray) -> np.ndarray:
        """Posterior class probabilities for each row of ``votes``."""
        k = self.priors.shape[0]
        codes = _codes(votes, k)
        log_post = np.repeat(np.log(self.priors)[None, :], votes.shape[0], axis=0)
        for j in range(votes.shape[1]):  # gather log P(vote of j | class) row by row
            log_post += self.log_confusion[j][:, codes[:, j]].T
        log_post -= log_post.max(axis=1, keepdims=True)
        post = np.exp(log_post)
        return post / post.sum(axis=1, keepdims=True)


def fit_dawid_skene(
    votes: np.ndarray, k: int = 3, iterations: int = 50, smoothing: float = 1.0, weights: np.ndarray | None = None
) -> DawidSkene:
    """Fit Dawid-Skene by expectation-maximisation, starting from the majority vote.

    Abstaining is modelled as an outcome of its own: most labelling functions vote for a
    single class, so *whether* they fire is what carries information about the true class.
    Laplace ``smoothing`` keeps rarely seen (function, class, outcome) cells finite.
    ``weights`` counts how many sentences each row stands for, so a corpus can be fitted on
    its distinct vote patterns: the fit is the same as on the rows repeated that many times.
    """
    n, m = votes.shape
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    codes = _codes(votes, k)
    post = majority_vote(votes, k)
    model = DawidSkene(np.full(k, 1.0 / k), np.zeros((votes.shape[1], k, k + 1)))
    for _ in range(iterations):
        weighted = post * w[:, None]
        priors = (weighted.sum(axis=0) + smoothing) / (w.sum() + k * smoothing)
        counts = np.full((m, k, k + 1), smoothing)
        for j in range(m):
            for c in range(k):
                counts[j, c] += np.bincount(codes[:, j], weights=weighted[:, c], minlength=k + 1)
        log_conf = np.log(counts / counts.sum(axis=2, keepdims=True))
        model = DawidSkene(priors, log_conf)
        new_post = model.predict_proba(votes)
        if np.abs(new_post - post).max() < 1e-6:
            post = new_post
            break
        post = new_post
    return model
