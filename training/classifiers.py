"""Registry of feature extractors and classifiers that ``stance train`` can compare.

A candidate is a feature extractor (turns sentences into a matrix) plus a classifier. Both
are named here with a builder whose keyword arguments are the parameters a config may set or
search over, so a typo in ``configs/train.yaml`` is caught by name before any training.
Builders import scikit-learn lazily: importing this module stays cheap.

Every full model is ``Pipeline([("text", TextColumn()), ("features", ...), ("clf", ...)])``:
the first step accepts a list of strings as well as the one-column DataFrame that an MLflow
pyfunc server passes, so the same object serves both.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

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
    for tok in _TOKEN.findall(text.lower()):
        tok = tok.replace("’", "'")
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


_CLASSES: dict[str, type] = {}


def _transformers() -> dict[str, type]:
    """Define (once) the two transformers of our own; they need scikit-learn's base classes."""
    if _CLASSES:
        return _CLASSES
    from sklearn.base import BaseEstimator, TransformerMixin

    class TextColumn(TransformerMixin, BaseEstimator):
        """Turn a list, array, Series or DataFrame of sentences into a list of ``str``.

        MLflow's pyfunc server hands a DataFrame with a ``text`` column; Python callers pass a
        list. Both reach the feature extractor as the same list of strings.
        """

        def __init__(self, column: str = "text") -> None:
            self.column = column

        def fit(self, X: Any, y: Any = None) -> Any:
            """Nothing to learn."""
            return self

        def transform(self, X: Any) -> list[str]:
            """Return the sentences as a list of strings."""
            if hasattr(X, "columns"):  # a DataFrame: the named column, else the only one
                X = X[self.column] if self.column in X.columns else X.iloc[:, 0]
            if hasattr(X, "tolist"):
                X = X.tolist()
            if isinstance(X, str):
                X = [X]
            return [x[0] if isinstance(x, list | tuple) and len(x) == 1 else x for x in X]

    class NegationScopeMarker(TransformerMixin, BaseEstimator):
        """Rewrite sentences with :func:`mark_scopes` so negated and modal cues get own features."""

        def __init__(
            self,
            negators: tuple[str, ...] = NEGATORS,
            modals: tuple[str, ...] = MODALS,
            scope_ends: tuple[str, ...] = SCOPE_ENDS,
        ) -> None:
            self.negators = negators
            self.modals = modals
            self.scope_ends = scope_ends

        def fit(self, X: Any, y: Any = None) -> Any:
            """Nothing to learn."""
            return self

        def transform(self, X: Sequence[str]) -> list[str]:
            """Return the marked sentences."""
            return [mark_scopes(x, self.negators, self.modals, self.scope_ends) for x in X]

    from sklearn.feature_extraction.text import TfidfVectorizer

    class CompactTfidfVectorizer(TfidfVectorizer):
        """A ``TfidfVectorizer`` that stores its vocabulary as one string of terms.

        skops writes a dict entry by entry, which makes a 50,000-term vocabulary take tens of
        megabytes and seconds to save; one newline-joined string in index order is small and
        fast, and the dict is rebuilt on load. Behaviour is otherwise that of the parent.
        """

        def __getstate__(self) -> dict[str, Any]:
            state = super().__getstate__()
            vocab = state.get("vocabulary_")
            if isinstance(vocab, dict) and not any("\n" in t for t in vocab):
                terms = [""] * len(vocab)
                for term, i in vocab.items():
                    terms[i] = term
                state = {k: v for k, v in state.items() if k != "vocabulary_"}
                state["vocabulary_terms_"] = "\n".join(terms)
                state["vocabulary_size_"] = len(terms)
            return state

        def __setstate__(self, state: dict[str, Any]) -> None:
            state = dict(state)
            if "vocabulary_terms_" in state:
                size = int(state.pop("vocabulary_size_"))
                terms = state.pop("vocabulary_terms_").split("\n") if size else []
                state["vocabulary_"] = {t: i for i, t in enumerate(terms)}
            super().__setstate__(state)

    for cls in (TextColumn, NegationScopeMarker, CompactTfidfVectorizer):
        # Give the classes their module-level names: skops stores ``module.qualname``.
        cls.__qualname__ = cls.__name__
        cls.__module__ = __name__
        globals()[cls.__name__] = cls
        _CLASSES[cls.__name__] = cls
    return _CLASSES


