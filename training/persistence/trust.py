"""The types a model file may name, derived from the classes themselves.

Every name is ``f"{cls.__module__}.{cls.__qualname__}"`` of a class imported by its public
name, so a library release that moves a class moves its trusted name with it. skops trusts all
scikit-learn estimators by default; this set is narrower on purpose: a file naming anything
else is refused, even a scikit-learn class that no registered candidate uses.

The names are computed on first use, once per process. Most model files name only
:func:`common_types`; the types that cost time or imports to work out (:func:`other_types`) are
only worked out for files that name something else.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache


def type_name(cls: type) -> str:
    """The name skops records for instances of ``cls``."""
    return f"{cls.__module__}.{cls.__qualname__}"


def _containers() -> list[type]:
    """Python and numpy containers, scalars and random generators the skops schema uses."""
    import numpy as np
    import scipy.sparse as sp

    builtin = [dict, list, tuple, str, int, float, bool, type(None), slice]
    scalars = [np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64]
    scalars += [np.float16, np.float32, np.float64, np.str_]
    # seeded estimators may keep a generator and its bit generator
    random = [np.random.Generator, np.random.PCG64, np.random.MT19937, np.random.SeedSequence, np.random.RandomState]
    return [*builtin, np.ndarray, np.dtype, *scalars, *random, sp.csr_matrix, sp.csc_matrix]


def _library_estimators() -> list[type]:
    """The scikit-learn classes our builders and the calibrated champion put into models."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.decomposition import TruncatedSVD
    from sklearn.dummy import DummyClassifier
    from sklearn.ensemble import RandomForestClassifier, VotingClassifier
    from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer, TfidfVectorizer
    from sklearn.isotonic import IsotonicRegression
    from sklearn.linear_model import LogisticRegression, RidgeClassifier, SGDClassifier
    from sklearn.naive_bayes import ComplementNB
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import FeatureUnion, Pipeline
    from sklearn.preprocessing import LabelBinarizer, LabelEncoder
    from sklearn.svm import LinearSVC
    from sklearn.tree import DecisionTreeClassifier
    from sklearn.utils import Bunch

    return [
        *(Pipeline, FeatureUnion, TfidfVectorizer, TfidfTransformer, CountVectorizer, TruncatedSVD),
        *(LabelEncoder, LabelBinarizer, Bunch),  # a vote's label encoder and named members; ridge's binarizer
        *(LogisticRegression, SGDClassifier, RidgeClassifier, LinearSVC, CalibratedClassifierCV, IsotonicRegression),
        *(ComplementNB, KNeighborsClassifier, DummyClassifier, DecisionTreeClassifier, RandomForestClassifier),
        VotingClassifier,
    ]


def _own() -> list[type]:
    """Our own estimator classes (but the rule classifier: see :func:`other_types`)."""
    from training.classifiers.estimators import OWN_CLASSES
    from training.encoders.embedder import SentenceEmbedder  # stores the encoder's name and weights sha256
    from training.finetune import FineTunedEncoder  # tuned layers and head as numpy arrays, the rest by reference

    return [*OWN_CLASSES, SentenceEmbedder, FineTunedEncoder]


def _moved() -> list[str]:
    """The paths of our classes in models saved before the classes moved (their packages still resolve them)."""
    from training import classifiers, encoders

    return [f"{package.__name__}.{name}" for package in (classifiers, encoders) for name in package.MOVED_CLASSES]


@cache
def common_types() -> frozenset[str]:
    """Names of the classes most model files hold, imported by their public names."""
    return frozenset([*map(type_name, [*_containers(), *_library_estimators(), *_own()]), *_moved()])


@cache
def other_types() -> frozenset[str]:
    """Names that cost time or imports to work out, so only files naming them pay for them.

    The rule classifier's module imports the labelling stage and its configuration. The
    remaining types are helpers scikit-learn keeps inside fitted estimators and exports under
    no public name: the tree structure comes from fitting the smallest tree (a millisecond),
    SGD's losses from the classifier's public table. The calibration helpers would need a fit
    costing tenths of a second: they are named from their owner's module, so a release that
    moves only them is refused at save time and by the tests that save every registered
    candidate.
    """
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.linear_model import SGDClassifier
    from sklearn.tree import DecisionTreeClassifier

    from training.rules import RuleClassifier

    tree = type(DecisionTreeClassifier().fit([[0.0], [1.0]], [0, 1]).tree_)
    classification = ("hinge", "squared_hinge", "perceptron", "log_loss", "modified_huber")
    losses = {SGDClassifier.loss_functions[name][0] for name in classification}
    calibration = CalibratedClassifierCV.__module__
    helpers = ("_CalibratedClassifier", "_SigmoidCalibration", "_TemperatureScaling")
    types = [RuleClassifier, tree, *losses]
    return frozenset([*map(type_name, types), *(f"{calibration}.{h}" for h in helpers)])


def trusted_types() -> list[str]:
    """Every type a model file may name, sorted."""
    return sorted(common_types() | other_types())


def untrusted(names: Iterable[str]) -> list[str]:
    """The names in ``names`` that are not trusted, sorted."""
    rest = set(names) - common_types()
    if rest:
        rest -= other_types()
    return sorted(rest)
