"""TF-IDF features for many cross-validation folds from n-gram counts computed once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class FoldFeatures:
    """TF-IDF matrices for many CV folds from n-gram counts computed once.

    Cross-validation must fit the vocabulary and the IDF weights on each fold's training rows
    only. Re-running the analyzer (the costly part, character n-grams above all) for every
    fold repeats the same work, so the counts of every sentence are computed once and each
    fold only selects its vocabulary (``min_df``, ``max_features``) and weights from its own
    training rows, the way scikit-learn does it: the matrices equal those of the extractor
    fitted on the fold (the tests check this).

    Other extractors (anything but a TF-IDF vectorizer, a scope marker followed by one, or a
    union of those) are simply fitted on each fold; :meth:`fold` hides the difference.
    """

    def __init__(self, extractor: Any, texts: Sequence[str]) -> None:
        self.extractor = extractor
        self.texts = list(texts)
        plan = _tfidf_blocks(extractor)
        self._blocks = None if plan is None else [_count_block(pre, vec, self.texts) for pre, vec in plan]

    @property
    def fast(self) -> bool:
        """Whether folds are cut from shared counts (else the extractor is fitted per fold)."""
        return self._blocks is not None

    def fold(self, train_rows: Any, test_rows: Any) -> tuple[Any, Any]:
        """Feature matrices of ``train_rows`` and ``test_rows`` (indices into ``texts``), fitted on the former."""
        import numpy as np
        import scipy.sparse as sp
        from sklearn.base import clone

        train_rows, test_rows = np.asarray(train_rows), np.asarray(test_rows)
        if self._blocks is None:
            ext = clone(self.extractor)
            xtr = ext.fit_transform([self.texts[i] for i in train_rows])
            return xtr, ext.transform([self.texts[i] for i in test_rows])
        parts = [_fold_block(block, train_rows, test_rows) for block in self._blocks]
        if len(parts) == 1:
            return parts[0]
        return (sp.hstack([p[0] for p in parts], format="csr"), sp.hstack([p[1] for p in parts], format="csr"))


def _tfidf_blocks(extractor: Any) -> list[tuple[Any, Any]] | None:
    """``[(preprocess, TfidfVectorizer)]`` making up ``extractor``, or ``None`` if it is anything else."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion, Pipeline

    from training.classifiers.estimators import NegationScopeMarker

    if isinstance(extractor, TfidfVectorizer):
        ok = extractor.max_df in (1.0,) and extractor.vocabulary is None and extractor.norm in ("l2", "l1", None)
        return [(None, extractor)] if ok and not extractor.binary else None
    if isinstance(extractor, Pipeline) and len(extractor.steps) == 2:
        (_, pre), (_, last) = extractor.steps
        inner = _tfidf_blocks(last)
        stateless = isinstance(pre, NegationScopeMarker)  # only transforms known to learn nothing
        if inner is not None and len(inner) == 1 and inner[0][0] is None and stateless:
            return [(pre, inner[0][1])]
        return None
    if isinstance(extractor, FeatureUnion) and extractor.transformer_weights is None:
        blocks: list[tuple[Any, Any]] = []
        for _, part in extractor.transformer_list:
            inner = _tfidf_blocks(part)
            if inner is None:
                return None
            blocks.extend(inner)
        return blocks
    return None


def _count_block(pre: Any, vec: Any, texts: list[str]) -> dict[str, Any]:
    """The n-gram counts of every sentence, as ``vec``'s analyzer sees them."""
    from sklearn.feature_extraction.text import CountVectorizer

    docs = pre.transform(texts) if pre is not None else texts
    counter = CountVectorizer(analyzer=vec.build_analyzer(), dtype=vec.dtype)
    counts = counter.fit_transform(docs).tocsr()
    return {"counts": counts, "vec": vec}


def _fold_columns(tr: Any, vec: Any) -> tuple[Any, Any]:
    """Columns ``vec`` fitted on the rows ``tr`` would keep, and the document frequency of every column."""
    import math

    import numpy as np

    n = tr.shape[0]
    df = np.bincount(tr.indices, minlength=tr.shape[1])
    min_df = vec.min_df if isinstance(vec.min_df, int) else math.ceil(vec.min_df * n)
    keep = df >= max(1, min_df)
    if vec.max_features is not None and keep.sum() > vec.max_features:
        tfs = np.asarray(tr.sum(axis=0)).ravel()
        cand = np.flatnonzero(keep)
        top = cand[(-tfs[cand]).argsort()[: vec.max_features]]  # scikit-learn's own cut, ties included
        keep = np.zeros_like(keep)
        keep[top] = True
    return np.flatnonzero(keep), df


def _fold_block(block: dict[str, Any], train_rows: Any, test_rows: Any) -> tuple[Any, Any]:
    """TF-IDF matrices of one block for one fold, weighted as ``vec`` fitted on ``train_rows`` would."""
    import numpy as np
    import scipy.sparse as sp
    from sklearn.preprocessing import normalize

    counts, vec = block["counts"], block["vec"]
    tr, te = counts[train_rows], counts[test_rows]
    n = tr.shape[0]
    cols, df = _fold_columns(tr, vec)
    tr, te = tr[:, cols].astype(np.float64), te[:, cols].astype(np.float64)
    for m in (tr, te):
        if vec.sublinear_tf:
            np.log(m.data, m.data)
            m.data += 1.0
    if vec.use_idf:
        d = df[cols].astype(np.float64)
        idf = np.log((n + 1.0) / (d + 1.0)) + 1.0 if vec.smooth_idf else np.log(n / d) + 1.0
        diag = sp.diags(idf)
        tr, te = (tr @ diag).tocsr(), (te @ diag).tocsr()
    if vec.norm is not None:
        tr, te = normalize(tr, norm=vec.norm, copy=False), normalize(te, norm=vec.norm, copy=False)
    return tr.astype(vec.dtype, copy=False), te.astype(vec.dtype, copy=False)