def __getattr__(name: str) -> Any:
    """Resolve our own estimator classes on first use (skops and pickle import them by name)."""
    if name in ("TextColumn", "NegationScopeMarker", "CompactTfidfVectorizer"):
        return _transformers()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Names skops needs to trust for our own classes (persistence.TRUSTED_TYPES lists them).
OWN_TYPES: tuple[str, ...] = tuple(
    f"{__name__}.{n}" for n in ("TextColumn", "NegationScopeMarker", "CompactTfidfVectorizer")
)


# ---------------------------------------------------------------- feature extractors


def _ngrams(low: int, high: int, what: str) -> tuple[int, int]:
    if not 1 <= low <= high:
        raise ValueError(f"{what}: ngram_min ({low}) must be at least 1 and at most ngram_max ({high})")
    return (low, high)


def _word(
    ngram_min: int = 1, ngram_max: int = 2, min_df: int = 1, max_features: int | None = 50000, sublinear_tf: bool = True
) -> Any:
    tfidf = _transformers()["CompactTfidfVectorizer"]
    return tfidf(
        analyzer="word",
        ngram_range=_ngrams(ngram_min, ngram_max, "word"),
        min_df=min_df,
        max_features=max_features,
        sublinear_tf=sublinear_tf,
    )


def _char(
    ngram_min: int = 2,
    ngram_max: int = 5,
    min_df: int = 2,
    max_features: int | None = 100000,
    sublinear_tf: bool = True,
) -> Any:
    tfidf = _transformers()["CompactTfidfVectorizer"]
    return tfidf(
        analyzer="char_wb",
        ngram_range=_ngrams(ngram_min, ngram_max, "char"),
        min_df=min_df,
        max_features=max_features,
        sublinear_tf=sublinear_tf,
    )


def _word_char(word_ngram_max: int = 2, char_ngram_max: int = 5, min_df: int = 2) -> Any:
    from sklearn.pipeline import FeatureUnion

    return FeatureUnion(
        [("word", _word(ngram_max=word_ngram_max, min_df=1)), ("char", _char(ngram_max=char_ngram_max, min_df=min_df))]
    )


def _negation(ngram_min: int = 1, ngram_max: int = 2, min_df: int = 1, max_features: int | None = 50000) -> Any:
    from sklearn.pipeline import Pipeline

    marker = _transformers()["NegationScopeMarker"]()
    return Pipeline([("mark", marker), ("tfidf", _word(ngram_min, ngram_max, min_df, max_features))])


def _embedding(
    encoder: str = "all-MiniLM-L6-v2", batch_size: int = 64, nonnegative: bool = False, backend: str = "torch"
) -> Any:
    from training import encoders

    encoders.spec(encoder)  # an unknown name fails here, with the list of known ones
    if backend not in encoders.BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(encoders.BACKENDS)} (got {backend!r})")
    return encoders.__getattr__("SentenceEmbedder")(
        encoder=encoder, batch_size=batch_size, nonnegative=nonnegative, backend=backend
    )


def _no_features() -> None:
    return None


# ---------------------------------------------------------------- classifiers


def _logreg(
    seed: int,
    C: float = 1.0,
    class_weight: str | None = "balanced",
    solver: str = "newton-cg",
    tol: float = 1e-3,
    max_iter: int = 1000,
) -> Any:
    from sklearn.linear_model import LogisticRegression

    # On sparse text features newton-cg at tol 1e-3 is several times faster than lbfgs; the
    # scores move by far less than their spread across folds.
    return LogisticRegression(
        C=C, class_weight=class_weight, solver=solver, tol=tol, max_iter=max_iter, random_state=seed
    )


