"""Classifier builders: each returns a fresh, unfitted classifier seeded with ``seed``.

Each builder's keyword arguments besides ``seed`` are the parameters a config may set for it
(:mod:`training.classifiers.registry` names them). scikit-learn is imported inside the
builders, so importing the registry stays cheap.
"""

from __future__ import annotations

from typing import Any


def logreg(
    seed: int,
    C: float = 1.0,
    class_weight: str | None = "balanced",
    solver: str = "newton-cg",
    tol: float = 1e-3,
    max_iter: int = 1000,
) -> Any:
    """Logistic regression."""
    from sklearn.linear_model import LogisticRegression

    # On sparse text features newton-cg at tol 1e-3 is several times faster than lbfgs; the
    # scores move by far less than their spread across folds.
    return LogisticRegression(
        C=C, class_weight=class_weight, solver=solver, tol=tol, max_iter=max_iter, random_state=seed
    )


def linear_svc(
    seed: int,
    C: float = 0.5,
    class_weight: str | None = "balanced",
    calibration: str = "temperature",
    calibration_folds: int = 3,
) -> Any:
    """A linear SVM with calibrated probabilities."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import LinearSVC

    # LinearSVC has no probabilities; calibration on inner folds gives predict_proba for serving.
    # Temperature scaling with ensemble=False keeps the SVM's own decisions (one model fitted on
    # all rows) and needs one small optimisation instead of one per class and fold.
    svc = LinearSVC(C=C, class_weight=class_weight, random_state=seed)
    return CalibratedClassifierCV(svc, method=calibration, cv=calibration_folds, ensemble=calibration != "temperature")


def complement_nb(seed: int, alpha: float = 0.3, norm: bool = False) -> Any:
    """Complement naive Bayes (``seed`` unused: nothing is random)."""
    from sklearn.naive_bayes import ComplementNB

    return ComplementNB(alpha=alpha, norm=norm)


def sgd(
    seed: int,
    alpha: float = 1e-4,
    loss: str = "modified_huber",
    class_weight: str | None = "balanced",
    max_iter: int = 200,
    tol: float | None = 1e-3,
) -> Any:
    """A linear model trained by stochastic gradient descent."""
    from sklearn.linear_model import SGDClassifier

    # modified_huber gives predict_proba; a fixed seed makes the shuffling reproducible.
    return SGDClassifier(
        loss=loss, alpha=alpha, class_weight=class_weight, max_iter=max_iter, tol=tol, random_state=seed
    )


def ridge(
    seed: int,
    alpha: float = 1.0,
    class_weight: str | None = "balanced",
    calibration: str = "temperature",
    calibration_folds: int = 3,
) -> Any:
    """A ridge classifier with calibrated probabilities (``seed`` unused: nothing is random)."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import RidgeClassifier

    return CalibratedClassifierCV(
        RidgeClassifier(alpha=alpha, class_weight=class_weight),
        method=calibration,
        cv=calibration_folds,
        ensemble=calibration != "temperature",
    )


def random_forest(
    seed: int,
    n_components: int = 48,
    svd_iterations: int = 2,
    n_estimators: int = 50,
    max_samples: float | None = 0.5,
    max_depth: int | None = None,
    min_samples_leaf: int = 1,
    class_weight: str | None = "balanced_subsample",
) -> Any:
    """A random forest on a truncated-SVD reduction of the features."""
    from sklearn.decomposition import TruncatedSVD
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import Pipeline

    # Trees on tens of thousands of sparse columns are slow and weak; a truncated SVD first
    # gives them a small dense space (latent semantic analysis). Bootstrap samples of half the
    # rows keep 16 fits per comparison affordable. n_jobs=1: candidates already run in parallel.
    forest = RandomForestClassifier(
        n_estimators=n_estimators,
        max_samples=max_samples,
        max_depth=max_depth,
        min_samples_leaf=min_samples_leaf,
        class_weight=class_weight,
        random_state=seed,
        n_jobs=1,
    )
    svd = TruncatedSVD(n_components=n_components, n_iter=svd_iterations, random_state=seed)
    return Pipeline([("svd", svd), ("forest", forest)])


def knn(seed: int, n_neighbors: int = 15, weights: str = "distance", metric: str = "cosine") -> Any:
    """k nearest neighbours (``seed`` unused: nothing is random)."""
    from sklearn.neighbors import KNeighborsClassifier

    return KNeighborsClassifier(n_neighbors=n_neighbors, weights=weights, metric=metric, algorithm="brute")


def dummy(seed: int, strategy: str = "prior") -> Any:
    """The prior-class baseline."""
    from sklearn.dummy import DummyClassifier

    return DummyClassifier(strategy=strategy, random_state=seed)


def rules(seed: int, lexicons: dict[str, Any] | None = None, label_model: str = "auto") -> Any:
    """The dataset builder's labelling functions and label model (``seed`` unused)."""
    from training.rules import RuleClassifier

    return RuleClassifier(lexicons=lexicons, label_model=label_model)


def soft_vote(
    seed: int,
    tfidf: str = "word_char",
    tfidf_C: float = 8.0,
    encoder: str = "all-MiniLM-L6-v2",
    embed_C: float = 2.0,
    tfidf_weight: float = 0.5,
    backend: str = "torch",
) -> Any:
    """A soft vote of TF-IDF logistic regression and encoder-vector logistic regression (encoder run by ``backend``)."""
    from sklearn.ensemble import VotingClassifier
    from sklearn.pipeline import Pipeline

    from training.classifiers.features import TFIDF, embedding

    if tfidf not in TFIDF:
        raise ValueError(f"tfidf must be one of {', '.join(TFIDF)} (got {tfidf!r})")
    if not 0.0 <= tfidf_weight <= 1.0:
        raise ValueError(f"tfidf_weight must be between 0 and 1 (got {tfidf_weight})")
    # Each member is a whole text-in pipeline, so each is fitted on the fold's sentences like any
    # candidate; the vote averages their probabilities.
    members = [
        ("tfidf", Pipeline([("features", TFIDF[tfidf]()), ("clf", logreg(seed, C=tfidf_C))])),
        ("encoder", Pipeline([("features", embedding(encoder, backend=backend)), ("clf", logreg(seed, C=embed_C))])),
    ]
    return VotingClassifier(members, voting="soft", weights=[tfidf_weight, 1.0 - tfidf_weight])


def finetune(
    seed: int,
    encoder: str = "all-MiniLM-L6-v2",
    epochs: int = 3,
    learning_rate: float = 1e-4,
    batch_size: int = 32,
    max_length: int = 64,
    train_layers: int = 1,
) -> Any:
    """An encoder fine-tuned end to end with a linear head."""
    from training import encoders

    encoders.spec(encoder)
    if not 1 <= train_layers <= 6 or epochs < 1 or batch_size < 1 or max_length < 8 or learning_rate <= 0:
        raise ValueError(
            "need 1 <= train_layers <= 6, epochs >= 1, batch_size >= 1, max_length >= 8, learning_rate > 0"
        )
    from training.finetune import FineTunedEncoder

    return FineTunedEncoder(
        encoder=encoder,
        epochs=epochs,
        learning_rate=learning_rate,
        batch_size=batch_size,
        max_length=max_length,
        train_layers=train_layers,
        seed=seed,
    )
