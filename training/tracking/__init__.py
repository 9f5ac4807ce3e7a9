"""MLflow logging and reading of ``stance`` runs: the only package importing mlflow.

One parent run per ``stance train`` comparison, one nested child run per candidate
(:mod:`.runs`); the tag, param and metric names of those runs and their parsing back
(:mod:`.schema`, :mod:`.readback`); the store's checks and retries (:mod:`.store`); artifact
files (:mod:`.artifacts`); logged and fetched models (:mod:`.models`); the runs of
``stance evaluate`` and ``stance learning-curve`` (:mod:`.evaluations`). MLflow itself is
imported inside the functions that need it, so importing this package stays instant.
"""

from training.tracking.evaluations import log_evaluation, log_learning_curve
from training.tracking.models import load_sklearn_model, log_model
from training.tracking.readback import read_leaderboard
from training.tracking.runs import Tracker
from training.tracking.schema import Candidate
from training.tracking.store import check_store, resolve_uri

__all__ = [
    "Candidate",
    "Tracker",
    "check_store",
    "load_sklearn_model",
    "log_evaluation",
    "log_learning_curve",
    "log_model",
    "read_leaderboard",
    "resolve_uri",
]