def _linear_svc(
    seed: int,
    C: float = 0.5,
    class_weight: str | None = "balanced",
    calibration: str = "temperature",
    calibration_folds: int = 3,
) -> Any:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import LinearSVC

    # LinearSVC has no probabilities; calibration on inner folds gives predict_proba for serving.
    # Temperature scaling with ensemble=False keeps the SVM's own decisions (one model fitted on
    # all rows) and needs one small optimisation instead of one per class and fold.
    svc = LinearSVC(C=C, class_weight=class_weight, random_state=seed)
    return CalibratedClassifierCV(svc, method=calibration, cv=calibration_folds, ensemble=calibration != "temperature")


def _complement_nb(seed: int, alpha: float = 0.3, norm: bool = False) -> Any:
    from sklearn.naive_bayes import ComplementNB

    return ComplementNB(alpha=alpha, norm=norm)


def _sgd(
    seed: int,
    alpha: float = 1e-4,
    loss: str = "modified_huber",
    class_weight: str | None = "balanced",
    max_iter: int = 200,
    tol: float | None = 1e-3,
) -> Any:
    from sklearn.linear_model import SGDClassifier

    # modified_huber gives predict_proba; a fixed seed makes the shuffling reproducible.
    return SGDClassifier(
        loss=loss, alpha=alpha, class_weight=class_weight, max_iter=max_iter, tol=tol, random_state=seed
    )


def _ridge(
    seed: int,
    alpha: float = 1.0,
    class_weight: str | None = "balanced",
    calibration: str = "temperature",
    calibration_folds: int = 3,
) -> Any:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import RidgeClassifier

    return CalibratedClassifierCV(
        RidgeClassifier(alpha=alpha, class_weight=class_weight),
        method=calibration,
        cv=calibration_folds,
        ensemble=calibration != "temperature",
    )


def _random_forest(
    seed: int,
    n_components: int = 48,
    svd_iterations: int = 2,
    n_estimators: int = 50,
    max_samples: float | None = 0.5,
    max_depth: int | None = None,
    min_samples_leaf: int = 1,
    class_weight: str | None = "balanced_subsample",
) -> Any:
    from sklearn.decomposition import TruncatedSVD
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import Pipeline

    # Trees on tens of thousands of sparse columns are slow and weak; a truncated SVD first
    # gives them a small dense space (latent semantic analysis). Bootstrap samples of half the
    # rows keep 16 fits per comparison affordable. n_jobs=1: candidates already run in parallel.
    return Pipeline(
        [
            ("svd", TruncatedSVD(n_components=n_components, n_iter=svd_iterations, random_state=seed)),
            (
                "forest",
                RandomForestClassifier(
                    n_estimators=n_estimators,
                    max_samples=max_samples,
                    max_depth=max_depth,
                    min_samples_leaf=min_samples_leaf,
                    class_weight=class_weight,
                    random_state=seed,
                    n_jobs=1,
                ),
            ),
        ]
    )


def _knn(seed: int, n_neighbors: int = 15, weights: str = "distance", metric: str = "cosine") -> Any:
    from sklearn.neighbors import KNeighborsClassifier

    return KNeighborsClassifier(n_neighbors=n_neighbors, weights=weights, metric=metric, algorithm="brute")


def _dummy(seed: int, strategy: str = "prior") -> Any:
    from sklearn.dummy import DummyClassifier

    return DummyClassifier(strategy=strategy, random_state=seed)


def _rules(seed: int, lexicons: dict[str, Any] | None = None, label_model: str = "auto") -> Any:
    from training.rules import RuleClassifier

    return RuleClassifier(lexicons=lexicons, label_model=label_model)


def _soft_vote(
    seed: int,
    tfidf: str = "word_char",
    tfidf_C: float = 8.0,
    encoder: str = "all-MiniLM-L6-v2",
    embed_C: float = 2.0,
    tfidf_weight: float = 0.5,
) -> Any:
    from sklearn.ensemble import VotingClassifier
    from sklearn.pipeline import Pipeline

    if tfidf not in ("word", "char", "word_char", "negation"):
        raise ValueError(f"tfidf must be one of word, char, word_char, negation (got {tfidf!r})")
    if not 0.0 <= tfidf_weight <= 1.0:
        raise ValueError(f"tfidf_weight must be between 0 and 1 (got {tfidf_weight})")
    # Each member is a whole text-in pipeline, so each is fitted on the fold's sentences like any
    # candidate; the vote averages their probabilities.
    members = [
        ("tfidf", Pipeline([("features", FEATURES[tfidf].build()), ("clf", _logreg(seed, C=tfidf_C))])),
        ("encoder", Pipeline([("features", _embedding(encoder)), ("clf", _logreg(seed, C=embed_C))])),
    ]
    return VotingClassifier(members, voting="soft", weights=[tfidf_weight, 1.0 - tfidf_weight])


def _finetune(
    seed: int,
    encoder: str = "all-MiniLM-L6-v2",
    epochs: int = 3,
    learning_rate: float = 1e-4,
    batch_size: int = 32,
    max_length: int = 64,
    train_layers: int = 1,
) -> Any:
    from training import encoders, finetune

    encoders.spec(encoder)
    if not 1 <= train_layers <= 6 or epochs < 1 or batch_size < 1 or max_length < 8 or learning_rate <= 0:
        raise ValueError(
            "need 1 <= train_layers <= 6, epochs >= 1, batch_size >= 1, max_length >= 8, learning_rate > 0"
        )
    return finetune.__getattr__("FineTunedEncoder")(
        encoder=encoder,
        epochs=epochs,
        learning_rate=learning_rate,
        batch_size=batch_size,
        max_length=max_length,
        train_layers=train_layers,
        seed=seed,
    )


@dataclass(frozen=True)
class Component:
    """One registry entry: a builder and what the leaderboard needs to know about it."""

    name: str
    summary: str
    build: Callable[..., Any]
    needs_features: bool = True
    baseline: bool = False
    cost: float = 1.0  # rough relative CPU cost of one fit, to schedule long candidates first

    @property
    def param_names(self) -> tuple[str, ...]:
        """Keyword arguments a config may set (the builder's, minus ``seed``)."""
        return tuple(p for p in inspect.signature(self.build).parameters if p != "seed")

    @property
    def defaults(self) -> dict[str, Any]:
        """Default value of each parameter."""
        return {n: p.default for n, p in inspect.signature(self.build).parameters.items() if n != "seed"}


FEATURES: dict[str, Component] = {
    c.name: c
    for c in (
        Component("word", "word 1-2-gram TF-IDF", _word),
        Component("char", "character 2-5-gram TF-IDF (within word boundaries)", _char, cost=2.5),
        Component("word_char", "union of word and character TF-IDF", _word_char, cost=3.0),
        Component("negation", "word TF-IDF over text with negation/modality scopes marked", _negation),
        Component(
            "embedding", "sentence-encoder vectors (feature_params.encoder picks the encoder)", _embedding, cost=0.3
        ),
        Component("none", "raw sentences (for classifiers that read text themselves)", _no_features),
    )
}

CLASSIFIERS: dict[str, Component] = {
    c.name: c
    for c in (
        Component("logreg", "logistic regression", _logreg),
        Component("linear_svc", "linear SVM with calibrated probabilities", _linear_svc, cost=2.0),
        Component("complement_nb", "complement naive Bayes", _complement_nb, cost=0.1),
        Component("sgd", "linear model trained by SGD (modified Huber loss)", _sgd, cost=0.6),
        Component("ridge", "ridge classifier with calibrated probabilities", _ridge, cost=1.2),
        Component("random_forest", "random forest on a truncated-SVD reduction", _random_forest, cost=4.0),
        Component("knn", "k nearest neighbours (cosine)", _knn, cost=0.3),
        Component(
            "soft_vote",
            "soft vote of TF-IDF logistic regression and encoder-vector logistic regression",
            _soft_vote,
            needs_features=False,
            cost=5.0,
        ),
        Component(
            "finetune",
            "encoder fine-tuned end to end (top layers and a linear head, PyTorch)",
            _finetune,
            needs_features=False,
            cost=60.0,
        ),
        Component("dummy", "prior-class baseline (the floor)", _dummy, needs_features=False, baseline=True, cost=0.01),
        Component(
            "rules",
            "the dataset builder's labelling functions and label model",
            _rules,
            needs_features=False,
            baseline=True,
            cost=3.0,
        ),
    )
}


def build_features(name: str, params: Mapping[str, Any]) -> Any:
    """A fresh, unfitted feature extractor (``None`` for ``none``)."""
    return FEATURES[name].build(**params)


def build_classifier(name: str, params: Mapping[str, Any], seed: int) -> Any:
    """A fresh, unfitted classifier seeded with ``seed``."""
    return CLASSIFIERS[name].build(seed, **params)


def assemble(features: Any, classifier: Any) -> Any:
    """The full text-in model: text column, optional features, classifier."""
    from sklearn.pipeline import Pipeline

    steps: list[tuple[str, Any]] = [("text", _transformers()["TextColumn"]())]
    if features is not None:
        steps.append(("features", features))
    steps.append(("clf", classifier))
    return Pipeline(steps)


def unknown_params(component: Component, params: Mapping[str, Any]) -> list[str]:
    """Names in ``params`` the component's builder does not take."""
    return [k for k in params if k not in component.param_names]


def weight_keyword(estimator: Any, prefix: str = "") -> str | None:
    """The ``fit`` keyword that takes sample weights, or ``None`` if ``estimator`` takes none.

    Pipelines route weights to their last step (``clf__forest__sample_weight``).
    """
    from sklearn.pipeline import Pipeline
    from sklearn.utils.validation import has_fit_parameter

    if isinstance(estimator, Pipeline):
        name, last = estimator.steps[-1]
        return weight_keyword(last, f"{prefix}{name}__")
    # The rule classifier accepts the keyword for compatibility but ignores it; a vote would hand
    # it to pipelines, which take it only by step name.
    if has_fit_parameter(estimator, "sample_weight") and type(estimator).__name__ not in (
        "RuleClassifier",
        "VotingClassifier",
    ):
        return f"{prefix}sample_weight"
    return None


def fit(estimator: Any, X: Any, y: Sequence[str], sample_weight: Any = None) -> bool:
    """Fit ``estimator``, passing ``sample_weight`` where it is used; return whether it was."""
    keyword = weight_keyword(estimator) if sample_weight is not None else None
    if keyword is None:
        estimator.fit(X, y)
        return False
    estimator.fit(X, y, **{keyword: sample_weight})
    return True


# ---------------------------------------------------------------- per-fold features, fast


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

    if isinstance(extractor, TfidfVectorizer):
        ok = extractor.max_df in (1.0,) and extractor.vocabulary is None and extractor.norm in ("l2", "l1", None)
        return [(None, extractor)] if ok and not extractor.binary else None
    if isinstance(extractor, Pipeline) and len(extractor.steps) == 2:
        (_, pre), (_, last) = extractor.steps
        inner = _tfidf_blocks(last)
        stateless = type(pre).__name__ == "NegationScopeMarker"  # only transforms known to learn nothing
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
    from sklearn.feature_extraction.text import CountVectorizer

    docs = pre.transform(texts) if pre is not None else texts
    counter = CountVectorizer(analyzer=vec.build_analyzer(), dtype=vec.dtype)
    counts = counter.fit_transform(docs).tocsr()
    return {"counts": counts, "vec": vec}


def _fold_block(block: dict[str, Any], train_rows: Any, test_rows: Any) -> tuple[Any, Any]:
    import math

    import numpy as np
    import scipy.sparse as sp
    from sklearn.preprocessing import normalize

    counts, vec = block["counts"], block["vec"]
    tr, te = counts[train_rows], counts[test_rows]
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
    cols = np.flatnonzero(keep)
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
